"""Batch inputs written by the tests themselves: a tree of page files, a JSONL file and a small WARC."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from pagegen import make_page

TEXT_PAGE = "A headline of the text page\n\nA paragraph of story text that goes on for a while, as stories do.\n"


def warc_record(kind: str, record_id: str, uri: str, block: bytes, content_type: str) -> bytes:
    """One WARC/1.0 record (header, block, the two CRLFs that end a record)."""
    head = (
        f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: {record_id}\r\nWARC-Date: 2026-01-01T00:00:00Z\r\n"
        f"WARC-Target-URI: {uri}\r\nContent-Type: {content_type}\r\nContent-Length: {len(block)}\r\n\r\n"
    )
    return head.encode("ascii") + block + b"\r\n\r\n"


def http_response(body: bytes, content_type: str, status: str = "200 OK", gzipped: bool = False) -> bytes:
    headers = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
    if gzipped:
        headers += "Content-Encoding: gzip\r\n"
        body = gzip.compress(body)
    return (headers + f"Content-Length: {len(body)}\r\n\r\n").encode("ascii") + body


def write_warc(path: Path, seeds: tuple[int, int] = (101, 102)) -> list[tuple[str, str]]:
    """A gzip-per-record WARC: two HTML pages (one gzip-encoded, one declared latin-1) among records that
    are not pages (a request, a PNG, a 404, a warcinfo). Returns the ``(record id, uri)`` of the pages."""
    first, second = make_page(seeds[0])[0], make_page(seeds[1])[0].replace('<meta charset="utf-8">', "")
    second = second.replace("</h1>", " café</h1>")
    pages = [
        ("<urn:uuid:00000000-0000-0000-0000-000000000001>", "https://example.org/one"),
        ("<urn:uuid:00000000-0000-0000-0000-000000000002>", "https://example.org/two"),
    ]
    records = [
        warc_record("warcinfo", "<urn:uuid:info>", "", b"software: tests\r\n", "application/warc-fields"),
        warc_record("request", "<urn:uuid:req-1>", pages[0][1], b"GET /one HTTP/1.1\r\n\r\n", "application/http"),
        warc_record(
            "response",
            pages[0][0],
            pages[0][1],
            http_response(first.encode("utf-8"), "text/html; charset=utf-8", gzipped=True),
            "application/http; msgtype=response",
        ),
        warc_record(
            "response",
            "<urn:uuid:png>",
            "https://example.org/logo.png",
            http_response(b"\x89PNG\r\n\x1a\n" + bytes(32), "image/png"),
            "application/http; msgtype=response",
        ),
        warc_record(
            "response",
            "<urn:uuid:404>",
            "https://example.org/missing",
            http_response(b"<html><body>Not found</body></html>", "text/html", status="404 Not Found"),
            "application/http; msgtype=response",
        ),
        warc_record(
            "response",
            pages[1][0],
            pages[1][1],
            http_response(second.encode("latin-1"), "text/html; charset=iso-8859-1"),
            "application/http; msgtype=response",
        ),
    ]
    path.write_bytes(b"".join(gzip.compress(record) for record in records))
    return pages


def write_jsonl(path: Path, seeds: range) -> list[str]:
    """Page records ``{"id", "html"}`` plus a text record; returns their ids in order."""
    ids = []
    with open(path, "w", encoding="utf-8") as stream:
        for seed in seeds:
            ids.append(f"rec-{seed}")
            stream.write(json.dumps({"id": ids[-1], "html": make_page(seed)[0], "url": f"https://x.org/{seed}"}) + "\n")
        ids.append("rec-text")
        stream.write(json.dumps({"id": "rec-text", "text": TEXT_PAGE}) + "\n")
    return ids


def write_tree(root: Path, pages: int = 6) -> list[Path]:
    """Page files in nested folders (plain, gzip-compressed, plain text); returns them in walk order."""
    written = []
    for i in range(pages):
        folder = root / f"site{i % 2}" / ("deep" if i % 3 == 0 else "")
        folder.mkdir(parents=True, exist_ok=True)
        html = make_page(200 + i)[0].encode("utf-8")
        if i == 4:
            path = folder / f"page{i}.html.gz"
            path.write_bytes(gzip.compress(html))
        elif i == 5:
            path = folder / f"page{i}.txt"
            path.write_text(TEXT_PAGE, encoding="utf-8")
        else:
            path = folder / f"page{i}.html"
            path.write_bytes(html)
        written.append(path)
    (root / ".hidden.html").write_text("<p>skipped</p>")
    (root / "notes.bin").write_bytes(b"\x00\x01")
    return sorted(written, key=lambda p: p.relative_to(root).parts)
