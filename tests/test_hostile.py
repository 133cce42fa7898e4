"""Hostile inputs the tests write themselves: each gets a defined outcome, text or a one-line error."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyline.cli import main


def write_corpus(folder: Path) -> dict[str, str | None]:
    """Write the corpus; map each file name to a text its story must hold ('' = may be empty), or None
    when the outcome must be an error record."""
    cases: dict[str, tuple[bytes, str | None]] = {
        "empty.html": (b"", ""),
        "whitespace.txt": (b"   \n\n \t ", ""),
        "image.html": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), None),
        "document.txt": (b"%PDF-1.4\n" + bytes(range(256)), None),
        "archive.html": (b"PK\x03\x04" + bytes(range(256)), None),
        "invalid-utf8.html": (b"<p>The caf\xe9 opened its doors again on Saturday, after the long winter.</p>", "café"),
        "utf16-bom.html": ("<p>Die Bäckerei öffnete am Samstag wieder ihre Türen.</p>".encode("utf-16"), "Bäckerei"),
        "utf16-nobom.html": ("<p>Die Bäckerei öffnete am Samstag wieder ihre Türen.</p>".encode("utf-16-le"), "Türen"),
        "cp1252-declared.html": (
            '<meta charset="windows-1252"><p>Le café a rouvert ses portes samedi, après l’hiver.</p>'.encode("cp1252"),
            "après",
        ),
        "shift-jis.html": (
            '<meta charset="shift_jis"><p>図書館は土曜日に再開しました。</p>'.encode("shift_jis"),
            "図書館",
        ),
        "gb2312.html": ('<meta charset="gb2312"><p>图书馆星期六重新开放了。</p>'.encode("gb2312"), "图书馆"),
        "koi8-declared.html": (
            '<meta charset="koi8-r"><p>Библиотека снова открылась в субботу.</p>'.encode("koi8-r"),
            "Библиотека",
        ),
        "lying-charset.html": ('<meta charset="utf-8"><p>Ça coûte cher, à peu près.</p>'.encode("cp1252"), "coûte"),
        "truncated.html": (b"<html><body><p>The council said the road would reopen on Monday after rep", "council"),
        "deep.html": (b"<div>" * 20000 + b"deep text inside" + b"</div>" * 20000, ""),
        "one-long-line.txt": (b"word " * 200_000, ""),
        "controls.html": (b"<p>a\x00b\x01c\x1f and the rest of a sentence that is long enough.</p>", ""),
        "script-only.html": (b"<script>" + b"var x = 1;" * 1000 + b"</script>", ""),
        "frameset.html": (b"<frameset><frame src=a.html><frame src=b.html></frameset>", ""),
        "xml-declaration.xhtml": (
            b'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
            b"<p>An XHTML page with an XML declaration and one paragraph of text in it.</p></body></html>",
            "",
        ),
        "unterminated-comment.html": (b"<p>before the comment</p><!-- never closed <p>after</p>", ""),
        "broken-entities.html": (b"<p>&amp &#xZZ; &#99999999; &nosuch; text</p>", ""),
        "corrupt.html.gz": (gzip.compress(b"<p>x</p>" * 1000)[:40], None),
        "bomb.html.gz": (gzip.compress(b"<p>" + b"a" * 3_000_000 + b"</p>"), None),  # over --max-bytes below
        "name with spaces é.html": (b"<p>A page whose file name has spaces and a non-ASCII letter.</p>", ""),
    }
    for name, (data, _) in cases.items():
        (folder / name).write_bytes(data)
    os.symlink(folder / "shift-jis.html", folder / "symlink.html")
    expected = {name: want for name, (_, want) in cases.items()}
    expected["symlink.html"] = "図書館"
    return expected


def test_every_hostile_input_has_a_defined_outcome(tmp_path: Path) -> None:
    expected = write_corpus(tmp_path)
    result = CliRunner().invoke(
        main, ["predict", str(tmp_path), "--format", "jsonl", "--with-lines", "--max-bytes", "2M", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    records = {Path(r["source"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(records) == set(expected), "every input gives exactly one record"
    for name, want in expected.items():
        record = records[name]
        if want is None:
            assert "error" in record and "\n" not in record["error"], name
            continue
        assert "error" not in record, (name, record.get("error"))
        page_text = "\n".join(line["text"] for line in record["lines"])
        assert want in page_text, (name, page_text[:200])
        assert not any(c in page_text for c in "\x00\x01\x1f"), name


@pytest.mark.parametrize("kind", ["html", "text"])
def test_mojibake_free_decoding_of_declared_charsets(tmp_path: Path, kind: str) -> None:
    write_corpus(tmp_path)
    result = CliRunner().invoke(
        main, ["predict", str(tmp_path / "gb2312.html"), "--format", "jsonl", "--with-lines", "--input-type", kind]
    )
    record = json.loads(result.stdout)
    assert any("图书馆星期六重新开放了" in line["text"] for line in record["lines"])
