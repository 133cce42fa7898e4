"""The HTML pages of a WARC archive (plain or gzip-compressed), read record by record with FastWARC.

Only ``response`` records with a 2xx HTTP status and an HTML payload are pages; requests, metadata,
images and redirects are not, and are passed over. Each page is keyed by its ``WARC-Record-ID`` (the
output record's ``source``) and carries its ``WARC-Target-URI`` (``url``) and the charset its HTTP
header declared. Payloads are un-chunked and decompressed (``Content-Encoding``) by FastWARC.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

from storyline.classifier.sources import PageInput, safe_name

HTML_TYPES = ("text/html", "application/xhtml+xml")
MISSING = "reading WARC archives needs FastWARC: pip install 'storyline[warc]'"


class _Forward(io.RawIOBase):
    """A pipe as FastWARC wants a stream: it asks where it is (``tell``), which a pipe cannot answer."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset + (self._position if whence == io.SEEK_CUR else 0)
        if whence == io.SEEK_END or target < self._position:
            raise io.UnsupportedOperation("a pipe only reads forward")
        while self._position < target and self.read(min(1 << 16, target - self._position)):
            pass
        return self._position


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def _content_type(record: Any) -> str:
    declared = record.http_content_type or record.headers.get("WARC-Identified-Payload-Type") or ""
    return str(declared).split(";", 1)[0].strip().lower()


def _is_html_response(record: Any, response_type: Any) -> bool:
    if record.record_type != response_type or not record.is_http:
        return False
    status = record.http_headers.status_code if record.http_headers is not None else None
    return status is not None and 200 <= int(status) < 300 and _content_type(record) in HTML_TYPES


def warc_inputs(
    stream: str | IO[bytes], shown: str, container: str, kind: str | None = None, max_bytes: int | None = None
) -> Iterator[PageInput]:
    """The HTML pages of a WARC archive (a path or a binary stream), in archive order.

    A damaged archive ends with one error record naming where it broke; a file with no WARC record at
    all is one error record, so that a mistaken input never passes silently.
    """
    try:
        from fastwarc.warc import ArchiveIterator, WarcRecordType
    except ImportError:
        yield PageInput(shown, error=f"{shown}: {MISSING}", name=container)
        return
    if isinstance(stream, str):
        try:
            with open(stream, "rb") as opened:
                yield from warc_inputs(opened, shown, container, kind, max_bytes)
        except OSError as error:
            yield PageInput(shown, error=f"{shown}: {error.strerror or error}", name=container)
        return
    if not _seekable(stream):
        stream = io.BufferedReader(_Forward(stream))
    records = 0
    try:
        archive = ArchiveIterator(stream, parse_http=True, auto_decode="all")
        for record in archive:
            records += 1
            if not _is_html_response(record, WarcRecordType.response):
                continue
            record_id = str(record.record_id or f"{shown}:{records}")
            uri = record.headers.get("WARC-Target-URI")
            name = f"{container}/{safe_name(record_id)}"
            payload = record.reader.read(-1 if max_bytes is None else max_bytes + 1)
            if max_bytes is not None and len(payload) > max_bytes:
                yield PageInput(record_id, error=f"{record_id}: larger than {max_bytes} bytes", name=name, url=uri)
                continue
            yield PageInput(record_id, bytes(payload), kind or "html", name=name, url=uri, charset=record.http_charset)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as error:  # OSError for a damaged archive; FastWARC's Rust panics are BaseException
        where = "no WARC record" if records == 0 else f"record {records}"
        yield PageInput(shown, error=f"{shown}: not a readable WARC archive at {where} ({error})", name=container)
        return
    if records == 0:
        yield PageInput(shown, error=f"{shown}: no WARC record (empty, or not a WARC archive)", name=container)
