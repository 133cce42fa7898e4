"""Explanations: per-feature contributions that add up to the model's own scores, in the terminal and JSONL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_run import run

import storyline
from storyline.classifier.explain import describe, explain_page
from storyline.classifier.model import Head, StoryModel, load_model
from storyline.classifier.segment import segment

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "news-page.html"


def _check_sums(model: StoryModel, page_text: str, kind: str | None = None) -> None:
    page = segment(page_text, kind)
    explained = explain_page(model, page)
    stage1 = explained.stage1
    # Stage one: intercept + contributions is the stage-one logit the model computes, to 1e-9.
    head = model.head_for(page)
    z = head.first_stage_logits(head.featurizer.page_features(page))
    np.testing.assert_allclose(stage1.intercept + stage1.contributions.sum(axis=1), z, rtol=0, atol=1e-9)
    np.testing.assert_allclose(stage1.logits, z, rtol=0, atol=1e-12)
    if head.has_sequence:
        seq = explained.sequence
        assert seq is not None
        np.testing.assert_allclose(seq.intercept + seq.contributions.sum(axis=1), seq.logits, rtol=0, atol=1e-9)
    # The final probabilities are exactly predict's.
    np.testing.assert_allclose(explained.probabilities, model.probabilities(page), rtol=0, atol=1e-12)
    # Top-k plus the rest is the whole sum, for every line.
    for i in range(len(page.lines)):
        record = explained.line_dict(i, k=5)
        for stage in filter(None, (record["stage1"], record["sequence"])):
            total = stage["intercept"] + sum(f["contribution"] for f in stage["features"]) + stage["rest"]
            assert abs(total - stage["logit"]) < 1e-9
            sizes = [abs(f["contribution"]) for f in stage["features"]]
            assert sizes == sorted(sizes, reverse=True) and len(sizes) == 5


def test_contributions_sum_to_the_logits_default_model() -> None:
    html = EXAMPLE.read_text(encoding="utf-8")
    _check_sums(load_model(), html)
    _check_sums(load_model(), storyline.extract(html) + "\n\nHome | News | Sport\n© 2026 Courier", "text")


def test_contributions_sum_to_the_logits_small_and_sklearn_heads(small_model_path: Path) -> None:
    html = EXAMPLE.read_text(encoding="utf-8")
    _check_sums(load_model(small_model_path), html)
    # A head built from scikit-learn pipelines (as training makes them) is explained the same way.
    default = load_model()
    heads = {kind: Head(h.pipeline, h.sequence, h.threshold) for kind, h in default.heads.items()}
    _check_sums(StoryModel(heads), html)


def test_every_feature_has_plain_words() -> None:
    explained = explain_page(load_model(), segment(EXAMPLE.read_text(encoding="utf-8")))
    assert explained.sequence is not None
    for name in explained.stage1.features + explained.sequence.features:
        assert describe(name) != name, name


def test_runtime_modules_do_not_import_sklearn_matplotlib_or_the_cli() -> None:
    code = (
        "import sys, storyline.classifier.explain, storyline.classifier.page_view;"
        "bad = [m for m in ('sklearn', 'matplotlib', 'storyline.cli', 'click') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_explain_cli_prints_contributions() -> None:
    code, out, _ = run("explain", str(EXAMPLE), "--line", "12")
    assert code == 0
    assert out.startswith("line 12 of 41: The old granary library")
    assert "story (kept)" in out and "intercept" in out
    assert "Final score, from the sequence stage" in out and "First stage" in out
    assert "features together" in out
    # The listed contributions are sorted by size within each stage.
    block = out.split("First stage")[1]
    values = [float(line.split()[0]) for line in block.splitlines()[3:] if line.strip()[:1] in "+-"]
    values = [v for v in values][:-1]  # the last is the rest
    assert [abs(v) for v in values] == sorted((abs(v) for v in values), reverse=True)


def test_explain_cli_json_and_top() -> None:
    code, out, _ = run("explain", str(EXAMPLE), "--line", "1", "--json", "--top", "3")
    record = json.loads(out)
    assert code == 0 and record["line"] == 1 and record["story"] is False
    assert len(record["contributions"]["stage1"]["features"]) == 3
    assert record["p_story"] == pytest.approx(load_model().predict_lines(EXAMPLE.read_bytes())[0].p_story)


@pytest.mark.parametrize("number", ["0", "42", "-1"])
def test_explain_cli_bad_line_number(number: str) -> None:
    code, out, err = run("explain", str(EXAMPLE), "--line", number)
    assert code == 1 and not out
    assert "has 41 lines, numbered 1 to 41" in err and "Traceback" not in err


def test_explain_cli_bad_page(tmp_path: Path) -> None:
    code, _, err = run("explain", str(tmp_path / "missing.html"), "--line", "1")
    assert code == 1 and "no such file" in err
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "a.html").write_text("<p>one</p>")
    (folder / "b.html").write_text("<p>two</p>")
    code, _, err = run("explain", str(folder), "--line", "1")
    assert code == 1 and "several pages" in err
    (tmp_path / "empty.txt").write_text("   \n")
    code, _, err = run("explain", str(tmp_path / "empty.txt"), "--line", "1")
    assert code == 1 and "no lines" in err


def test_predict_jsonl_explain_adds_contributions() -> None:
    code, out, _ = run("predict", str(EXAMPLE), "--format", "jsonl", "--explain")
    record = json.loads(out)
    assert code == 0 and len(record["lines"]) == 41  # --explain implies --with-lines
    for line in record["lines"]:
        c = line["contributions"]
        assert set(c) == {"stage1", "sequence"}
        for stage in c.values():
            total = stage["intercept"] + sum(f["contribution"] for f in stage["features"]) + stage["rest"]
            assert total == pytest.approx(stage["logit"], abs=1e-9)
            assert {"name", "value", "contribution"} == set(stage["features"][0])
        p = 1 / (1 + np.exp(-c["sequence"]["logit"]))
        assert p == pytest.approx(line["p_story"], abs=1e-4)
    # Without --explain the records are unchanged.
    _, plain, _ = run("predict", str(EXAMPLE), "--format", "jsonl", "--with-lines")
    assert all(set(l) == {"text", "p_story", "story"} for l in json.loads(plain)["lines"])


def test_predict_explain_needs_jsonl() -> None:
    for fmt in ("text", "parquet"):
        code, _, err = run("predict", str(EXAMPLE), "--format", fmt, "-o", "x.out", "--explain")
        assert code == 2 and "--explain" in err and "jsonl" in err


def test_predict_many_explain_in_workers() -> None:
    from storyline.classifier.prediction import Options, predict_results
    from storyline.classifier.sources import PageInput

    items = [PageInput(str(i), EXAMPLE.read_bytes()) for i in range(3)]
    one = [r.record() for r in predict_results(load_model(), items, Options(explain=True), jobs=1)]
    two = [r.record() for r in predict_results(load_model(), items, Options(explain=True), jobs=2)]
    assert one == two and "contributions" in one[0]["lines"][0]
