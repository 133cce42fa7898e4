"""Worker processes that predict pages for one batch, in input order, each holding the model once.

Why not joblib or ``multiprocessing.Pool``: neither can stop one task. A page that hangs, in Python or in
C, must cost that page and not the batch, so each worker has a pipe of its own, the pool knows which
page each worker is on and since when, and it kills and replaces a worker whose page overruns the
time limit (or that dies on a page); that page becomes an error result and the batch goes on.

A worker holds two pages, the one it predicts and the next, so it never waits for the pool between two
pages; a thread per worker sends the large ones, so the pool never waits on a busy worker's pipe (a small
message, such as a page file's path or a JSONL record's offset, is written at once: it always fits).
Pages are drawn from the input only as workers free up, and at most ``window`` results wait for an
earlier, slower page: memory stays flat whatever the batch size.

Workers start from a fork server that has imported storyline once (``forkserver``, the default start
method from Python 3.14; ``spawn`` where there is none), so a worker starts in milliseconds and never
inherits the caller's threads or open files.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import pickle
import queue
import select
import signal
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import fields, replace
from multiprocessing.connection import Connection, wait
from typing import Any

from storyline.classifier.model import StoryModel
from storyline.classifier.prediction import Options, PageResult, error_result, predict_page, timeout_message
from storyline.classifier.sources import PageInput, resolve

#: Seconds a new worker may take to import storyline and build its model.
START_TIMEOUT = 120.0


class PoolError(RuntimeError):
    """The worker processes cannot run (they fail to start); the message says so in one line."""


def _context() -> Any:
    if "forkserver" in mp.get_all_start_methods():
        context = mp.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return mp.get_context("spawn")


#: The fields of a result, in order: a worker sends their values, cheaper to unpickle than the dataclass.
_RESULT_FIELDS = tuple(field.name for field in fields(PageResult))


def _dumps(message: Any) -> bytes:
    """A message for a pipe (read with ``Connection.recv``): plain pickle, none of the objects sent need
    ``multiprocessing``'s reducers (whose pickler costs a dispatch table copy a message)."""
    return pickle.dumps(message, pickle.HIGHEST_PROTOCOL)


def _readable(conns: list[Connection], timeout: float | None) -> list[Connection]:
    """The connections with something to read (a message, or the end of a dead worker's pipe)."""
    if not hasattr(select, "poll"):
        return wait(conns, timeout)  # type: ignore[return-value]
    poller = select.poll()
    by_fd = {}
    for conn in conns:
        by_fd[conn.fileno()] = conn
        poller.register(conn.fileno(), select.POLLIN)
    events = poller.poll(None if timeout is None else math.ceil(timeout * 1000))
    return [by_fd[fd] for fd, _ in events]


@contextlib.contextmanager
def _without_main() -> Iterator[None]:
    """Hide the caller's ``__main__`` while a worker starts.

    ``multiprocessing`` re-runs the parent's main script in each new process so that functions defined
    there can be unpickled; ours live in this module, and the main script may be a notebook, standard
    input or a program without an ``if __name__ == "__main__"`` guard, so it must not run again.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _serve(conn: Connection, spec: dict[str, Any], options: Options) -> None:
    """A worker's life: build the model once, then answer pages until told to stop or the pipe closes."""
    # Ctrl-C and SIGTERM (sent to the whole process group by a terminal or a job scheduler) are the
    # parent's to handle: it keeps what is done and stops us; dying first would fail the pages we hold.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    model = StoryModel.from_dict(spec)
    conn.send("ready")
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, item = message
        result = predict_page(model, item, options)
        try:
            conn.send_bytes(_dumps((index, [getattr(result, name) for name in _RESULT_FIELDS])))
        except (EOFError, OSError):
            return


#: Pages a worker holds at once: the one it predicts and the next, so that it never waits for the pool.
DEPTH = 2
#: Largest message written to a worker's pipe by the pool itself: ``DEPTH`` of them fit in the smallest
#: pipe buffer (a 4 KiB page), so the write never blocks, whatever the worker does.
INLINE_BYTES = 1024
_QUIT = object()


class _Worker:
    """One worker process, its end of the pipe, and the pages it holds (since when it is on the first).

    Large pages are sent by a thread of this process, so that the pool never blocks on a busy worker's
    pipe (a page larger than the pipe's buffer waits there until the worker reads it); a small message
    is written directly when the thread has nothing left to send (so that messages keep their order).
    """

    def __init__(self, context: Any, spec: dict[str, Any], options: Options) -> None:
        parent, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(child, spec, options), daemon=True)
        with _without_main():
            self.process.start()
        child.close()  # our copy: the pipe must report EOF when the worker dies
        self.conn: Connection = parent
        self.pending: deque[tuple[int, PageInput]] = deque()
        self.since = 0.0
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_all, name="storyline-sender", daemon=True)
        self._handed = 0  # messages given to the sender thread (counted by this thread only)
        self._written = 0  # messages the sender thread has written (counted by it only)

    def _send_all(self) -> None:
        while True:
            message = self._outbox.get()
            if message is _QUIT:
                return
            try:
                self.conn.send_bytes(message)
            except (OSError, ValueError):  # the worker is gone: the pool sees its pipe close
                return
            self._written += 1

    def _deliver(self, message: Any) -> None:
        data = _dumps(message)
        if len(data) <= INLINE_BYTES and self._handed == self._written:
            with contextlib.suppress(OSError, ValueError):  # the worker is gone: the pool sees its pipe close
                self.conn.send_bytes(data)
            return
        self._handed += 1
        self._outbox.put(data)

    def ready(self) -> None:
        """Wait until the worker has built its model; raise ``PoolError`` if it dies or hangs first."""
        try:
            if self.conn.poll(START_TIMEOUT) and self.conn.recv() == "ready":
                self._sender.start()
                return
        except (EOFError, OSError):
            pass
        code = self.stop(kill=True)
        raise PoolError(f"a worker process failed to start (exit code {code}); its error is above")

    def send(self, index: int, item: PageInput) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append((index, item))
        self._deliver((index, item))

    def received(self) -> tuple[int, PageInput]:
        """Drop the first page held (its result came); the next one started now."""
        done = self.pending.popleft()
        self.since = time.monotonic()
        return done

    def stop(self, kill: bool = False) -> int | None:
        """End the process (politely unless ``kill``) and return its exit code."""
        if not kill and self._sender.is_alive():
            self._deliver(None)  # the worker's signal to stop, after the pages before it
            self.process.join(2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2.0)
        self._outbox.put(_QUIT)
        if self._sender.is_alive():
            self._sender.join(2.0)
        self.conn.close()
        return self.process.exitcode


class PagePool:
    """``jobs`` worker processes predicting with ``model``; use as a context manager around ``imap``."""

    def __init__(
        self, model: StoryModel, options: Options | None = None, jobs: int = 2, window: int | None = None
    ) -> None:
        self.options = options or Options()
        self.timeout = self.options.timeout
        self.window = window or max(64, 32 * jobs)
        self._spec = model.to_dict()
        self._worker_options = replace(self.options, timeout=None)  # the pool enforces the time limit
        self._context = _context()
        self.workers: list[_Worker] = []
        self.restarts = 0
        try:
            self.workers = [_Worker(self._context, self._spec, self._worker_options) for _ in range(max(1, jobs))]
            for worker in self.workers:
                worker.ready()
        except BaseException:
            self.close(kill=True)
            raise

    def _start(self) -> _Worker:
        worker = _Worker(self._context, self._spec, self._worker_options)
        worker.ready()
        return worker

    def __enter__(self) -> PagePool:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        self.close(kill=error is not None)

    def close(self, kill: bool = False) -> None:
        workers, self.workers = self.workers, []
        for worker in workers:
            worker.stop(kill=kill)

    def _replace(self, worker: _Worker, failed: PageResult, ready: dict[int, PageResult]) -> None:
        """Stop a worker whose first page failed it (``failed``); a fresh one takes the pages it held."""
        worker.stop(kill=True)
        index, _ = worker.pending.popleft()
        ready[index] = failed
        self.restarts += 1
        fresh = self._start()
        self.workers[self.workers.index(worker)] = fresh
        for index, item in worker.pending:
            fresh.send(index, item)

    def _free(self) -> _Worker | None:
        """The worker holding the fewest pages, if it can take one more."""
        worker = min(self.workers, key=lambda w: len(w.pending))
        return worker if len(worker.pending) < DEPTH else None

    def imap(self, items: Iterable[PageInput]) -> Iterator[PageResult]:
        """The result of each item, in input order."""
        source = iter(items)
        exhausted = False
        issued = emitted = 0
        ready: dict[int, PageResult] = {}
        while True:
            while not exhausted and issued - emitted < self.window:
                worker = self._free()
                if worker is None:
                    break
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                if item.error is not None:  # nothing to predict: no need for a worker
                    ready[issued] = error_result(item, item.error)
                else:
                    worker.send(issued, item)
                issued += 1
            while emitted in ready:
                yield ready.pop(emitted)
                emitted += 1
            if exhausted and emitted == issued:
                return
            if any(worker.pending for worker in self.workers):
                self._gather(ready)

    def _gather(self, ready: dict[int, PageResult]) -> None:
        """Wait for a result or the next deadline; collect results, replace dead and overdue workers."""
        busy = [worker for worker in self.workers if worker.pending]
        wait_for = None
        if self.timeout:
            wait_for = max(0.0, min(worker.since for worker in busy) + self.timeout - time.monotonic())
        for conn in _readable([worker.conn for worker in busy], wait_for):
            worker = next(w for w in busy if w.conn is conn)
            try:
                index, values = worker.conn.recv()
            except (EOFError, OSError):
                worker.process.join(1.0)  # it is dying: let it finish, to tell how
                message = f"worker process died on this page (exit code {worker.process.exitcode})"
                self._replace(worker, error_result(resolve(worker.pending[0][1]), message), ready)
                continue
            done, _ = worker.received()
            assert done == index, "a worker answered out of order"
            ready[index] = PageResult(*values)
        if self.timeout:
            now = time.monotonic()
            for worker in busy:
                if worker in self.workers and worker.pending and now - worker.since >= self.timeout:
                    item = resolve(worker.pending[0][1])
                    self._replace(worker, error_result(item, timeout_message(self.timeout)), ready)
