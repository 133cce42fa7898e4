"""The batch command line: every input kind, output formats, resume, limits, and clear usage errors.

Nothing here depends on what the default model predicts (it is retrained): outputs are compared with
another run's, or checked for structure (one record per page, in order, with the right sources).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from batch_inputs import TEXT_PAGE, write_jsonl, write_tree, write_warc
from cli_run import run
from pagegen import make_page


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture()
def tree(tmp_path: Path) -> tuple[Path, list[Path]]:
    root = tmp_path / "pages"
    return root, write_tree(root)


def test_every_input_kind_gives_one_record_each_in_order(tmp_path: Path, tree: tuple[Path, list[Path]]) -> None:
    pytest.importorskip("fastwarc")
    root, files = tree
    jsonl = tmp_path / "records.jsonl.gz"
    plain = tmp_path / "records.jsonl"
    ids = write_jsonl(plain, range(300, 302))
    jsonl.write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    warc_pages = write_warc(tmp_path / "crawl.warc.gz")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{files[1]}\n\n{tmp_path / 'missing.html'}\n")
    glob = str(root / "site1" / "*.html")
    code, out, err = run(
        "predict", str(root), str(jsonl), str(tmp_path / "crawl.warc.gz"), glob, "--input-list", str(listing),
        "--format", "jsonl",
    )  # fmt: skip
    got = records(out)
    expected = (
        [str(f) for f in files]
        + ids
        + [record_id for record_id, _ in warc_pages]
        + [str(root / "site1" / "page1.html")]
        + [str(files[1]), str(tmp_path / "missing.html")]
    )
    assert [r["source"] for r in got] == expected
    assert code == 0 and f"{len(expected)} pages, 1 failed" in err
    assert "no such file or folder" in got[-1]["error"]
    assert all("text" in r for r in got[:-1])
    by_source = {r["source"]: r for r in got}
    for record_id, uri in warc_pages:
        assert by_source[record_id]["url"] == uri
    assert "café" in by_source[warc_pages[1][0]]["text"]  # decoded with the HTTP header's latin-1
    assert by_source["rec-300"]["url"] == "https://x.org/300"
    assert by_source[str(files[-1])]["text"].startswith("A headline")  # the .txt page, read as text


def test_standard_input_page_jsonl_and_warc(tmp_path: Path) -> None:
    html = make_page(7)[0]
    _, page, _ = run("predict", "-", "--format", "jsonl", input=html)
    assert [r["source"] for r in records(page)] == ["-"]
    stream = json.dumps({"id": "a", "html": html}) + "\n" + json.dumps({"id": "b", "text": TEXT_PAGE}) + "\n"
    _, out, _ = run("predict", "--format", "jsonl", input=gzip.compress(stream.encode()))
    assert [r["source"] for r in records(out)] == ["a", "b"]
    assert records(out)[0]["text"] == records(page)[0]["text"]
    pytest.importorskip("fastwarc")
    pages = write_warc(tmp_path / "c.warc.gz")
    _, out, _ = run("predict", "-", "--format", "jsonl", input=(tmp_path / "c.warc.gz").read_bytes())
    assert [r["source"] for r in records(out)] == [record_id for record_id, _ in pages]


def test_input_list_from_standard_input_and_unmatched_glob(tree: tuple[Path, list[Path]]) -> None:
    root, files = tree
    code, out, _ = run(
        "predict", "--input-list", "-", str(root / "nothing-*.html"), "--format", "jsonl",
        input=f"{files[2]}\n{files[0]}\n",
    )  # fmt: skip
    got = records(out)
    assert [r["source"] for r in got] == [str(root / "nothing-*.html"), str(files[2]), str(files[0])]
    assert "no file matches" in got[0]["error"] and code == 0


def test_two_jobs_give_the_one_job_output_in_order(
    tmp_path: Path, tree: tuple[Path, list[Path]], small_model_path: Path
) -> None:
    root, _ = tree
    for i in range(24):
        (root / f"extra{i:02d}.html").write_text(make_page(400 + i)[0])
    write_jsonl(tmp_path / "more.jsonl", range(500, 510))
    args = ("predict", str(root), str(tmp_path / "more.jsonl"), "--format", "jsonl", "--with-lines")
    args += ("--model", str(small_model_path))  # a model file travels to the workers too
    _, one, _ = run(*args, "--jobs", "1")
    code, two, _ = run(*args, "--jobs", "2")
    assert code == 0 and len(records(one)) == 41 and two == one


def test_resume_skips_what_the_output_holds(tmp_path: Path, tree: tuple[Path, list[Path]]) -> None:
    root, files = tree
    target = tmp_path / "out.jsonl"
    _, _, _ = run("predict", str(files[0]), str(files[1]), "--format", "jsonl", "-o", str(target))
    first = target.read_text()
    # an interrupted later run left a partial file: one complete record and half of another
    partial = tmp_path / ".out.jsonl.partial"
    partial.write_text(json.dumps({"source": str(files[2]), "text": "kept"}) + '\n{"source": "half')
    code, out, err = run("predict", str(root), "--format", "jsonl", "-o", str(target), "--resume", "--jobs", "1")
    assert code == 0 and out == "" and "3 already done" in err and not partial.exists()
    got = records(target.read_text())
    assert [r["source"] for r in got] == [str(f) for f in files[:3]] + [str(f) for f in files[3:]]
    assert target.read_text().startswith(first) and got[2]["text"] == "kept"
    code, _, err = run("predict", str(root), "--format", "jsonl", "-o", str(target), "--resume")
    assert code == 0 and "0 pages, 0 failed, 6 already done" in err
    assert len(records(target.read_text())) == 6


def test_output_dir_mirrors_the_tree_and_resumes(tmp_path: Path, tree: tuple[Path, list[Path]]) -> None:
    root, files = tree
    (root / "site0" / "broken.html").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    out = tmp_path / "out"
    code, stdout, err = run("predict", str(root), "--output-dir", str(out))
    assert code == 0 and stdout == "" and "7 pages, 1 failed" in err
    for path in files:
        relative = path.relative_to(root).as_posix()
        assert (out / f"{relative}.txt").is_file(), relative
    assert "not a page (PNG image)" in (out / "site0" / "broken.html.error").read_text()
    _, single, _ = run("predict", str(files[0]))
    assert (out / "site0" / "deep" / "page0.html.txt").read_text() == single
    assert not list(out.rglob(".*.tmp"))
    (root / "site1" / "new.html").write_text(make_page(900)[0])
    code, _, err = run("predict", str(root), "--output-dir", str(out), "--resume")
    assert code == 0 and "1 pages, 0 failed, 7 already done" in err
    assert (out / "site1" / "new.html.txt").is_file()


def test_parquet_output_and_resume(tmp_path: Path, tree: tuple[Path, list[Path]]) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    root, files = tree
    target = tmp_path / "out.parquet"
    code, _, _ = run("predict", str(files[0]), str(tmp_path / "nope.html"), "--format", "parquet", "-o", str(target),
                     "--with-lines")  # fmt: skip
    table = pq.read_table(target)
    assert code == 0 and table.column_names == ["source", "url", "text", "error", "lines"]
    rows = table.to_pylist()
    assert rows[0]["error"] is None and rows[0]["lines"] and rows[1]["text"] is None and rows[1]["error"]
    _, jsonl, _ = run("predict", str(files[0]), "--format", "jsonl")
    assert rows[0]["text"] == records(jsonl)[0]["text"]
    code, _, err = run("predict", str(root), "--format", "parquet", "-o", str(target), "--with-lines", "--resume")
    assert code == 0 and "1 already done" in err
    assert pq.read_table(target).column("source").to_pylist() == [str(files[0]), str(tmp_path / "nope.html")] + [
        str(f) for f in files[1:]
    ]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_limits_make_error_records_not_failures(tmp_path: Path, jobs: str) -> None:
    (tmp_path / "a.html").write_text(make_page(1)[0])
    (tmp_path / "b.html").write_text("<html><body>" + "<p>a few words on a line</p>" * 300_000 + "</body></html>")
    (tmp_path / "c.html").write_text(make_page(2)[0])
    code, out, err = run("predict", str(tmp_path), "--format", "jsonl", "--jobs", jobs, "--timeout", "1")
    got = records(out)
    assert code == 0 and [r["source"].rsplit("/", 1)[1] for r in got] == ["a.html", "b.html", "c.html"]
    assert got[1]["error"] == "timeout: took more than 1 s" and "text" in got[0] and "text" in got[2]
    assert "3 pages, 1 failed" in err
    code, out, _ = run("predict", str(tmp_path), "--format", "jsonl", "--jobs", jobs, "--max-bytes", "1M")
    got = records(out)
    assert code == 0 and "larger than 1048576 bytes" in got[1]["error"] and "text" in got[2]


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch, tree: tuple[Path, list[Path]]) -> None:
    root, _ = tree
    _, _, quiet = run("predict", str(root), "--format", "jsonl")
    assert "page/s" not in quiet and "it/s" not in quiet
    monkeypatch.setattr("storyline.cli._progress_enabled", lambda: True)
    _, _, shown = run("predict", str(root), str(root / "gone.html"), "--format", "jsonl")
    assert "page/s" in shown and "0 errors" in shown
    assert "7 pages, 1 failed" in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "parquet"), "--format parquet writes a file"),
        (("--resume",), "--resume needs an output"),
        (("--output-dir", "x", "-o", "y"), "not both"),
        (("--output-dir", "x", "--format", "jsonl"), "one .txt file per page"),
        (("--jobs", "0"), "--jobs must be"),
        (("--max-bytes", "lots"), "is not a size"),
        (("--input-list", "/no/such/list"), "does not exist"),
        (("-", "--scheduler", "tcp://127.0.0.1:1"), "not standard input"),
    ],
)
def test_bad_options_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    code, out, err = run("predict", *args, input="")
    assert code == 2 and message in err and "Traceback" not in err and out == ""


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run("predict", "-", "-o", str(tmp_path / "no" / "such" / "out.jsonl"), "--format", "jsonl",
                       input="<p>x</p>")  # fmt: skip
    assert code == 1 and "does not exist" in err and "Traceback" not in err


def test_an_oversized_jsonl_record_is_one_error_record(tmp_path: Path) -> None:
    pages = tmp_path / "pages.jsonl"
    small = json.dumps({"id": "small", "html": make_page(1)[0]})
    huge = json.dumps({"id": "huge", "html": "<p>" + "word " * 400_000 + "</p>"})
    pages.write_text("\n".join([small, huge, "{broken", small.replace('"small"', '"again"')]) + "\n")
    code, out, err = run("predict", str(pages), "--format", "jsonl", "--max-bytes", "100K")
    got = records(out)
    assert code == 0 and [r["source"] for r in got] == ["small", f"{pages}:2", f"{pages}:3", "again"]
    assert "larger than 102400 bytes" in got[1]["error"] and "not JSON" in got[2]["error"]
    assert got[0]["text"] == got[3]["text"] and "4 pages, 2 failed" in err


def _tricky_jsonl() -> bytes:
    good = [json.dumps({"id": f"r{i}", "url": "http://example.org/", "html": make_page(i)[0]}) for i in range(3)]
    lines = [
        good[0],
        "",
        "   \t",
        "{broken",
        '{"id": 1,',
        "[1, 2]",
        json.dumps({"id": "none"}),
        json.dumps({"id": "huge", "html": "x" * 50_000}),
        "  " + json.dumps({"text": "A line of text.\nAnother one."}) + "\r",
        json.dumps({"id": "lone", "html": "<p>a \\ud800 b</p>"}),
        good[1],
    ]
    return ("\n".join(lines) + "\n" + good[2]).encode()  # the last line has no newline


@pytest.mark.parametrize(("compressed", "block"), [(False, None), (False, 7), (True, None)])
def test_deferred_jsonl_records_are_the_parsed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compressed: bool, block: int | None
) -> None:
    """With ``defer`` a JSONL file's records are delimited in the main process and parsed where they are
    predicted: once resolved they are the very inputs read without it (numbering, errors, limits), whatever
    the size of the blocks the file is scanned in."""
    from storyline.classifier import sources
    from storyline.classifier.sources import iter_inputs, resolve, stdin_inputs

    if block is not None:
        monkeypatch.setattr(sources, "_BLOCK", block)
    data = _tricky_jsonl()
    path = tmp_path / ("pages.jsonl.gz" if compressed else "pages.jsonl")
    path.write_bytes(gzip.compress(data) if compressed else data)
    for max_bytes in (None, 4096):
        parsed = list(iter_inputs([str(path)], max_bytes=max_bytes))
        deferred = list(iter_inputs([str(path)], max_bytes=max_bytes, defer=True))
        assert all(item.record is not None for item in deferred if item.error is None)
        assert [resolve(item) for item in deferred] == parsed and len(parsed) == 10
    import io

    piped = list(stdin_inputs(stream=io.BytesIO(data), defer=True))
    assert [resolve(item) for item in piped] == list(stdin_inputs(stream=io.BytesIO(data)))


def test_deferred_records_give_the_same_output_with_any_jobs(tmp_path: Path) -> None:
    pages = tmp_path / "pages.jsonl"
    pages.write_bytes(_tricky_jsonl())
    outputs = {}
    for jobs in ("1", "2"):
        for fmt in ("jsonl", "text"):
            code, outputs[jobs, fmt], _ = run(
                "predict", str(pages), "--format", fmt, "--max-bytes", "4K", "--jobs", jobs
            )
            assert code == 0
    got = records(outputs["1", "jsonl"])
    assert [r["source"] for r in got][:3] == ["r0", f"{pages}:4", f"{pages}:5"]
    assert "not JSON" in got[1]["error"] and "larger than 4096" in got[5]["error"] and len(got) == 10
    assert outputs["1", "jsonl"] == outputs["2", "jsonl"] and outputs["1", "text"] == outputs["2", "text"]
