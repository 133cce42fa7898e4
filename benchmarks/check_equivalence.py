"""Check that a speed change leaves prediction untouched: lines, feature matrices and probabilities.

``--save`` records, for a fixed sample of shared pages (mixed sets) plus hand-written hostile pages, every
line (text, link_chars, tag, ancestors, markers, paragraph, blocks), both heads' feature matrices and the
story probabilities of a model; ``--check`` recomputes them with the code as it is now and compares
(lines exactly; features and probabilities within ``--tolerance``, default 1e-12)::

    python benchmarks/check_equivalence.py --save  --model /tmp/ref_model.json --reference /tmp/ref.pkl
    python benchmarks/check_equivalence.py --check --model /tmp/ref_model.json --reference /tmp/ref.pkl

Keep a copy of the model the reference was taken with (``--model``): a retrained default model changes
the probabilities for reasons other than the code. Needs ``../shared/data`` for the sample.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from storyline.classifier.features import LineFeaturizer
from storyline.classifier.model import StoryModel, load_model
from storyline.classifier.page import Page
from storyline.classifier.segment import segment

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETS = ("wcxb", "dragnet", "cleaneval", "chinese-wce", "l3s-gn1")

HOSTILE = {
    "empty": "",
    "blank": "   \n\t  ",
    "bodyless": "<p>only a paragraph</p>",
    "deep": "<div>" * 5000 + "deep text" + "</div>" * 5000,
    "flat": "<p>" + "<br>".join(f"line {i} with a few words" for i in range(3000)) + "</p>",
    "inline_only": "<span>a</span><b>b</b><i>c</i>text only <a href='#'>link</a>",
    "pre": "<pre>code 1\n\ncode 2\n  indented\n</pre><pre><a href='x'>in\nlink</a></pre>",
    "hidden": (
        "<div hidden>x</div><div aria-hidden=' TRUE '>y</div><div style='DISPLAY : none'>z</div>"
        "<div style='visibility:hidden'>w</div><p>seen</p><div aria-hidden='false'>shown</div>"
    ),
    "markers": (
        "<div class='mainNav post-footer_2' id='ÄrticleBody'><p class='' id=''>a</p>"
        "<p class='XMLHttpRequest fooBAR baz--QUX'>b</p><p class>c</p><p id='x y  z'>d</p></div>"
    ),
    "tables": "<table><tr><td>a<td>b<tr><th>c</table><ul><li>one<li>two</ul><dl><dt>t<dd>d</dl>",
    "entities": "<p>&nbsp;&nbsp;nbsp&nbsp;text&amp;more &lt;tag&gt; \u00a0\u2003wide\u3000space</p>",
    "cjk": "<p>这是一个中文句子，包含标点。另一句！</p><p>日本語の文章です。</p><p>한국어 문장입니다.</p>",
    "broken": "<div><p>unclosed <b>bold <i>italic</div></p> trailing <a href=x>link",
    "nul": "<p>a\x00b</p><p>\ufffd\ufeffc</p>",
    "comments": "<!-- c --><p>x<!-- inside -->y</p><![CDATA[ d ]]>",
    "frames": "<frameset><frame src=a></frameset><noframes>no frames</noframes>",
    "title_only": "<html><head><title>  The   Title </title></head></html>",
    "repeated": "<ul>" + "<li><a href='/'>Home</a></li>" * 50 + "</ul>" + "<p>Home</p>" * 5,
    "money": "<p>£30,000 per annum + 5k bonus, USD 12 p.a.</p><p>Price: $9.99 — add to cart</p>",
    "dates": "<p>12/03/2024 and 2024-03-12, Jan. 5 and 5 March</p><p>© Copyright 2026 | all rights reserved</p>",
    "ellipsis": "<p>Wait...</p><p>More…</p><p>Question?»</p><p>Label:</p><p>ALL CAPS HERE OK</p>",
    "text_page": "Headline\n\nFirst paragraph wrapped\nover two lines.\n\n\nSecond one.\nMenu\n",
    "text_links": "See https://example.org/a for more\n[Read more](https://x.org)\nwww.example.com/x y",
    "text_cjk": "中文标题\n\n这是第一段。\n这是第二行。\n\nhttp://例子.中国/路径",
    "svg_math": "<svg><text>svg</text></svg><math><mi>x</mi></math><p>after</p><template><p>t</p></template>",
    "attrs_weird": "<p class='&quot;q&quot;' id=\"a'b\" hidden=''>h</p><p class=1 id=2>n</p>",
}


def sample(per_set: int) -> list[tuple[str, str, str]]:
    """(name, content, kind) for the first ``per_set`` pages of each set, plus the hostile pages."""
    from storyline.training.datasets import read_pages

    pages = []
    for name in SETS:
        folder = DATA / name
        if not folder.exists():
            continue
        for i, page in enumerate(read_pages(folder)):
            if i >= per_set:
                break
            pages.append((f"{name}/{page.id}", page.content, page.kind))
    for name, content in HOSTILE.items():
        pages.append((f"hostile/{name}", content, "text" if name.startswith("text") else "html"))
        if not name.startswith("text"):
            pages.append((f"hostile-as-text/{name}", content, "text"))
    return pages


def record(model: StoryModel, pages: list[tuple[str, str, str]]) -> dict[str, Any]:
    featurizers = {"html": LineFeaturizer(markup=True), "text": LineFeaturizer(markup=False)}
    out: dict[str, Any] = {}
    for name, content, kind in pages:
        page = segment(content, kind)
        lines = [
            (l.text, l.link_chars, l.tag, l.ancestors, tuple(sorted(l.markers)), l.paragraph, l.blocks)
            for l in page.lines
        ]
        features = {k: f.page_features(page) for k, f in featurizers.items()}
        out[name] = {
            "title": page.title,
            "kind": page.kind,
            "lines": lines,
            "features": features,
            "probabilities": model.probabilities(page),
            "extract": model.extract(Page(page.lines, page.kind, title=page.title)),
        }
    return out


def compare(ref: dict[str, Any], now: dict[str, Any], tolerance: float) -> list[str]:
    problems: list[str] = []
    if set(ref) != set(now):
        problems.append(f"different page sets: {len(ref)} vs {len(now)}")
    for name in ref:
        if name not in now:
            continue
        a, b = ref[name], now[name]
        for key in ("title", "kind", "lines", "extract"):
            if a[key] != b[key]:
                detail = ""
                if key == "lines":
                    for i, (x, y) in enumerate(zip(a[key], b[key], strict=False)):
                        if x != y:
                            detail = f" first at line {i}: {x!r} != {y!r}"
                            break
                    else:
                        detail = f" lengths {len(a[key])} vs {len(b[key])}"
                problems.append(f"{name}: {key} differs{detail}")
        for kind, matrix in a["features"].items():
            other = b["features"][kind]
            if matrix.shape != other.shape:
                problems.append(f"{name}: {kind} features shape {matrix.shape} vs {other.shape}")
            elif matrix.size and not np.allclose(matrix, other, rtol=0.0, atol=tolerance):
                diff = np.abs(matrix - other)
                r, c = np.unravel_index(int(np.argmax(diff)), diff.shape)
                problems.append(f"{name}: {kind} features differ by {diff.max():.3g} (row {r}, column {c})")
        pa, pb = a["probabilities"], b["probabilities"]
        if pa.shape != pb.shape or (pa.size and not np.allclose(pa, pb, rtol=0.0, atol=tolerance)):
            problems.append(f"{name}: probabilities differ")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--save", action="store_true", help="record the reference")
    mode.add_argument("--check", action="store_true", help="compare with the reference")
    parser.add_argument("--reference", default="/tmp/storyline_reference.pkl")
    parser.add_argument("--model", default=None, help="model file (default: the packaged default model)")
    parser.add_argument("--per-set", type=int, default=60)
    parser.add_argument("--tolerance", type=float, default=1e-12)
    args = parser.parse_args(argv)

    model = load_model(args.model)
    pages = sample(args.per_set)
    start = time.perf_counter()
    now = record(model, pages)
    elapsed = time.perf_counter() - start
    print(f"{len(pages)} pages recorded in {elapsed:.1f}s", file=sys.stderr)
    if args.save:
        with open(args.reference, "wb") as stream:
            pickle.dump(now, stream)
        print(f"reference written to {args.reference}")
        return 0
    with open(args.reference, "rb") as stream:
        ref = pickle.load(stream)
    problems = compare(ref, now, args.tolerance)
    for problem in problems[:50]:
        print(problem)
    if problems:
        print(f"NOT EQUIVALENT: {len(problems)} problems over {len(ref)} pages")
        return 1
    print(f"equivalent: {len(ref)} pages (lines exact, features and probabilities within {args.tolerance})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
