"""Hostile inputs the tests write themselves: each gets a defined outcome, the right text or a one-line error,
in bounded time and memory."""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import storyline
from storyline.classifier.lines_html import nesting_cost
from storyline.classifier.prediction import Options, predict_page
from storyline.classifier.reading import ReadError, decode
from storyline.classifier.sources import PageInput
from storyline.cli import main

ROOT = Path(__file__).resolve().parent.parent
RU = "Библиотека снова открылась в субботу, после ремонта."
DE = "Die Bäckerei öffnete am Samstag wieder ihre Türen."
FR = "Le café a rouvert ses portes samedi, après l’hiver."
JA = "図書館は土曜日に再開しました。"
ZH = "图书馆星期六重新开放了。"

#: name -> (bytes, outcome): ("line", text) = a line of the page is exactly ``text``; ("in", text) = a line
#: holds ``text``; ("lines", n) = the page has exactly n lines; ("error", text) = an error record holding it.
Case = tuple[bytes, tuple[str, object]]


def _p(text: str, head: str = "") -> str:
    return f"{head}<p>{text}</p>"


def hostile_cases() -> dict[str, Case]:
    para = b"<p>The council said the harbour road would reopen on Monday after repairs to the sea wall.</p>\n"
    return {
        "empty.html": (b"", ("lines", 0)),
        "whitespace.txt": (b"   \n\n \t \r\n", ("lines", 0)),
        "image.html": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), ("error", "not a page (PNG image)")),
        "document.txt": (b"%PDF-1.4\n" + bytes(range(256)), ("error", "not a page (PDF document)")),
        "archive.html": (b"PK\x03\x04" + bytes(range(256)), ("error", "not a page (zip archive)")),
        "invalid-utf8.html": (
            b"<p>The caf\xe9 opened its doors again on Saturday, after the long winter.</p>",
            ("line", "The café opened its doors again on Saturday, after the long winter."),
        ),
        "utf16-bom.html": (_p(DE).encode("utf-16"), ("line", DE)),
        "utf16-nobom.html": (_p(DE).encode("utf-16-le"), ("line", DE)),
        "utf16be-nobom.html": (_p(DE).encode("utf-16-be"), ("line", DE)),
        "cp1252-declared.html": (_p(FR, '<meta charset="windows-1252">').encode("cp1252"), ("line", FR)),
        "cp1252-undeclared.html": (_p(FR).encode("cp1252"), ("line", FR)),
        "latin1-declared.html": (_p(DE, '<meta charset="iso-8859-1">').encode("latin-1"), ("line", DE)),
        "latin1-undeclared.html": (_p(DE).encode("latin-1"), ("line", DE)),
        "shift-jis-declared.html": (_p(JA, '<meta charset="shift_jis">').encode("shift_jis"), ("line", JA)),
        "shift-jis-undeclared.html": (_p(JA).encode("shift_jis"), ("line", JA)),
        "gb2312-declared.html": (_p(ZH, '<meta charset="gb2312">').encode("gb2312"), ("line", ZH)),
        "gb2312-undeclared.html": (_p(ZH).encode("gb2312"), ("line", ZH)),
        "koi8-declared.html": (_p(RU, '<meta charset="koi8-r">').encode("koi8-r"), ("line", RU)),
        "koi8-undeclared.html": (_p(RU).encode("koi8-r"), ("line", RU)),
        "lying-charset.html": (_p(FR, '<meta charset="utf-8">').encode("cp1252"), ("line", FR)),
        "lying-cyrillic-charset.html": (_p(RU, '<meta charset="windows-1251">').encode("koi8-r"), ("line", RU)),
        "truncated.html": (
            b"<html><body><p>The council said the road would reopen on Monday after rep",
            ("line", "The council said the road would reopen on Monday after rep"),
        ),
        "unclosed.html": (b"<div><p>First paragraph of the story<p>Second one <b>bold <i>both", ("lines", 2)),
        "deep.html": (b"<div>" * 20000 + b"deep text inside" + b"</div>" * 20000, ("line", "deep text inside")),
        "page-40mb.html": (b"<html><body>" + para * (40_000_000 // len(para)), ("error", "larger than 10485760 bytes")),
        "one-5mb-line.txt": (b"word " * 1_000_000, ("line", " ".join(["word"] * 1_000_000))),
        "controls.html": (
            b"<p>a\x00b\x01c\x1f and the rest of a sentence that is long enough.</p>",
            ("line", "abc and the rest of a sentence that is long enough."),
        ),
        "nul-only.txt": (b"\x00" * 100, ("lines", 0)),
        "script-only.html": (b"<script>" + b"var x = 1;" * 1000 + b"</script>", ("lines", 0)),
        "frameset.html": (b"<frameset><frame src=a.html><frame src=b.html></frameset>", ("lines", 0)),
        "xml-declaration.xhtml": (
            b'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
            b"<p>An XHTML page with an XML declaration and one paragraph of text in it.</p></body></html>",
            ("line", "An XHTML page with an XML declaration and one paragraph of text in it."),
        ),
        "unterminated-comment.html": (b"<p>before the comment</p><!-- never closed <p>after</p>", ("lines", 1)),
        "broken-entities.html": (
            b"<p>&amp &#xZZ; &#99999999; &nosuch; text</p>",
            ("line", "& &#xZZ; \ufffd &nosuch; text"),
        ),
        "corrupt.html.gz": (gzip.compress(b"<p>x</p>" * 1000)[:40], ("error", "gzip data")),
        "bomb-30mb.html.gz": (
            gzip.compress(b"<p>" + b"a" * 30_000_000 + b"</p>"),
            ("error", "gzip data inflates to more than 10485760 bytes"),
        ),
        "name with spaces é.html": (
            b"<p>A page whose file name has spaces and a non-ASCII letter.</p>",
            ("line", "A page whose file name has spaces and a non-ASCII letter."),
        ),
    }


def write_corpus(folder: Path) -> dict[str, tuple[str, object]]:
    """Write the corpus (and a symlink to one of its pages); map each file name to its expected outcome."""
    cases = hostile_cases()
    for name, (data, _) in cases.items():
        (folder / name).write_bytes(data)
    os.symlink(folder / "shift-jis-declared.html", folder / "symlink.html")
    expected = {name: outcome for name, (_, outcome) in cases.items()}
    expected["symlink.html"] = ("line", JA)
    return expected


def test_every_hostile_input_has_a_defined_outcome(tmp_path: Path) -> None:
    expected = write_corpus(tmp_path)
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["predict", str(tmp_path), "--format", "jsonl", "--with-lines", "--jobs", "1"])
    assert time.perf_counter() - start < 60
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    records = {Path(r["source"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(records) == set(expected), "every input gives exactly one record"
    for name, (how, want) in expected.items():
        record = records[name]
        if how == "error":
            assert "error" in record, (name, record.get("text", "")[:100])
            assert str(want) in record["error"] and "\n" not in record["error"], (name, record["error"])
            continue
        assert "error" not in record, (name, record.get("error"))
        lines = [line["text"] for line in record["lines"]]
        assert not any(c in text for text in lines for c in "\x00\x01\x1f"), name
        if how == "lines":
            assert len(lines) == want, (name, lines)
        elif how == "line":
            assert want in lines, (name, [line[:100] for line in lines])
        story = record["text"].split("\n") if record["text"] else []
        assert all(line in lines for line in story), name
    stderr_errors = [line for line in result.stderr.splitlines() if "summary" not in line and ": " in line]
    assert len(stderr_errors) >= sum(1 for how, _ in expected.values() if how == "error")


@pytest.mark.parametrize("kind", ["html", "text"])
def test_mojibake_free_decoding_of_declared_charsets(tmp_path: Path, kind: str) -> None:
    write_corpus(tmp_path)
    result = CliRunner().invoke(
        main,
        ["predict", str(tmp_path / "gb2312-declared.html"), "--format", "jsonl", "--with-lines", "--input-type", kind],
    )
    record = json.loads(result.stdout)
    assert any(ZH in line["text"] for line in record["lines"])


def test_short_undeclared_cyrillic_is_read_as_cyrillic() -> None:
    # charset-normalizer reads a short KOI8-R page as Shift_JIS half-width katakana: the letters decide
    for codec in ("koi8-r", "cp1251", "iso8859-5", "cp866"):
        assert decode(_p(RU).encode(codec)) == _p(RU), codec
    ua = "Бібліотека знову відкрилася в суботу."
    assert decode(_p(ua).encode("koi8-u")) == _p(ua)
    assert decode(_p(ua).encode("cp1251")) == _p(ua)
    # a declared Cyrillic code page is kept, even for all-capital text, unless the letters say it lies
    caps = '<meta charset="koi8-r"><p>ДОРОГА ОТКРЫТА</p>'
    assert decode(caps.encode("koi8-r")) == caps
    lie = '<meta charset="koi8-r">' + _p(RU)
    assert decode(lie.encode("cp1251")) == lie
    # the other single-byte and CJK detections are unchanged
    for text, codec in ((FR, "cp1252"), (DE, "latin-1"), (JA, "shift_jis"), (ZH, "gb2312")):
        assert _p(text) in decode(_p(text).encode(codec)), codec


def test_deep_nesting_is_linear_and_quadratic_parses_are_refused() -> None:
    start = time.perf_counter()
    lines = storyline.load_model().predict_lines(b"<div>" * 20000 + b"deep text inside" + b"</div>" * 20000)
    assert [line.text for line in lines] == ["deep text inside"]
    assert time.perf_counter() - start < 5  # was 9 s and 3 GB: each level copied its ancestors' context
    assert nesting_cost("<div><p>a<br>b</p></div></div><span>") == 2
    # 80,000 nested divs would take the parser 7 s (2 million, 10 MB: hours): refused at once instead
    with pytest.raises(ReadError, match="nested too deeply"):
        storyline.segment("<div>" * 80_000 + "x")
    with pytest.raises(ReadError, match="nested too deeply"):
        storyline.segment("<span>" * 40_000 + "<div>x</div>" * 40_000)


def test_huge_class_attributes_do_not_multiply_memory() -> None:
    big = " ".join(f"a{i}" for i in range(50_000))
    html = f'<div class="{big}">' + "".join(f'<p class="x{i}">t</p>' for i in range(20_000)) + "</div>"
    start = time.perf_counter()
    page = storyline.segment(html, "html")
    assert len(page.lines) == 20_000 and time.perf_counter() - start < 5
    assert "a0" in page.lines[0].markers


def test_a_page_of_too_many_lines_is_an_error_record() -> None:
    model = storyline.load_model()
    item = PageInput("many.html", "<p>a line</p>" * 50, "html")
    assert predict_page(model, item, Options(max_lines=10)).error == "many.html: 50 lines, more than the limit of 10"
    assert predict_page(model, item).ok
    # plain text is counted before it is split: 10 MB of "x\n" would cost 15 s and 1.8 GB of lines first
    text = PageInput("many.txt", "a line\n\n" * 30, "text")
    assert predict_page(model, text, Options(max_lines=30)).ok  # blank lines are no lines
    many = PageInput("many.txt", "a line\r\n" * 70)
    assert predict_page(model, many, Options(max_lines=30)).error == (
        "many.txt: 70 lines of text, more than the limit of 30"
    )


def _limited_run(args: list[str], memory: int) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run the command line with at most ``memory`` bytes of address space; its time and peak RSS (MB)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "storyline", *args], capture_output=True, text=True, preexec_fn=limit, env=env
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return done, seconds, (peak if peak > before else 0) / 1024


def test_a_40_mb_page_and_a_5_mb_line_run_in_bounded_time_and_memory(tmp_path: Path) -> None:
    cases = hostile_cases()
    page, line = tmp_path / "page-40mb.html", tmp_path / "one-5mb-line.txt"
    page.write_bytes(cases["page-40mb.html"][0])
    line.write_bytes(cases["one-5mb-line.txt"][0])
    done, seconds, _ = _limited_run(["predict", str(page), str(line), "--format", "jsonl"], 2 << 30)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    first, second = map(json.loads, done.stdout.splitlines())
    assert first["error"] == f"{page}: larger than 10485760 bytes"
    assert second["text"] == " ".join(["word"] * 1_000_000)
    assert seconds < 30
