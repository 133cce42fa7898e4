from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyline.classifier.segment import segment
from storyline.cli import main
from storyline.training.datasets import DatasetError, read_pages
from storyline.training.labelfile import (
    HEADER,
    LabelFileError,
    LabelledLines,
    format_page,
    parse_labels,
    read_labels,
    write_labels,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "news-page.html"


def example() -> LabelledLines:
    page = segment(EXAMPLE.read_text(encoding="utf-8"), source="news-page.html")
    marks = ["S" if line.tag in ("p", "h1", "h2") else "C" for line in page.lines]
    marks[3] = "?"
    return LabelledLines(page, marks, [0.5] * len(marks))


@pytest.mark.parametrize("name", ["page.labels", "page.labels.jsonl"])
def test_round_trip_gives_the_file_back_unchanged(tmp_path: Path, name: str) -> None:
    item = example()
    path = tmp_path / name
    write_labels([item, item], path)
    first = path.read_bytes()
    back = read_labels(path)
    assert len(back) == 2 and back[0].page.lines == item.page.lines and back[0].marks == item.marks
    assert back[0].page.title == item.page.title and back[0].page.kind == "html"
    write_labels(back, path)
    assert path.read_bytes() == first


def test_text_form_is_editable_by_hand() -> None:
    text = HEADER + format_page(example())
    edited = text.replace("\nC\t", "\nS\t", 1)  # a person flips the first chrome line to story
    before, after = parse_labels(text)[0], parse_labels(edited)[0]
    flipped = [i for i, (a, b) in enumerate(zip(before.marks, after.marks, strict=True)) if a != b]
    assert len(flipped) == 1 and after.marks[flipped[0]] == "S"
    assert after.gold.startswith(before.page.lines[flipped[0]].text) or before.page.lines[flipped[0]].text in after.gold


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("S\t-\t0\t0\t-\tp\t-\t-\tline before a header", "before the first page header"),
        ('== {"kind": "pdf"}', "kind of html or text"),
        ('== {"kind": "html"}\nX\t-\t0\t0\t-\tp\t-\t-\ttext', "mark must be S, C or ?"),
        ('== {"kind": "html"}\nS\t-\tmany\t0\t-\tp\t-\t-\ttext', "must be numbers"),
        ('== {"kind": "html"}\nS\ttoo few fields', "9 tab-separated fields"),
    ],
)
def test_bad_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(LabelFileError, match=message):
        parse_labels(text, "f.labels")


def test_label_correct_train_evaluate_loop(tmp_path: Path, labelled_folder: Path, small_model_path: Path) -> None:
    runner = CliRunner()
    labels = tmp_path / "labels"
    result = runner.invoke(main, ["label", str(labelled_folder), "-o", str(labels), "--model", str(small_model_path)])
    assert result.exit_code == 0, result.stderr
    files = sorted(labels.glob("*.labels"))
    assert len(files) == 24  # 12 pages and their 12 gold texts, each read as a page
    # a person removes the gold-text pages and settles every unsure mark
    for path in files:
        if path.name.endswith(".txt.labels"):
            path.unlink()
            continue
        path.write_text(path.read_text(encoding="utf-8").replace("\n?\t", "\nC\t"), encoding="utf-8")
    pages = list(read_pages(labels))
    assert len(pages) == 12 and all(p.lines is not None and p.gold is not None for p in pages)
    model = tmp_path / "model.json"
    result = runner.invoke(
        main,
        ["train", str(labels), "-o", str(model), "--C", "1", "--class-weight", "none", "--folds", "3", "--jobs", "1"],
    )
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(main, ["evaluate", str(labels), "--model", str(model), "--json", "--jobs", "1"])
    report = json.loads(result.stdout)["labels"]
    assert report["line"]["f1"] > 0.8 and report["shingle"]["f1"] > 0.8


def test_unsure_lines_are_left_out(tmp_path: Path) -> None:
    item = example()
    write_labels([item], tmp_path / "a.labels")
    (page,) = read_pages(tmp_path)
    assert page.gold is None and page.lines is not None
    assert not page.lines.labelled[3] and page.lines.labelled.sum() == len(item.marks) - 1


def test_bad_label_file_is_a_dataset_error(tmp_path: Path) -> None:
    (tmp_path / "x.labels").write_text("garbage\n")
    with pytest.raises(DatasetError, match="before the first page header"):
        list(read_pages(tmp_path))
