"""``show`` views and the ``evaluate --report`` file: self-contained, escaped, linked."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_run import run

from storyline.classifier.model import load_model
from storyline.classifier.page import Line
from storyline.classifier.page_view import render_page_view, script_json
from storyline.classifier.segment import segment

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "news-page.html"


class _Doc(HTMLParser):
    """The parts of a document a test checks: script elements, external references, line items."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.external: list[str] = []
        self.lines: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.images: list[str] = []
        self._texts: list[str] = []
        self._in_text = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a)
        for key in ("src", "href"):
            value = a.get(key) or ""
            if re.match(r"(?i)\s*(https?:)?//", value):
                self.external.append(value)
        if tag == "link":
            self.external.append(f"<link {a}>")
        if tag == "li" and "line" in (a.get("class") or "").split():
            self.lines.append(a)
        if tag == "span" and a.get("class") == "t":
            self._in_text = True
            self._texts.append("")
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag == "img":
            self.images.append(a.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_text = False

    def handle_data(self, data: str) -> None:
        if self._in_text:
            self._texts[-1] += data

    @property
    def texts(self) -> list[str]:
        return self._texts


def parse(text: str) -> _Doc:
    doc = _Doc()
    doc.feed(text)
    return doc


def _data(text: str) -> dict:
    match = re.search(r'<script type="application/json" id="storyline-data">(.*?)</script>', text, re.S)
    assert match
    return json.loads(match[1])


def test_show_writes_a_self_contained_view(tmp_path: Path) -> None:
    out = tmp_path / "view.html"
    code, stdout, err = run("show", str(EXAMPLE), "-o", str(out))
    assert code == 0 and not stdout and "41 lines" in err
    text = out.read_text(encoding="utf-8")
    doc = parse(text)
    assert not doc.external, doc.external
    assert all("src" not in s for s in doc.scripts)
    assert not re.search(r"(?i)<script[^>]+src|<link[^>]+href|https?://|@import|url\(", text)
    model = load_model()
    scored = model.predict_lines(EXAMPLE.read_bytes())
    assert len(doc.lines) == len(scored) == 41
    for item, line, shown in zip(doc.lines, scored, doc.texts, strict=True):
        assert float(item["data-p"] or "nan") == line.p_story
        assert ("kept" in (item["class"] or "").split()) == line.story
        assert shown == line.text
    slider = re.search(r'<input type="range" id="threshold"[^>]*value="([^"]+)"', text)
    assert slider and float(slider[1]) == model.heads["html"].threshold
    data = _data(text)
    assert len(data["lines"]) == 41 and len(data["stages"]) == 2
    assert all(len(stages[0][2]) == 12 for stages in data["lines"])  # top-12 contributions a stage


def test_view_escapes_hostile_text() -> None:
    evil = '</script><script>alert("x")</script><!-- <img src=x onerror=alert(1)> &amp; \u2028 @@rows@@'
    page = segment(EXAMPLE.read_bytes())
    page.lines[2] = Line(evil, tag="p", paragraph=page.lines[2].paragraph, blocks=page.lines[2].blocks)
    page.lines.append(Line(evil, paragraph=99))
    page.title = evil
    view = render_page_view(load_model(), page, title=evil)
    doc = parse(view)
    assert len(doc.scripts) == 2  # the data block and the view's own script, nothing injected
    assert "<script>alert" not in view and "<img src=x" not in view
    assert view.count('<li class="line') == len(page.lines)  # "@@rows@@" in page text is not a placeholder
    assert doc.texts.count(evil) == 2  # shown as text, exactly
    assert len(doc.lines) == len(page.lines)
    data_block = view.split('id="storyline-data">')[1].split("</script>")[0]
    assert "<" not in data_block and ">" not in data_block and "&" not in data_block


def test_script_json_escapes() -> None:
    text = script_json({"a": "</script><!--&"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!--&"}


def test_view_with_gold_labels_marks_disagreements() -> None:
    model = load_model()
    page = segment(EXAMPLE.read_bytes())
    scored = model.predict_lines(page)
    labels: list[bool | None] = [not s.story if i == 3 else s.story for i, s in enumerate(scored)]
    labels[4] = None
    doc = parse(render_page_view(model, page, labels=labels))
    wrong = [i for i, item in enumerate(doc.lines) if "wrong" in (item["class"] or "").split()]
    assert wrong == [3]
    assert "data-gold" not in doc.lines[4] and doc.lines[0]["data-gold"] == "0"
    with pytest.raises(ValueError):
        render_page_view(model, page, labels=labels[:-1])


def test_show_bad_inputs(tmp_path: Path) -> None:
    code, _, err = run("show", str(tmp_path / "missing.html"), "-o", str(tmp_path / "v.html"))
    assert code == 1 and "no such file" in err
    code, _, err = run("show", str(EXAMPLE), "-o", str(tmp_path / "nowhere" / "v.html"))
    assert code == 1 and "cannot write" in err and "Traceback" not in err


def test_show_text_page_and_empty_page(tmp_path: Path) -> None:
    page = tmp_path / "dump.txt"
    page.write_text("Home | News\n\nA long paragraph of story text that goes on, as stories do, for a while.\n")
    out = tmp_path / "v.html"
    assert run("show", str(page), "-o", str(out))[0] == 0
    assert len(_data(out.read_text())["stages"]) == 2
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body></body></html>")
    assert run("show", str(empty), "-o", str(out))[0] == 0
    assert _data(out.read_text())["lines"] == []


def test_evaluate_report(labelled_folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    report = tmp_path / "report.html"
    code, out, err = run("evaluate", str(labelled_folder), "--report", str(report), "--worst", "3", "--jobs", "1")
    assert code == 0 and "shingle" in out and "report written" in err
    text = report.read_text(encoding="utf-8")
    doc = parse(text)
    assert len(doc.images) >= 3 and all(src.startswith("data:image/png;base64,") for src in doc.images)
    assert not doc.external and not doc.scripts
    views = [link for link in doc.links if link.startswith("report_files/")]
    assert len(views) == 3
    for link in views:
        view = tmp_path / link
        assert view.is_file()
        assert "data-gold" in view.read_text(encoding="utf-8")
    # A second report with fewer worst pages leaves no stale views behind.
    assert run("evaluate", str(labelled_folder), "--report", str(report), "--worst", "1", "--jobs", "1")[0] == 0
    assert sorted(p.name for p in (tmp_path / "report_files").iterdir()) == ["page-1.html"]


def test_evaluate_report_refusals(labelled_folder: Path, tmp_path: Path, small_model_path: Path) -> None:
    code, _, err = run("evaluate", str(labelled_folder), "--report", str(tmp_path / "no" / "r.html"))
    assert code == 1 and "does not exist" in err
    model = str(small_model_path)
    code, _, err = run(
        "evaluate", str(labelled_folder), "--model", model, "--model", model, "--report", str(tmp_path / "r.html")
    )
    assert code == 1 and "one model" in err


def test_report_numbers() -> None:
    import numpy as np

    from storyline.training.report_html import calibration, operating_point, pr_curve

    truth = np.array([True, True, False, True, False, False])
    probs = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.2])
    recall, precision = pr_curve(truth, probs)
    assert recall.tolist() == [1 / 3, 2 / 3, 2 / 3, 1.0, 1.0]
    assert precision.tolist() == [1.0, 1.0, 2 / 3, 0.75, 0.5]
    assert operating_point(truth, probs >= 0.65) == (2 / 3, 2 / 3)
    bins = calibration(truth, probs)
    assert [count for _, _, count in bins] == [2, 1, 1, 1, 1] and bins[0][1] == 0.0


def test_report_with_page_types_and_snippet_sets(labelled_folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from dataclasses import replace

    from storyline.training.datasets import read_pages
    from storyline.training.evaluate import evaluate_pages, summarise
    from storyline.training.report_html import ReportSet, write_report

    model = load_model()
    pages = [replace(p, page_type=("article", "listing")[i % 2]) for i, p in enumerate(read_pages(labelled_folder))]
    snippets = [
        replace(p, gold=None, with_snippets=[p.gold.split()[0]], without_snippets=["Privacy policy"]) for p in pages[:3]
    ]
    sets = []
    for name, items in (("typed", pages), ("snippets", snippets)):
        results = evaluate_pages(model, items)
        sets.append(ReportSet(name, items, results, summarise(results, None, 2)))
    written = write_report(tmp_path / "r.html", sets, model, worst=2)
    assert [p.name for p in written] == ["r.html", "page-1.html", "page-2.html"]  # no gold, no worst pages
    doc = parse(written[0].read_text(encoding="utf-8"))
    assert len(doc.images) == 4  # precision-recall, calibration, per set, per page type
    assert "snippets: with found" in written[0].read_text(encoding="utf-8")
