"""A page's lines as one self-contained HTML file: what the model kept, how sure it was, and why.

Each line is shaded by its story probability and the kept lines are marked; clicking (or hovering)
a line shows its largest feature contributions for each stage (see ``explain``), and a threshold slider
re-marks the kept lines in the browser. Everything (styles, script, data) is inline, so the file works
offline and can be mailed around. Page text is hostile input: it is HTML-escaped into the document and
the data block is JSON with ``<``, ``>`` and ``&`` escaped, so no page can close the script or inject
markup.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from storyline.classifier.explain import TOP, PageExplanation, StageExplanation, describe, explain_page
from storyline.classifier.features import page_blocks
from storyline.classifier.model import StoryModel, line_words
from storyline.classifier.page import Page
from storyline.classifier.runs import line_weights, shared_containers

_STAGE_TITLES = {
    "sequence": "Final score: the sequence stage (first-stage scores of the line, its neighbours, its containers)",
    "stage1": "First stage: the line's own features and its context",
    "stage1_only": "Score: the line's own features and its context",
}


def _round(value: float) -> float:
    """Four significant digits: enough to read, small enough for a page of thousands of lines."""
    return float(f"{value:.4g}")


def _stage_meta(stage: StageExplanation, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "intercept": stage.intercept,
        "names": stage.features,
        "describe": [describe(name) for name in stage.features],
    }


def _stage_line(stage: StageExplanation, line: int, k: int) -> list[Any]:
    order, rest = stage.top(line, k)
    top = [[j, _round(float(stage.values[line, j])), _round(float(stage.contributions[line, j]))] for j in order]
    return [float(stage.logits[line]), _round(rest), top]


def script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>``, ``<!--`` or entity can
    form, whatever the strings hold."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def fill(template: str, **values: str | int) -> str:
    """``template`` with each ``@@name@@`` replaced in one pass: replaced text (page text) is never
    scanned again, and CSS/JS braces need no escaping."""
    return re.sub(r"@@(\w+)@@", lambda m: str(values[m[1]]), template)


def _shade(p: float) -> str:
    """Green for story, deeper the surer; a light red for chrome."""
    return f"rgba(46,160,67,{0.1 + 0.4 * p:.3f})" if p >= 0.5 else f"rgba(207,34,46,{0.03 + 0.15 * (1 - p):.3f})"


def render_explanation(
    explanation: PageExplanation,
    *,
    title: str | None = None,
    labels: Sequence[bool | None] | None = None,
    top: int = TOP,
) -> str:
    """The HTML view of an explained page. ``labels`` (gold: story True, chrome False, None unknown) adds
    a gold column and marks the lines where the kept set disagrees with it."""
    page = explanation.page
    n = len(page.lines)
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} lines")
    stages = [explanation.sequence, explanation.stage1] if explanation.sequence is not None else [explanation.stage1]
    keys = ["sequence", "stage1"] if explanation.sequence is not None else ["stage1_only"]
    data = {
        "threshold": explanation.threshold,
        "head": explanation.head,
        "stages": [_stage_meta(s, _STAGE_TITLES[key]) for s, key in zip(stages, keys, strict=True)],
        "lines": [[_stage_line(s, i, top) for s in stages] for i in range(n)],
        # what the slider needs to read the page as runs at another threshold, as ``runs`` does
        "story": [bool(k) for k in explanation.story],
        "switch_cost": explanation.switch_cost,
        "weights": line_weights(line_words(page)).tolist() if explanation.switch_cost > 0 else [],
        "shared": shared_containers(page_blocks(page)).tolist() if explanation.switch_cost > 0 else [],
    }
    probs = explanation.probabilities.tolist()
    cut = explanation.threshold
    rows = []
    for i, (line, p) in enumerate(zip(page.lines, probs, strict=True)):
        kept = bool(explanation.story[i])
        gold = None if labels is None else labels[i]
        classes = "line" + (" kept" if kept else "") + (" wrong" if gold is not None and gold != kept else "")
        gold_attr = "" if gold is None else f' data-gold="{int(gold)}"'
        gold_cell = "" if labels is None else f'<span class="g">{"" if gold is None else "SC"[not gold]}</span>'
        rows.append(
            f'<li class="{classes}" data-i="{i}" data-p="{p!r}"{gold_attr} tabindex="0" '
            f'style="background:{_shade(p)}"><span class="n">{i + 1}</span>{gold_cell}'
            f'<span class="p">{p:.2f}</span><span class="t">{html.escape(line.text)}</span></li>'
        )
    kept_count = int(np.count_nonzero(explanation.story))
    name = title or page.source or "page"
    gold_note = (
        '<span class="legend"><span class="g">S</span>/<span class="g">C</span> gold label; '
        '<span class="wrongkey">red edge</span> kept set disagrees with it</span>'
        if labels is not None
        else ""
    )
    return fill(
        _TEMPLATE,
        title=html.escape(name),
        lines=n,
        kept=kept_count,
        threshold=repr(cut),
        threshold_text=f"{cut:.2f}",
        head=html.escape(explanation.head),
        gold_note=gold_note,
        rows="\n".join(rows),
        data=script_json(data),
        css=_CSS,
        js=_JS,
    )


def render_page_view(
    model: StoryModel,
    page: Page,
    threshold: float | None = None,
    *,
    title: str | None = None,
    labels: Sequence[bool | None] | None = None,
    top: int = TOP,
) -> str:
    """The HTML view of ``page`` as ``model`` judges it (see ``render_explanation``)."""
    return render_explanation(explain_page(model, page, threshold), title=title, labels=labels, top=top)


_CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1f2328;
background:#f6f8fa}
header{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #d0d7de;padding:10px 18px}
h1{font-size:17px;margin:0 0 4px;overflow-wrap:anywhere}
.controls{display:flex;flex-wrap:wrap;align-items:center;gap:6px 18px;font-size:14px}
.controls input[type=range]{width:260px;vertical-align:middle}
.legend{color:#57606a}
.swatch{display:inline-block;width:38px;height:12px;vertical-align:middle;border-radius:2px;
background:linear-gradient(90deg,rgba(207,34,46,.18),rgba(207,34,46,.1) 50%,rgba(46,160,67,.3) 50%,rgba(46,160,67,.5))}
button{font:inherit;font-size:13px;padding:1px 8px;border:1px solid #d0d7de;border-radius:6px;background:#f6f8fa;
cursor:pointer}
.wrap{display:grid;grid-template-columns:minmax(0,1fr) minmax(300px,40%);gap:16px;padding:14px 18px}
#lines{list-style:none;margin:0;padding:0;background:#fff;border:1px solid #d0d7de;border-radius:6px}
.line{display:flex;gap:10px;padding:3px 10px 3px 6px;border-left:5px solid transparent;cursor:pointer;color:#6e7781}
.line+.line{border-top:1px solid rgba(0,0,0,.04)}
.line.kept{border-left-color:#1a7f37;color:#1f2328}
.line.kept .t{font-weight:500}
.line.wrong{box-shadow:inset -4px 0 0 #cf222e}
.line.sel{outline:2px solid #0969da;outline-offset:-2px}
.line:focus{outline:2px solid #0969da;outline-offset:-2px}
.n{flex:0 0 34px;text-align:right;color:#8c959f;font-variant-numeric:tabular-nums;font-size:12px;padding-top:2px}
.p{flex:0 0 34px;font-variant-numeric:tabular-nums;font-size:12px;padding-top:2px}
.g{flex:0 0 12px;font-size:12px;padding-top:2px;font-weight:600;color:#57606a}
.t{flex:1;overflow-wrap:anywhere;white-space:pre-wrap}
.wrongkey{border-right:4px solid #cf222e;padding-right:3px}
aside{position:sticky;top:92px;align-self:start;max-height:calc(100vh - 110px);overflow:auto;background:#fff;
border:1px solid #d0d7de;border-radius:6px;padding:10px 14px;font-size:13px}
aside h2{font-size:15px;margin:0 0 4px}
aside h3{font-size:13px;margin:12px 0 4px}
aside .quote{overflow-wrap:anywhere;color:#57606a;margin:0 0 6px}
table{border-collapse:collapse;width:100%}
td{padding:1px 4px;vertical-align:top}
td.c{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;width:52px}
td.v{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;color:#57606a;width:56px}
td.bar{width:110px}
.track{position:relative;height:10px;margin-top:4px;border-left:1px dotted transparent}
.track::before{content:"";position:absolute;left:50%;top:-2px;bottom:-2px;border-left:1px solid #8c959f}
.track div{position:absolute;top:0;bottom:0}
.pos{left:50%;background:#2da44e}.neg{right:50%;background:#cf222e}
.fname{color:#8c959f;font-size:11px}
.sum td{border-top:1px solid #d0d7de;font-weight:600}
@media (max-width:800px){.wrap{grid-template-columns:1fr}aside{position:static;max-height:none}}
"""

_JS = r"""
(function(){
"use strict";
var data = JSON.parse(document.getElementById("storyline-data").textContent);
var lines = Array.prototype.slice.call(document.querySelectorAll("#lines .line"));
var slider = document.getElementById("threshold");
var shown = document.getElementById("threshold-value");
var count = document.getElementById("kept-count");
var panel = document.getElementById("explain");
var pinned = null;
function fmt(x, d){ return (x >= 0 ? "+" : "") + x.toFixed(d); }
var initial = slider.value;  // the browser keeps 15 digits: at its starting value, use the exact threshold
function cut(){ return slider.value === initial ? data.threshold : parseFloat(slider.value); }
function logit(p){ return p <= 0 ? -50 : (p >= 1 ? 50 : Math.max(-50, Math.min(50, Math.log(p / (1 - p))))); }
// The lines kept at threshold t: p >= t, or with a switch cost the best runs, as storyline's runs.py finds them.
function keptAt(t){
  var probs = lines.map(function(el){ return parseFloat(el.getAttribute("data-p")); }), n = probs.length;
  if (slider.value === initial) return data.story;
  if (!(data.switch_cost > 0) || n < 2) return probs.map(function(p){ return p >= t; });
  var lt = logit(t), gains = probs.map(function(p, i){
    var z = p <= 0 ? -50 : (p >= 1 ? 50 : Math.max(-50, Math.min(50, Math.log(p) - Math.log1p(-p))));
    return (z - lt) * data.weights[i];
  });
  var chrome = 0, story = gains[0], toChrome = [false], toStory = [true];
  for (var i = 1; i < n; i++){
    var cost = data.switch_cost * data.shared[i], stay = chrome, sw = story - cost;
    var c = stay >= sw ? stay : sw; toChrome.push(stay < sw);
    stay = story; sw = chrome - cost;
    var s = (stay >= sw ? stay : sw) + gains[i]; toStory.push(stay >= sw);
    chrome = c; story = s;
  }
  var keep = new Array(n), state = story > chrome || (story === chrome && gains[n - 1] > 0);
  for (var j = n - 1; j >= 0; j--){ keep[j] = state; state = state ? toStory[j] : toChrome[j]; }
  return keep;
}
function mark(){
  var t = cut(), kept = 0, keeps = keptAt(t);
  lines.forEach(function(el, i){
    var keep = keeps[i];
    el.classList.toggle("kept", keep);
    if (keep) kept++;
    var gold = el.getAttribute("data-gold");
    if (gold !== null) el.classList.toggle("wrong", (gold === "1") !== keep);
  });
  shown.textContent = t.toFixed(2);
  count.textContent = String(kept);
  if (pinned !== null) explain(pinned);
}
function el(tag, cls, text){
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function row(table, contribution, value, label, name, scale){
  var tr = el("tr");
  tr.appendChild(el("td", "c", contribution === null ? "" : fmt(contribution, 3)));
  var bar = el("td", "bar");
  if (contribution !== null && scale > 0){  // diverging from the middle: right for story, left for chrome
    var track = el("div", "track"), b = el("div", contribution >= 0 ? "pos" : "neg");
    b.style.width = Math.max(1, Math.round(50 * Math.abs(contribution) / scale)) + "%";
    track.appendChild(b);
    bar.appendChild(track);
  }
  tr.appendChild(bar);
  tr.appendChild(el("td", "v", value));
  var d = el("td");
  d.appendChild(document.createTextNode(label));
  if (name){ d.appendChild(document.createTextNode(" ")); d.appendChild(el("span", "fname", name)); }
  tr.appendChild(d);
  table.appendChild(tr);
  return tr;
}
function explain(i){
  var item = lines[i], p = parseFloat(item.getAttribute("data-p")), t = cut();
  panel.textContent = "";
  panel.appendChild(el("h2", null, "Line " + (i + 1) + ": p(story) " + p.toFixed(3) + " \u2014 " +
    (item.classList.contains("kept") ? "kept" : "dropped") + " at threshold " + t.toFixed(2)));
  var text = item.querySelector(".t").textContent;
  panel.appendChild(el("p", "quote", text.length > 300 ? text.slice(0, 297) + "..." : text));
  panel.appendChild(el("p", null, "Each contribution is weight \u00d7 scaled value: positive pushes towards " +
    "story, negative towards chrome. They add up to the score (log-odds of story)."));
  data.stages.forEach(function(stage, s){
    var entry = data.lines[i][s], logit = entry[0], rest = entry[1], top = entry[2];
    panel.appendChild(el("h3", null, stage.title));
    var table = el("table"), scale = 0;
    top.forEach(function(f){ scale = Math.max(scale, Math.abs(f[2])); });
    scale = Math.max(scale, Math.abs(rest), Math.abs(stage.intercept));
    row(table, stage.intercept, "", "intercept", "", scale);
    top.forEach(function(f){ row(table, f[2], String(f[1]), stage.describe[f[0]], stage.names[f[0]], scale); });
    var others = stage.names.length - top.length;
    if (others > 0) row(table, rest, "", "the other " + others + " features together", "", scale);
    row(table, logit, "", "score (p = " + (1 / (1 + Math.exp(-logit))).toFixed(3) + ")", "", 0).className = "sum";
    panel.appendChild(table);
  });
}
function select(i, pin){
  if (pin){
    if (pinned !== null) lines[pinned].classList.remove("sel");
    pinned = (pinned === i) ? null : i;
    if (pinned !== null) lines[pinned].classList.add("sel");
  }
  if (pin || pinned === null) explain(pinned === null ? i : pinned);
}
lines.forEach(function(item, i){
  item.addEventListener("click", function(){ select(i, true); });
  item.addEventListener("mouseenter", function(){ if (pinned === null) explain(i); });
  item.addEventListener("keydown", function(ev){
    if (ev.key === "Enter" || ev.key === " "){ ev.preventDefault(); select(i, true); }
  });
});
slider.addEventListener("input", mark);
document.getElementById("reset").addEventListener("click", function(){
  slider.value = String(data.threshold);
  mark();
});
mark();
})();
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>storyline: @@title@@</title>
<style>@@css@@</style>
</head><body>
<header>
<h1>storyline: @@title@@</h1>
<div class="controls">
<span>@@lines@@ lines, <b id="kept-count">@@kept@@</b> kept (@@head@@ head)</span>
<label>threshold <input type="range" id="threshold" min="0" max="1" step="any" value="@@threshold@@">
<output id="threshold-value">@@threshold_text@@</output></label>
<button id="reset" type="button">model threshold</button>
<span class="legend"><span class="swatch"></span> p(story) low to high; dark edge = kept</span>
@@gold_note@@
</div>
</header>
<div class="wrap">
<ol id="lines">
@@rows@@
</ol>
<aside id="explain"><h2>Why?</h2><p>Click a line (or hover over it) to see the features that decided its
score, stage by stage. Drag the threshold to see which lines a lower or higher cut would keep.</p></aside>
</div>
<script type="application/json" id="storyline-data">@@data@@</script>
<script>@@js@@</script>
</body></html>
"""
