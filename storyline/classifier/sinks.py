"""Where batch results go: text or JSONL on a stream or file, a Parquet file, or a folder of ``.txt`` files.

A file is written under a temporary name beside its target and renamed into place when the run
completes, so a reader never sees half a file. An interrupted run keeps that temporary file
(``.NAME.partial``) and ``--resume`` continues from it: a resumed sink knows the sources already
written (``done``) and copies their records into the new file before appending the rest.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from storyline.classifier.prediction import PageResult
from storyline.classifier.sources import PageInput, safe_name


class SinkError(ValueError):
    """An output that cannot be written or resumed; the message says why in one line."""


class Sink:
    """Takes results in input order; ``finish`` commits them, ``abort`` keeps what can be resumed."""

    def done(self, item: PageInput) -> bool:
        """Whether a resumed run already holds this input's result (only asked when resuming)."""
        return False

    def write(self, result: PageResult) -> str | None:
        """Write one result; return a one-line message if it could not be kept."""
        raise NotImplementedError

    def finish(self) -> None:
        pass

    def abort(self) -> str | None:
        """After an interruption: what was kept, if anything, as a message for the user."""
        return None


def partial_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial")


def _check_folder(target: Path) -> None:
    if not target.parent.is_dir():
        raise SinkError(f"{target}: the folder {target.parent} does not exist")


class TextSink(Sink):
    """Story text: one page as is, several each under a ``==> source <==`` header (like ``tail``)."""

    def __init__(self, stream: IO[str], several: bool) -> None:
        self.stream = stream
        self.several = several
        self.count = 0

    def write(self, result: PageResult) -> str | None:
        if result.error is not None:
            return None
        text = result.text or ""
        if self.several:
            _write(self.stream, ("\n" if self.count else "") + f"==> {result.source} <==\n")
        elif self.count:
            self.stream.write("\n")
        _write(self.stream, text + ("\n" if text else ""))
        self.count += 1
        return None


class JsonlSink(Sink):
    """One JSON object a line, ``{"source", "text"}`` or ``{"source", "error"}``."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, result: PageResult) -> str | None:
        _write(self.stream, json.dumps(result.record(), ensure_ascii=False) + "\n")
        return None


def _complete_records(path: Path) -> Iterator[tuple[str, str]]:
    """``(source, line)`` of each complete JSONL record of a file (an interrupted write may leave half a
    last line, which is dropped: that page is predicted again)."""
    with open(path, encoding="utf-8", errors="replace") as stream:
        for line in stream:
            if not line.endswith("\n"):
                return
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "source" in record:
                yield str(record["source"]), line


def _write(stream: IO[str], text: str) -> None:
    """Write text; a lone surrogate (from a JSON escape in the input) becomes U+FFFD, not a crash."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        stream.write(text.encode("utf-8", "replace").decode("utf-8"))


class FileSink(Sink):
    """A text or JSONL sink on a file: written as ``.NAME.partial``, renamed to ``NAME`` when complete."""

    def __init__(self, target: str, fmt: str, several: bool, resume: bool = False) -> None:
        self.target = Path(target)
        _check_folder(self.target)
        self.partial = partial_path(self.target)
        self.sources: set[str] = set()
        fresh = self.partial.with_name(self.partial.name + ".new")
        self.stream = open(fresh, "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            if resume:  # the records of the earlier run(s), streamed into the new file
                for path in (self.target, self.partial):
                    if path.is_file():
                        for source, line in _complete_records(path):
                            if source not in self.sources:
                                self.sources.add(source)
                                self.stream.write(line)
        except OSError as error:
            self.stream.close()
            fresh.unlink(missing_ok=True)
            raise SinkError(f"cannot resume from {self.target} ({error.strerror or error})") from None
        os.replace(fresh, self.partial)
        self.inner: Sink = JsonlSink(self.stream) if fmt == "jsonl" else TextSink(self.stream, several)

    def done(self, item: PageInput) -> bool:
        return item.source in self.sources

    def write(self, result: PageResult) -> str | None:
        problem = self.inner.write(result)
        self.stream.flush()  # a record a write: a killed run keeps every page done (a syscall, ~5 µs)
        return problem

    def finish(self) -> None:
        self.stream.close()
        os.replace(self.partial, self.target)

    def abort(self) -> str | None:
        self.stream.close()
        if isinstance(self.inner, JsonlSink):
            return f"results so far are in {self.partial}: run again with --resume to go on"
        self.partial.unlink(missing_ok=True)
        return None


class DirSink(Sink):
    """One ``NAME.txt`` per page under a folder, mirroring the inputs' tree; ``NAME.error`` for a failure."""

    def __init__(self, root: str, resume: bool = False) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise SinkError(f"{root}: exists and is not a folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SinkError(f"{root}: cannot create the folder ({error.strerror or error})") from None
        self.resume = resume
        self.written: set[str] = set()

    def _base(self, name: str | None, source: str) -> Path:
        return self.root / (name or safe_name(source))

    def done(self, item: PageInput) -> bool:
        base = self._base(item.name, item.source)
        return base.with_name(base.name + ".txt").exists() or base.with_name(base.name + ".error").exists()

    def write(self, result: PageResult) -> str | None:
        base = self._base(result.name, result.source)
        key = str(base)
        if key in self.written:
            return f"{result.source}: its output name {base}.txt is taken by an earlier input of this run"
        self.written.add(key)
        ok = result.error is None
        target = base.with_name(base.name + (".txt" if ok else ".error"))
        other = base.with_name(base.name + (".error" if ok else ".txt"))
        body = (result.text or "") if ok else (result.error or "") + "\n"
        if ok and body:
            body += "\n"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_text(body, encoding="utf-8", errors="surrogateescape")
            os.replace(tmp, target)
            other.unlink(missing_ok=True)
        except OSError as error:
            return f"{result.source}: cannot write {target} ({error.strerror or error})"
        return None


PARQUET_MISSING = "--format parquet needs pyarrow: pip install 'storyline[parquet]'"
ROW_GROUP = 1000


def _parquet_schema(with_lines: bool) -> Any:
    import pyarrow as pa

    fields = [
        pa.field("source", pa.string()),
        pa.field("url", pa.string()),
        pa.field("text", pa.string()),
        pa.field("error", pa.string()),
    ]
    if with_lines:
        line = pa.struct([("text", pa.string()), ("p_story", pa.float32()), ("story", pa.bool_())])
        fields.append(pa.field("lines", pa.list_(line)))
    return pa.schema(fields)


class ParquetSink(Sink):
    """Columns ``source``, ``url``, ``text``, ``error`` (and ``lines``), a row group per 1,000 pages."""

    def __init__(self, target: str, with_lines: bool, resume: bool = False) -> None:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise SinkError(PARQUET_MISSING) from None
        self.target = Path(target)
        _check_folder(self.target)
        self.partial = partial_path(self.target)
        self.with_lines = with_lines
        self.schema = _parquet_schema(with_lines)
        self.sources: set[str] = set()
        fresh = self.partial.with_name(self.partial.name + ".new")
        self.writer = pq.ParquetWriter(fresh, self.schema)
        try:
            if resume:
                for path in (self.target, self.partial):
                    if path.is_file():
                        self._copy(path)
        except SinkError:
            self.writer.close()
            fresh.unlink(missing_ok=True)
            raise
        os.replace(fresh, self.partial)
        self.rows: list[dict[str, Any]] = []

    def _copy(self, path: Path) -> None:
        """Stream the rows of an earlier run's file into the new one, a batch at a time."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
            if not parquet.schema_arrow.equals(self.schema):
                raise SinkError(f"{path}: cannot resume: written with other columns (--with-lines differs?)")
            for batch in parquet.iter_batches(batch_size=ROW_GROUP):
                sources = batch.column("source").to_pylist()
                keep = [i for i, source in enumerate(sources) if source not in self.sources]
                self.sources.update(sources)
                if keep:
                    self.writer.write_batch(batch.take(pa.array(keep)))
        except SinkError:
            raise
        except Exception as error:  # pyarrow raises several types for a damaged file
            raise SinkError(f"{path}: cannot resume from it ({error})") from None

    def done(self, item: PageInput) -> bool:
        return item.source in self.sources

    def write(self, result: PageResult) -> str | None:
        row: dict[str, Any] = {"source": result.source, "url": result.url, "text": result.text, "error": result.error}
        if self.with_lines:
            row["lines"] = (
                None
                if result.lines is None
                else [{"text": l.text, "p_story": l.p_story, "story": l.story} for l in result.lines]
            )
        self.rows.append(row)
        if len(self.rows) >= ROW_GROUP:
            self._flush()
        return None

    def _flush(self) -> None:
        import pyarrow as pa

        if self.rows:
            self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def finish(self) -> None:
        self._flush()
        self.writer.close()
        os.replace(self.partial, self.target)

    def abort(self) -> str | None:
        self._flush()
        self.writer.close()  # writes the footer: the partial file is a valid Parquet file to resume from
        return f"results so far are in {self.partial}: run again with --resume to go on"


def open_sink(
    fmt: str,
    output: str | None,
    output_dir: str | None,
    several: bool,
    with_lines: bool = False,
    resume: bool = False,
) -> Sink:
    """The sink for the command line's output options (checked by the caller for consistency)."""
    if output_dir is not None:
        return DirSink(output_dir, resume)
    if fmt == "parquet":
        assert output is not None
        return ParquetSink(output, with_lines, resume)
    if output is None or output == "-":
        return JsonlSink(sys.stdout) if fmt == "jsonl" else TextSink(sys.stdout, several)
    return FileSink(output, fmt, several, resume)
