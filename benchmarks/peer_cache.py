"""Run every peer extractor over the benchmark sets once and cache what each one extracted.

The peers are slow (goose3 and readability manage some 15 pages/s) and they do not change between two
runs of storyline's quality benchmark, so their outputs are kept in
``benchmarks/.cache/peers/<set>/<peer>.jsonl.gz``, one record per page: ``id``, ``text``, ``seconds``
(time inside the peer's call, import and warm-up excluded), ``error`` (None when fine) and ``version``
(package version + adapter revision). A rerun only does the pages missing for the current version.

Each page runs in one worker process that is killed after ``--timeout`` seconds, so a page that hangs a
peer costs that page, not the run. Use one worker and a low priority; the machine is shared::

    nice -n 10 python benchmarks/peer_cache.py [--sets wcxb dragnet] [--peers trafilatura goose3]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import logging
import multiprocessing
import os
import resource
import sys
import time
import warnings
from collections.abc import Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench_sets import ALL_SETS, benchmark_pages, page_languages
from peers import PEERS, cache_key, peer_versions, run_peer

CACHE_ROOT = Path(__file__).resolve().parent / ".cache" / "peers"
_WARM_UP_HTML = "<html><head><title>t</title></head><body><p>A short warm-up paragraph.</p></body></html>"


def cache_path(set_name: str, peer: str, root: Path = CACHE_ROOT) -> Path:
    return root / set_name / f"{peer}.jsonl.gz"


def _read_records(path: Path) -> Iterable[dict[str, Any]]:
    """Records of a cache file, tolerating a tail cut off by an interrupted run."""
    if not path.is_file():
        return
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            for line in stream:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    return  # a half-written last line
    except (EOFError, OSError, gzip.BadGzipFile):
        return


def load_cache(
    set_name: str, peer: str, version: str | None = None, root: Path = CACHE_ROOT
) -> dict[str, dict[str, Any]]:
    """Cached outputs of one peer on one set, by page id; only those of ``version`` when given.

    ``version`` is the cache key of :func:`peers.cache_key`. The quality benchmark reads peers this way.
    """
    records: dict[str, dict[str, Any]] = {}
    for record in _read_records(cache_path(set_name, peer, root)):
        if version is None or record.get("version") == version:
            records[str(record["id"])] = record
    return records


def _rewrite(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Replace a cache file by ``records`` (drops stale versions and a broken tail)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with gzip.open(temporary, "wt", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    temporary.replace(path)


# --- the worker process --------------------------------------------------------------------------------


def _serve(connection: Connection, memory_bytes: int) -> None:
    """Worker loop: run (peer, html, lang) requests and answer (text, seconds, error)."""
    if memory_bytes > 0:  # a runaway page then fails with MemoryError instead of swapping the machine
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    warmed: set[str] = set()
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        if request is None:
            return
        peer, html, lang = request
        if peer not in warmed:  # import the library and build its objects outside the timing
            run_peer(peer, _WARM_UP_HTML)
            warmed.add(peer)
        start = time.perf_counter()
        output = run_peer(peer, html, lang)
        connection.send((output.text, time.perf_counter() - start, output.error))


class Worker:
    """One child process that runs peers, replaced when a page hangs it or kills it."""

    def __init__(self, timeout: float, memory_gb: float) -> None:
        self.timeout = timeout
        self.memory_bytes = int(memory_gb * 2**30)
        self._context = multiprocessing.get_context("spawn")
        self._start()

    def _start(self) -> None:
        self.connection, child = self._context.Pipe()
        self.process = self._context.Process(target=_serve, args=(child, self.memory_bytes), daemon=True)
        self.process.start()
        child.close()

    def restart(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()
        self._start()

    def run(self, peer: str, html: str, lang: str | None) -> tuple[str, float, str | None]:
        """(text, seconds, error) of one page; a hang or a crash gives "" and says so in ``error``."""
        try:
            self.connection.send((peer, html, lang))
        except OSError:  # the worker is gone: start a new one and try once more
            self.restart()
            try:
                self.connection.send((peer, html, lang))
            except OSError as error:
                return "", 0.0, f"worker unavailable ({error})"
        if not self.connection.poll(self.timeout):
            self.restart()
            return "", self.timeout, f"timeout after {self.timeout:g} s"
        try:
            return self.connection.recv()
        except (EOFError, OSError):
            code = self.process.exitcode
            self.restart()
            return "", 0.0, f"worker died (exit code {code})"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.send(None)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


# --- the run -------------------------------------------------------------------------------------------


def _progress(label: str, done: int, total: int, seconds: float, errors: int, started: float) -> None:
    wall = time.monotonic() - started
    rate = done / seconds if seconds else 0.0
    eta = (total - done) * wall / done if done else 0.0
    print(
        f"[{label}] {done}/{total}  {rate:.1f} pages/s in the peer  {errors} errors  eta {eta / 60:.1f} min",
        file=sys.stderr,
        flush=True,
    )


def cache_set_peer(
    worker: Worker, set_name: str, peer: str, version: str, pages: list, languages: dict[str, str]
) -> None:
    """Bring one peer's cache for one set up to date."""
    path = cache_path(set_name, peer)
    cached = load_cache(set_name, peer, version)
    wanted = {page.id for page in pages}
    todo = [page for page in pages if page.id not in cached]
    label = f"{set_name}/{peer}"
    if not todo:
        print(f"[{label}] cached ({len(cached)} pages)", file=sys.stderr, flush=True)
        return
    _rewrite(path, (record for key, record in cached.items() if key in wanted))
    print(f"[{label}] {len(todo)} pages to run ({len(cached)} cached)", file=sys.stderr, flush=True)
    started = last_report = time.monotonic()
    peer_seconds, errors = 0.0, 0
    with gzip.open(path, "at", encoding="utf-8") as stream:
        for done, page in enumerate(todo, 1):
            text, seconds, error = worker.run(peer, page.content, languages.get(page.id))
            peer_seconds += seconds
            errors += error is not None and error != "returned None"
            record = {"id": page.id, "text": text, "seconds": round(seconds, 5), "error": error}
            record["version"] = version
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
            if error and error.startswith(("timeout", "worker died")):
                print(f"[{label}] page {page.id}: {error}", file=sys.stderr, flush=True)
            if time.monotonic() - last_report > 30 or done == len(todo):
                stream.flush()  # a sync flush: an interrupted run keeps what was written so far
                _progress(label, done, len(todo), peer_seconds, errors, started)
                last_report = time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=ALL_SETS, choices=ALL_SETS, metavar="SET")
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS), metavar="PEER")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a page may take a peer")
    parser.add_argument("--memory-gb", type=float, default=6.0, help="address-space limit of the worker")
    parser.add_argument("--all-splits", action="store_true", help="also run dragnet's train split")
    args = parser.parse_args(argv)

    versions = peer_versions()
    peers = [peer for peer in args.peers if peer in versions]
    for peer in args.peers:
        if peer not in versions:
            print(f"peer {peer}: not installed, skipped", file=sys.stderr)
    print(f"peers: {', '.join(f'{p} {versions[p]}' for p in peers)}; nice {os.nice(0)}", file=sys.stderr)

    worker = Worker(args.timeout, args.memory_gb)
    try:
        for set_name in args.sets:
            pages = benchmark_pages(set_name, all_splits=args.all_splits)
            languages = page_languages(set_name)
            for peer in peers:
                cache_set_peer(worker, set_name, peer, cache_key(peer, versions[peer]), pages, languages)
    finally:
        worker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
