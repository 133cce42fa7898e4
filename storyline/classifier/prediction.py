"""Batch prediction: page inputs in, one result per page out, in input order.

A page that cannot be read, is over a limit (``max_bytes``, ``timeout``) or trips a bug becomes an error
result, never an exception: in a batch of millions one bad page must cost that page, not the run.
``predict_results`` runs in this process (``jobs=1``) or on a pool of worker processes (see ``pool``);
the results are the same either way.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from storyline.classifier.model import ScoredLine, StoryModel
from storyline.classifier.page import Page
from storyline.classifier.reading import ReadError, sniff_kind
from storyline.classifier.segment import segment
from storyline.classifier.sources import PageInput, load_content, resolve

#: Largest page read by default (10 MiB): a 40 MB page would take some 20 s and 2 to 5 GB. Real pages
#: stay far below it (the largest of the shared data sets: 5.3 MB).
DEFAULT_MAX_BYTES = 10 << 20
#: Most lines a page may have: memory grows by some 7 KB a line (its feature rows), so 100,000 lines
#: cost about 0.75 GB. Real pages have a few thousand at most (the largest shared page: 2,641).
MAX_LINES = 100_000


@dataclass(frozen=True, slots=True)
class Options:
    """How each page is predicted; plain values, so that it travels to worker processes."""

    threshold: float | None = None
    with_lines: bool = False
    max_bytes: int | None = DEFAULT_MAX_BYTES
    timeout: float | None = None
    explain: bool = False
    """Add each line's feature contributions to its record (implies ``with_lines``)."""
    max_lines: int | None = MAX_LINES
    """A page of more lines is an error result (memory grows with lines, see ``MAX_LINES``)."""


@dataclass(frozen=True, slots=True)
class PageResult:
    """The outcome of one page: its story ``text`` (and scored ``lines`` if asked), or an ``error``."""

    source: str
    text: str | None = None
    error: str | None = None
    lines: tuple[ScoredLine, ...] | None = None
    url: str | None = None
    name: str | None = None
    """The input's output name under ``--output-dir`` (see ``PageInput.name``)."""
    explanations: tuple[dict[str, Any], ...] | None = None
    """Per line, its feature contributions (``Options.explain``; see ``explain.PageExplanation.line_dict``)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    def record(self) -> dict[str, Any]:
        """The JSONL record: ``{"source", "text"}`` (plus ``url``, ``lines``) or ``{"source", "error"}``."""
        out: dict[str, Any] = {"source": self.source}
        if self.url is not None:
            out["url"] = self.url
        if self.error is not None:
            out["error"] = self.error
            return out
        out["text"] = self.text
        if self.lines is not None:
            out["lines"] = [{"text": l.text, "p_story": round(l.p_story, 4), "story": l.story} for l in self.lines]
            if self.explanations is not None:
                for line, explanation in zip(out["lines"], self.explanations, strict=True):
                    line["contributions"] = explanation
        return out


def error_result(item: PageInput, message: str) -> PageResult:
    return PageResult(item.source, error=message, url=item.url, name=item.name)


class PageTimeout(Exception):
    """A page took longer than the per-page time limit."""


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise ``PageTimeout`` in the block once ``seconds`` have passed (main thread, POSIX; else no limit).

    Worker processes do not need this: the pool kills a worker whose page overruns, which also stops
    a hang inside C code.
    """
    if not seconds or not _can_alarm():
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise PageTimeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timeout_message(seconds: float) -> str:
    return f"timeout: took more than {seconds:g} s"


# Where plain text breaks lines (``str.splitlines``, less the control characters ``segment`` drops).
_LINE_BREAKS = re.compile("\r\n|[\n\r\f\x85\u2028\u2029]")


def _check_text_lines(content: str, item: PageInput, max_lines: int) -> None:
    """Refuse a plain-text page of far too many lines before segmenting it: 10 MB of ``x\\n`` is 5 million
    lines, 15 s and 1.8 GB of ``Line`` objects before the line limit could tell."""
    if len(content) > 2 * max_lines and (item.kind or sniff_kind(content, item.source or None)) == "text":
        breaks = len(_LINE_BREAKS.findall(content))
        if breaks > 2 * max_lines:  # blank lines are no lines: half of them may be
            raise ReadError(f"{item.source}: {breaks:,} lines of text, more than the limit of {max_lines:,}")


def _predict(model: StoryModel, item: PageInput, options: Options) -> PageResult:
    content = load_content(item, options.max_bytes)
    if options.max_lines is not None and isinstance(content, str):
        _check_text_lines(content, item, options.max_lines)
    page = segment(content, item.kind, item.source)
    if options.max_lines is not None and len(page.lines) > options.max_lines:
        raise ReadError(f"{item.source}: {len(page.lines):,} lines, more than the limit of {options.max_lines:,}")
    lines = model.predict_lines(page, threshold=options.threshold)
    text = "\n".join(line.text for line in lines if line.story)
    explanations = None
    if options.explain:
        from storyline.classifier.explain import explain_page

        explained = explain_page(model, page, options.threshold)
        explanations = tuple(explained.line_dict(i) for i in range(len(lines)))
    with_lines = options.with_lines or options.explain
    return PageResult(item.source, text, None, tuple(lines) if with_lines else None, item.url, item.name, explanations)


def predict_page(model: StoryModel, item: PageInput, options: Options | None = None) -> PageResult:
    """The result of one input; every failure, a bug included, becomes an error result."""
    options = options or Options()
    item = resolve(item)  # a deferred JSONL record is parsed here, in the process that predicts it
    if item.error is not None:
        return error_result(item, item.error)
    try:
        with deadline(options.timeout):
            return _predict(model, item, options)
    except PageTimeout:
        return error_result(item, timeout_message(options.timeout or 0))
    except ReadError as error:
        return error_result(item, str(error))
    except (ValueError, RecursionError, MemoryError, UnicodeError) as error:
        return error_result(item, f"{type(error).__name__}: {error}")
    except Exception as error:  # a bug must cost one page, not the batch; the type name tells it apart
        return error_result(item, f"internal error {type(error).__name__}: {error}")


def predict_record(
    model: StoryModel, item: PageInput, threshold: float | None = None, with_lines: bool = False
) -> dict[str, Any]:
    """The result record of one input: ``{"source", "text"}`` (plus ``lines``) or ``{"source", "error"}``."""
    return predict_page(model, item, Options(threshold, with_lines)).record()


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def resolve_jobs(jobs: int | None) -> int:
    """Worker count: ``None`` or -1 = every core, -2 = all but one (joblib's convention), N >= 1 = N."""
    cores = available_cores()
    if jobs is None:
        return cores
    if jobs == 0:
        raise ValueError("jobs must be a positive number of processes, or negative to count back from all cores")
    return jobs if jobs > 0 else max(1, cores + 1 + jobs)


#: With ``jobs=None``, a batch of fewer pages than this runs in this process: starting workers costs more.
AUTO_MIN_PAGES = 64


def _in_process(model: StoryModel, items: Iterable[PageInput], options: Options) -> Iterator[PageResult]:
    for item in items:
        yield predict_page(model, item, options)


def predict_results(
    model: StoryModel, items: Iterable[PageInput], options: Options | None = None, jobs: int | None = 1
) -> Iterator[PageResult]:
    """Results of ``items``, one each, in order, on ``jobs`` worker processes (1: in this process).

    ``jobs=None`` means every core, but only once the batch proves longer than ``AUTO_MIN_PAGES``: one
    page (``storyline predict page.html``) is not worth starting workers for. Items are drawn only as
    workers free up, so a stream of any length keeps memory flat.
    """
    options = options or Options()
    workers = resolve_jobs(jobs)
    source = iter(items)
    if workers > 1 and jobs is None:
        head = list(itertools.islice(source, AUTO_MIN_PAGES))
        if len(head) < AUTO_MIN_PAGES:
            workers = 1
        source = itertools.chain(head, source)
    if workers == 1:
        yield from _in_process(model, source, options)
        return
    from storyline.classifier.pool import PagePool

    with PagePool(model, options, workers) as pool:
        yield from pool.imap(source)


def predict_records(
    model: StoryModel,
    items: Iterable[PageInput],
    threshold: float | None = None,
    with_lines: bool = False,
) -> Iterator[dict[str, Any]]:
    """Result records of ``items``, one each, in order (in this process)."""
    for result in predict_results(model, items, Options(threshold, with_lines)):
        yield result.record()


def as_input(page: str | bytes | Page | PageInput, index: int) -> PageInput:
    """A library caller's page as a ``PageInput``; its source is its position unless it names one."""
    if isinstance(page, PageInput):
        return page
    if isinstance(page, Page):
        return PageInput(page.source or str(index), page, page.kind)
    if isinstance(page, (str, bytes)):
        return PageInput(str(index), page)
    return PageInput(str(index), error=f"a page is str, bytes, Page or PageInput, not {type(page).__name__}")


def predict_many(
    model: StoryModel,
    pages: Iterable[str | bytes | Page | PageInput],
    jobs: int | None = 1,
    threshold: float | None = None,
    with_lines: bool = False,
    timeout: float | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> Iterator[PageResult]:
    """A ``PageResult`` per page of ``pages``, in input order (see ``StoryModel.predict_many``)."""
    items = (as_input(page, index) for index, page in enumerate(pages))
    yield from predict_results(model, items, Options(threshold, with_lines, max_bytes, timeout), jobs)
