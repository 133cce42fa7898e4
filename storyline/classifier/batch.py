"""Running a batch: results into a sink in input order, with a progress bar, error lines and a summary.

Kept apart from the command line so that the loop that every output format shares is one small piece:
the sink decides the format, this decides what the person at the terminal sees (a progress bar only
when standard error is a terminal; one line per failed page; a summary line at the end).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from storyline.classifier.prediction import PageResult
from storyline.classifier.sinks import Sink
from storyline.classifier.sources import PageInput, resolve


@dataclass
class Tally:
    """What a batch did: pages written, how many failed, how many a resumed run skipped, and its time."""

    pages: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{self.pages} pages", f"{self.failed} failed"]
        if self.skipped:
            parts.append(f"{self.skipped} already done")
        rate = f" ({self.pages / self.seconds:.1f} pages/s)" if self.seconds > 0 and self.pages else ""
        return ", ".join(parts) + f" in {self.seconds:.1f} s{rate}"


def skip_done(items: Iterable[PageInput], sink: Sink, tally: Tally) -> Iterator[PageInput]:
    """The items a resumed run still has to do (``sink.done`` knows the others), counting the skipped."""
    for item in items:
        item = resolve(item)  # a deferred record's source is only known once parsed
        if sink.done(item):
            tally.skipped += 1
        else:
            yield item


class Interrupted(Exception):
    """The batch was stopped by a signal; the message tells what was kept."""


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (a scheduler stopping the job) like Ctrl-C, so partial output is kept for --resume."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_batch(
    results: Iterable[PageResult],
    sink: Sink,
    tally: Tally,
    say: Callable[[str], None],
    progress: bool = False,
) -> Tally:
    """Write every result to ``sink``; failures are counted and told through ``say``, a line each.

    On Ctrl-C or SIGTERM the sink keeps what can be resumed and ``Interrupted`` is raised.
    """
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="storyline", unit="page", file=sys.stderr, leave=False, dynamic_ncols=True)
        bar.set_postfix_str("0 errors")

    def tell(message: str) -> None:
        if bar is not None:
            bar.clear()
        say(message)
        if bar is not None:
            bar.refresh()

    start = time.perf_counter()
    try:
        with terminate_as_interrupt():
            for result in results:
                tally.pages += 1
                problem = sink.write(result)
                if result.error is not None or problem is not None:
                    tally.failed += 1
                    message = result.error or problem or ""
                    tell(message if message.startswith(result.source) else f"{result.source}: {message}")
                    if bar is not None:
                        bar.set_postfix_str(f"{tally.failed} errors", refresh=False)
                if bar is not None:
                    bar.update()
    except KeyboardInterrupt:
        tally.seconds = time.perf_counter() - start
        kept = sink.abort()
        raise Interrupted(f"interrupted after {tally.pages} pages" + (f"; {kept}" if kept else "")) from None
    except BaseException:
        sink.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
        close = getattr(results, "close", None)
        if close is not None:  # a generator over a worker pool: stop the workers now, not at exit
            close()
    sink.finish()
    tally.seconds = time.perf_counter() - start
    return tally
