from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from cli_run import run

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "news-page.html"
SHARED_EXAMPLE = ROOT.parent / "shared" / "examples" / "news-page.txt"
QUICK_TRAIN = ("--C", "1", "--class-weight", "none", "--jobs", "1")
"""Training options that keep the synthetic-data tests fast: one setting, no search, one process."""


def test_predict_text_of_one_page() -> None:
    code, out, _ = run("predict", str(EXAMPLE))
    assert code == 0
    assert out.startswith("Harbour town library reopens after three-year restoration\n")
    assert "==>" not in out and "Privacy policy" not in out


def test_predict_jsonl_with_lines() -> None:
    code, out, _ = run("predict", str(EXAMPLE), "--format", "jsonl", "--with-lines")
    record = json.loads(out)
    assert code == 0 and record["source"] == str(EXAMPLE)
    assert record["text"].startswith("Harbour town library")
    kept = [l["text"] for l in record["lines"] if l["story"]]
    assert "\n".join(kept) == record["text"]
    assert all(set(l) == {"text", "p_story", "story"} for l in record["lines"])


def test_predict_threshold_knob() -> None:
    _, everything, _ = run("predict", str(EXAMPLE), "--threshold", "0")
    _, nothing, _ = run("predict", str(EXAMPLE), "--threshold", "1")
    assert "Privacy policy" in everything and nothing.strip() == ""


def test_predict_stdin_gzip_and_folder(tmp_path: Path) -> None:
    html = EXAMPLE.read_bytes()
    _, out, _ = run("predict", "-", input=html)
    assert out.startswith("Harbour town library")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "page.html.gz").write_bytes(gzip.compress(html))
    (tmp_path / "a.txt").write_text(
        "A headline\n\nA paragraph of story text that goes on for a while, as stories do.\n"
    )
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01")  # not a page file: folders only yield pages
    code, out, _ = run("predict", str(tmp_path), "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["source"] for r in records] == [str(tmp_path / "a.txt"), str(tmp_path / "b" / "page.html.gz")]
    assert records[1]["text"].startswith("Harbour town library")
    _, text_out, _ = run("predict", str(tmp_path))
    assert f"==> {tmp_path / 'a.txt'} <==" in text_out


def test_predict_jsonl_records_and_errors(tmp_path: Path) -> None:
    pages = tmp_path / "pages.jsonl"
    pages.write_text(
        json.dumps({"id": "p1", "html": EXAMPLE.read_text()})
        + "\n"
        + json.dumps({"id": "p2", "text": "Just text.\n\nMore text here that reads like a sentence."})
        + "\n"
        + "{not json\n"
        + json.dumps({"id": "p4"})
        + "\n"
    )
    code, out, err = run("predict", str(pages), str(tmp_path / "missing.html"), "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [r["source"] for r in records] == ["p1", "p2", f"{pages}:3", "p4", str(tmp_path / "missing.html")]
    assert "text" in records[0] and "text" in records[1]
    assert all("error" in r for r in records[2:])
    assert "no such file" in records[4]["error"]
    assert "5 pages, 3 failed" in err


def test_predict_failure_of_every_input_exits_nonzero(tmp_path: Path) -> None:
    png = tmp_path / "image.html"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    code, out, err = run("predict", str(png))
    assert code == 1 and out == "" and "not a page (PNG image)" in err


def test_predict_output_file_and_input_type(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    code, out, _ = run(
        "predict",
        str(EXAMPLE),
        "--format",
        "jsonl",
        "-o",
        str(target),
        "--input-type",
        "text",
        "--with-lines",
    )
    assert code == 0 and out == ""
    record = json.loads(target.read_text())
    # read as plain text, the markup is just characters of its lines
    assert any(line["text"].startswith("<title>") for line in record["lines"])
    assert not list(tmp_path.glob(".*.tmp"))


def test_bad_model_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.json"
    bad.write_text("{}")
    code, _, err = run("predict", str(EXAMPLE), "--model", str(bad))
    assert code != 0 and "not a storyline model file" in err and "Traceback" not in err


@pytest.mark.skipif(not SHARED_EXAMPLE.exists(), reason="../shared/examples is absent")
def test_shared_news_page_gives_the_article_and_no_chrome() -> None:
    code, out, _ = run("predict", str(SHARED_EXAMPLE))
    assert code == 0
    assert out.startswith("Russian foreign minister in Syria amid escalating violence\n")
    for wrapped in (
        "Syrian forces renewed their assault on the flashpoint city of Homs",
        "today as Russia's foreign minister stressed the need for reform and",
        "country's escalating violence.",
    ):
        assert wrapped in out
    source = SHARED_EXAMPLE.read_text(encoding="utf-8")
    story_part, chrome_part = source.split("\nAP\n", 1)
    for paragraph in story_part.split("\n\n"):
        for line in paragraph.strip().splitlines():
            if line.strip():
                assert line.strip() in out
    kept = set(out.splitlines())
    for line in chrome_part.splitlines():
        assert line.strip() not in kept or not line.strip(), line


def test_train_then_evaluate(labelled_folder: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    code, _, err = run("train", str(labelled_folder), "-o", str(model), *QUICK_TRAIN, "--folds", "3")
    assert code == 0, err
    assert "12/12 pages used" in err and "out-of-fold shingle F1" in err
    assert err.count("sites held out") == 6  # per fold, both heads
    assert "warning:" not in err  # every synthetic page aligns with its gold
    code, out, _ = run("evaluate", str(labelled_folder), "--model", str(model), "--jobs", "1")
    assert code == 0 and "line F1" in out and "shingle P" in out
    code, out, _ = run("evaluate", str(labelled_folder), "--model", str(model), "--json", "--jobs", "1")
    report = json.loads(out)[labelled_folder.name]
    assert report["pages"] == 12
    assert report["line"]["f1"] > 0.8 and report["shingle"]["f1"] > 0.8


def test_train_missing_data_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run("train", str(tmp_path / "nope"), "-o", str(tmp_path / "m.json"))
    assert code != 0 and "no such file or folder" in err


def test_help_explains_each_command() -> None:
    for command in ("predict", "train", "evaluate"):
        code, out, _ = run(command, "--help")
        assert code == 0 and "Example" in out


def test_inspect_describes_a_model(small_model_path: Path) -> None:
    code, out, _ = run("inspect", str(small_model_path), "--top", "3")
    assert code == 0
    assert "html head:" in out and "text head:" in out and "threshold" in out
    assert "strongest towards story:" in out and "synthetic: 12/12 pages used" in out
    code, out, _ = run("inspect", str(small_model_path), "--json")
    report = json.loads(out)
    assert len(report["heads"]["html"]["story_weights"]) == 10
    assert all(w > 0 for _, w in report["heads"]["html"]["story_weights"])
    assert all(w < 0 for _, w in report["heads"]["html"]["chrome_weights"])


def test_evaluate_reports_breakdowns_worst_pages_and_compares_models(
    labelled_folder: Path, small_model_path: Path
) -> None:
    code, out, _ = run(
        "evaluate",
        str(labelled_folder),
        "--model",
        str(small_model_path),
        "--by",
        "domain",
        "--worst",
        "2",
        "--jobs",
        "1",
    )
    assert code == 0
    assert "story kept" in out and "chrome dropped" in out and out.count("worst:") == 2
    assert "site0" in out
    code, out, _ = run(
        "evaluate", str(labelled_folder), "--model", str(small_model_path), "--by", "domain", "--json", "--jobs", "1"
    )
    assert set(json.loads(out)[labelled_folder.name]["by_domain"]) == {"site0", "site1", "site2", "site3"}
    code, out, _ = run(
        "evaluate",
        str(labelled_folder),
        "--model",
        str(small_model_path),
        "--model",
        str(small_model_path),
        "--json",
        "--jobs",
        "1",
    )
    comparison = json.loads(out)[labelled_folder.name]["comparison"]
    assert comparison["difference"] == 0.0 and comparison["ci95_low"] == 0.0 == comparison["ci95_high"]


def test_bootstrap_interval_covers_a_real_difference() -> None:
    import numpy as np

    from storyline.training.evaluate import PageResult, compare

    gold = "one two three four five six seven eight"
    good = [PageResult(str(i), gold, gold, None, np.zeros(0)) for i in range(40)]
    half = [PageResult(str(i), gold if i % 2 else "", gold, None, np.zeros(0)) for i in range(40)]
    c = compare(half, good, resamples=500)
    assert c["f1_b"] == 1.0 and c["difference"] > 0
    assert 0 < c["ci95_low"] <= c["difference"] <= c["ci95_high"]


def test_train_with_chosen_feature_groups(labelled_folder: Path, tmp_path: Path) -> None:
    from storyline.classifier.model import StoryModel

    model = tmp_path / "small.json"
    code, _, err = run(
        "train",
        str(labelled_folder),
        "-o",
        str(model),
        *QUICK_TRAIN,
        "--folds",
        "2",
        "--features",
        "text,markup,context",
        "--head",
        "html",
    )
    assert code == 0, err
    loaded = StoryModel.load(model)
    names = list(loaded.heads["html"].featurizer.get_feature_names_out())
    assert "tag_p" in names and "prev1_log_chars" in names
    assert not any(n.startswith(("para_", "box", "win", "rel_index", "in_main_box")) for n in names)
    code, _, err = run("train", str(labelled_folder), "-o", str(model), "--features", "text,colour")
    assert code != 0 and "unknown feature groups ['colour']" in err
