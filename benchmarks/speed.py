"""How fast storyline is: one core against the peers, import and model-load time, and batch scaling.

1. Single process, one run with interleaved rounds: the pages/s of ``storyline.load_model().extract(html)``
   and of each peer (resiliparse ``main_content=True``, trafilatura, jusText, readability-lxml,
   boilerpy3, and the selectolax parser alone: the floor) on a fixed sample of shared pages from mixed
   sets, and ``python-walk``: the least any segmenter written in Python must do (parse, then step
   through every node reading each element's tag and attributes and each text node's text). Each
   round walks the sample in chunks and times every tool on each chunk in a rotating order,
   so that a change in the machine's load hits every tool alike; the medians over rounds are reported,
   with the ratios storyline / peer.
2. ``import storyline`` and default-model load time, each in fresh processes (median of several).
3. Batch scaling: ``storyline predict --jobs 1`` against ``--jobs 2`` (and ``predict_many``) on a batch
   of the sample's pages repeated, in interleaved rounds (medians reported), and the peak memory (RSS
   of the whole process tree) of a long stream of generated pages (the issue asks 100,000 under 500 MB:
   ``--memory-pages 100000``).

The machine is shared: run it niced, and read the load average printed with the results::

    nice -n 10 python benchmarks/speed.py [--pages 560] [--rounds 3] [--scale-pages 2000] [--scale-rounds 3]
        [--memory-pages 20000]

Writes ``benchmarks/results/speed.json``. Without ``../shared/data`` the sample-based parts are skipped.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # pagegen: the generated pages of the memory run

from bench_sets import data_root  # noqa: E402
from checkout import add_installed_option, refuse_stale_install  # noqa: E402
from peers import _RAW, _prepare, peer_versions  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "speed.json"
#: Pages drawn from each shared set (html pages only), in this order: a mix of sites, eras and sizes.
SAMPLE = {
    "wcxb": 150,
    "cleaneval": 90,
    "dragnet": 90,
    "l3s-gn1": 70,
    "trafilatura-eval": 60,
    "readability": 40,
    "chinese-wce": 20,
    "cleanportaleval": 20,
    "htmltotext-benchmark": 20,
}
PEER_NAMES = ["resiliparse", "trafilatura", "justext", "readability", "boilerpy3", "selectolax"]
CHUNK = 20
SEED = 5


# --- the sample ----------------------------------------------------------------------------------------


def load_sample(total: int, root: Path) -> list[tuple[str, str]]:
    """``(id, html)`` of a fixed, seeded sample of about ``total`` shared pages across the sets."""
    from storyline.training.datasets import read_pages

    scale = total / sum(SAMPLE.values())
    rng = random.Random(SEED)
    sample: list[tuple[str, str]] = []
    for name, count in SAMPLE.items():
        folder = root / name
        if not folder.exists():
            continue
        pages = sorted((p for p in read_pages(folder) if p.kind == "html"), key=lambda p: p.id)
        chosen = rng.sample(pages, min(len(pages), max(1, round(count * scale))))
        sample.extend((f"{name}/{p.id}", p.content) for p in chosen)
    rng.shuffle(sample)
    return sample


# --- single-process speed ------------------------------------------------------------------------------


def python_walk(html: str) -> int:
    """The least a segmenter written in Python must do: parse, then visit every node once, reading each
    element's tag and attributes and each text node's text. No line is built and nothing is judged, so
    its pages/s bound any Python-level pass over lexbor's DOM from above."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return 0
    top, visited = root.mem_id, 0
    node = root.first_child
    while node is not None:
        visited += 1
        if node.is_text_node:
            visited += len(node.text_content or "")
        elif node.is_element_node:
            visited += len(node.tag or "") + len(node.attributes)
        child = node.first_child
        if child is not None:
            node = child
            continue
        while node is not None:
            sibling = node.next
            if sibling is not None:
                node = sibling
                break
            node = node.parent
            if node is not None and node.mem_id == top:
                node = None
    return visited


#: Tools timed on the raw HTML string, as storyline is (the peers get their usual input plumbing).
RAW_INPUT = ("storyline", "python-walk")


def tools(peers: list[str]) -> dict[str, Callable[[str], Any]]:
    """Tool name -> ``extract(html)``: storyline first, the Python walk floor, then the installed peers."""
    import storyline

    model = storyline.load_model()
    out: dict[str, Callable[[str], Any]] = {"storyline": model.extract, "python-walk": python_walk}
    installed = peer_versions()
    for name in peers:
        if name in installed:
            out[name] = _RAW[name]
    return out


def _time_chunk(extract: Callable[[str], Any], pages: list[str]) -> tuple[float, int]:
    errors = 0
    start = time.perf_counter()
    for html in pages:
        try:
            extract(html)
        except Exception:  # a peer failing on a page still spent that time
            errors += 1
    return time.perf_counter() - start, errors


def interleaved_rounds(
    extractors: dict[str, Callable[[str], Any]], sample: list[tuple[str, str]], rounds: int
) -> dict[str, Any]:
    """Per tool: pages/s of every round (median reported), timed chunk by chunk in rotating order."""
    raw = [html for _, html in sample]
    prepared = [_prepare(html) for html in raw]  # the peers' input plumbing, done outside the clock
    names = list(extractors)
    for name in names:  # warm-up: imports, caches, lazily built stoplists
        _time_chunk(extractors[name], (raw if name in RAW_INPUT else prepared)[:5])
    per_round: dict[str, list[float]] = {name: [] for name in names}
    errors: dict[str, int] = dict.fromkeys(names, 0)
    for number in range(rounds):
        spent = dict.fromkeys(names, 0.0)
        for index, start in enumerate(range(0, len(raw), CHUNK)):
            shift = (index + number) % len(names)
            for name in names[shift:] + names[:shift]:
                pages = (raw if name in RAW_INPUT else prepared)[start : start + CHUNK]
                seconds, failed = _time_chunk(extractors[name], pages)
                spent[name] += seconds
                errors[name] += failed
        for name in names:
            per_round[name].append(len(raw) / spent[name])
        line = "  ".join(f"{name} {per_round[name][-1]:.0f}" for name in names)
        print(f"  round {number + 1}/{rounds}: pages/s  {line}", flush=True)
    medians = {name: statistics.median(values) for name, values in per_round.items()}
    return {
        "pages": len(raw),
        "rounds": rounds,
        "pages_per_second": {name: round(value, 1) for name, value in medians.items()},
        "per_round": {name: [round(v, 1) for v in values] for name, values in per_round.items()},
        "errors": {name: count // rounds for name, count in errors.items() if count},
        "ratio_storyline_over": {
            name: round(medians["storyline"] / value, 3) for name, value in medians.items() if name != "storyline"
        },
    }


def profile_storyline(sample: list[tuple[str, str]], top: int) -> str:
    """cProfile's top entries (by own time) of storyline over the sample, for the speed work."""
    import storyline

    model = storyline.load_model()
    profiler = cProfile.Profile()
    profiler.enable()
    for _, html in sample:
        model.extract(html)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return text.getvalue()


# --- import and load time ------------------------------------------------------------------------------

_STARTUP = """
import time
start = time.perf_counter()
import storyline
imported = time.perf_counter()
storyline.load_model()
loaded = time.perf_counter()
print(imported - start, loaded - imported)
"""


def startup_times(runs: int) -> dict[str, float]:
    """Median ``import storyline`` and default-model load time over fresh processes, in milliseconds."""
    imports, loads = [], []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _STARTUP], capture_output=True, text=True, check=True)
        first, second = (float(x) for x in done.stdout.split())
        imports.append(first * 1000)
        loads.append(second * 1000)
    return {"import_ms": round(statistics.median(imports), 1), "model_load_ms": round(statistics.median(loads), 1)}


# --- batch scaling and memory --------------------------------------------------------------------------


class TreeSampler:
    """Polls a process and its descendants: peak total PSS and RSS, peak single RSS, CPU seconds.

    PSS (proportional set size) counts a page shared by several processes (the libraries a fork server
    loaded once for all workers) once in the total; RSS counts it in every process that maps it.
    """

    def __init__(self, pid: int, every: float = 0.2) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.every = every
        self.peak_total = self.peak_single = self.peak_pss = 0
        self.cpu: dict[int, float] = {}
        self.main_cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                return
            total = pss = 0
            for proc in procs:
                try:
                    memory = proc.memory_full_info()
                    times = proc.cpu_times()
                except psutil.Error:
                    continue
                rss = memory.rss
                total += rss
                pss += getattr(memory, "pss", rss)
                self.peak_single = max(self.peak_single, rss)
                self.cpu[proc.pid] = times.user + times.system
                if proc.pid == self.root.pid:
                    self.main_cpu = times.user + times.system
            self.peak_total = max(self.peak_total, total)
            self.peak_pss = max(self.peak_pss, pss)
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _summary_rate(stderr: str) -> float | None:
    """The pages/s of storyline's own summary line (the batch, import and worker start excluded)."""
    for line in reversed(stderr.splitlines()):
        if "pages/s)" in line:
            return float(line.rsplit("(", 1)[1].split()[0])
    return None


def run_cli(args: list[str], feed: Callable[[IO[bytes]], None] | None = None) -> dict[str, Any]:
    """Run ``storyline predict ARGS`` (fed on stdin by ``feed``), sampling its process tree."""
    command = [sys.executable, "-m", "storyline", "predict", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE if feed else subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    sampler = TreeSampler(proc.pid)
    feeder = None
    if feed is not None:
        assert proc.stdin is not None
        stdin = proc.stdin

        def pump() -> None:
            try:
                feed(stdin)
            finally:
                stdin.close()

        feeder = threading.Thread(target=pump, daemon=True)
        feeder.start()
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode("utf-8", "replace")
    proc.wait()
    wall = time.perf_counter() - start
    sampler.stop()
    if feeder is not None:
        feeder.join()
    if proc.returncode != 0:
        raise RuntimeError(f"storyline predict failed ({proc.returncode}): {stderr[-500:]}")
    return {
        "wall_seconds": round(wall, 2),
        "batch_pages_per_second": _summary_rate(stderr),
        "peak_pss_total_mb": round(sampler.peak_pss / 2**20, 1),
        "peak_rss_total_mb": round(sampler.peak_total / 2**20, 1),
        "peak_rss_single_mb": round(sampler.peak_single / 2**20, 1),
        "cpu_seconds_main": round(sampler.main_cpu, 2),
        "cpu_seconds_all": round(sum(sampler.cpu.values()), 2),
        "summary": stderr.strip().splitlines()[-1] if stderr.strip() else "",
    }


def batch_scaling(sample: list[tuple[str, str]], pages: int, folder: Path, rounds: int = 3) -> dict[str, Any]:
    """``--jobs 1`` against ``--jobs 2`` on ``pages`` real pages (the sample repeated) in a JSONL file.

    ``rounds`` rounds, each running both in alternating order, so that a change in the machine's load
    hits both alike; the run of median pages/s of each is reported, with every round's figures.
    """
    batch = folder / "batch.jsonl"
    with open(batch, "w", encoding="utf-8") as stream:
        for i in range(pages):
            page_id, html = sample[i % len(sample)]
            stream.write(json.dumps({"id": f"{i}:{page_id}", "html": html}) + "\n")
    out: dict[str, Any] = {"pages": pages, "rounds": max(1, rounds)}
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for number in range(max(1, rounds)):
        for jobs in (1, 2) if number % 2 == 0 else (2, 1):
            target = folder / f"out{jobs}.jsonl"
            result = run_cli([str(batch), "--format", "jsonl", "-o", str(target), "--jobs", str(jobs)])
            runs[jobs].append(result)
            print(f"  round {number + 1}, CLI --jobs {jobs}: {result['summary']}", flush=True)
    for jobs, results in runs.items():
        ranked = sorted(results, key=lambda result: result["batch_pages_per_second"] or 0.0)
        out[f"cli_jobs_{jobs}"] = ranked[(len(ranked) - 1) // 2]  # the median run (the lower one of two)
        out[f"cli_jobs_{jobs}_pages_per_second_per_round"] = [result["batch_pages_per_second"] for result in results]
    same = (folder / "out1.jsonl").read_bytes() == (folder / "out2.jsonl").read_bytes()
    one, two = out["cli_jobs_1"]["batch_pages_per_second"], out["cli_jobs_2"]["batch_pages_per_second"]
    out["cli_speedup"] = round(two / one, 2) if one and two else None
    walls = {jobs: statistics.median(result["wall_seconds"] for result in results) for jobs, results in runs.items()}
    out["cli_wall_speedup"] = round(walls[1] / walls[2], 2)  # start-up (import, model load, workers) included
    # What two free cores would give: the CPU a page costs with one job over its cost with two (the
    # pool's overhead), times two. A ceiling, for when the machine is busy and the timing cannot tell.
    cpu1, cpu2 = out["cli_jobs_1"]["cpu_seconds_all"], out["cli_jobs_2"]["cpu_seconds_all"]
    out["cpu_bound_speedup"] = round(2 * cpu1 / cpu2, 2) if cpu1 and cpu2 else None
    out["cli_outputs_identical"] = same
    out["predict_many"] = predict_many_scaling([html for _, html in sample], pages)
    return out


def predict_many_scaling(htmls: list[str], pages: int) -> dict[str, Any]:
    import storyline

    model = storyline.load_model()
    rates = {}
    for jobs in (1, 2):
        stream = (htmls[i % len(htmls)] for i in range(pages))
        results = model.predict_many(stream, jobs=jobs)
        first = next(results)  # workers started
        start = time.perf_counter()
        count = 1 + sum(1 for _ in results)
        rates[jobs] = (count - 1) / (time.perf_counter() - start)
        del first
        print(f"  predict_many jobs={jobs}: {rates[jobs]:.1f} pages/s", flush=True)
    return {
        "jobs_1_pages_per_second": round(rates[1], 1),
        "jobs_2_pages_per_second": round(rates[2], 1),
        "speedup": round(rates[2] / rates[1], 2),
    }


def generated_pages(count: int) -> Iterator[bytes]:
    from pagegen import make_page

    for i in range(count):
        yield (json.dumps({"id": f"gen-{i}", "html": make_page(i % 5000, f"site{i % 50}")[0]}) + "\n").encode()


def memory_run(pages: int, folder: Path, jobs: int) -> dict[str, Any]:
    """Peak RSS of ``storyline predict`` over a stream of ``pages`` generated pages on standard input."""

    def feed(stdin: IO[bytes]) -> None:
        for line in generated_pages(pages):
            stdin.write(line)

    target = folder / "memory.jsonl"
    result = run_cli(["-", "--format", "jsonl", "-o", str(target), "--jobs", str(jobs)], feed)
    with open(target, "rb") as stream:
        result["records"] = sum(1 for _ in stream)
    result["pages"] = pages
    result["jobs"] = jobs
    target.unlink()
    print(
        f"  {result['summary']}; peak memory of the process tree: PSS {result['peak_pss_total_mb']} MB, "
        f"RSS {result['peak_rss_total_mb']} MB (largest process {result['peak_rss_single_mb']} MB)",
        flush=True,
    )
    return result


# --- the run -------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=560, help="sample size (at least 500 for the issue's figure)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the peer comparison (0: skip it)")
    parser.add_argument("--peers", nargs="*", default=PEER_NAMES, choices=PEER_NAMES)
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--scale-pages", type=int, default=2000, help="pages of the --jobs 1/2 batch (0: skip)")
    parser.add_argument("--scale-rounds", type=int, default=3, help="interleaved rounds of --jobs 1 and 2")
    parser.add_argument("--memory-pages", type=int, default=20000, help="generated pages streamed (0: skip)")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's top N entries")
    parser.add_argument("--output", type=Path, default=RESULTS)
    add_installed_option(parser)
    args = parser.parse_args(argv)
    if refuse_stale_install(args.installed):
        return 2
    logging.getLogger("boilerpy3").setLevel(logging.CRITICAL)  # a warning or a traceback per odd page

    report: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": sys.version.split()[0],
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": peer_versions(),
    }
    root = data_root()
    sample: list[tuple[str, str]] = []
    if root.exists():
        sample = load_sample(args.pages, root)
        print(f"sample: {len(sample)} pages from {root}", flush=True)
        report["sample"] = {"pages": len(sample), "sets": sorted({page_id.split("/")[0] for page_id, _ in sample})}
        if args.rounds:
            print(f"single process, {args.rounds} interleaved rounds:", flush=True)
            report["single_process"] = interleaved_rounds(tools(args.peers), sample, args.rounds)
        if args.profile:
            report["profile_top"] = profile_storyline(sample, args.profile)
            print(report["profile_top"])
    else:
        print(f"{root} is absent: the single-process comparison and the batch scaling are skipped", flush=True)
    report["startup"] = startup_times(args.startup_runs)
    print(f"import storyline {report['startup']['import_ms']} ms, model load {report['startup']['model_load_ms']} ms")
    with tempfile.TemporaryDirectory(prefix="storyline-speed-") as tmp:
        if sample and args.scale_pages:
            print(f"batch of {args.scale_pages} real pages, --jobs 1 against --jobs 2:", flush=True)
            report["batch_scaling"] = batch_scaling(sample, args.scale_pages, Path(tmp), args.scale_rounds)
        if args.memory_pages:
            print(f"memory: {args.memory_pages} generated pages streamed through --jobs 2:", flush=True)
            report["memory"] = memory_run(args.memory_pages, Path(tmp), jobs=2)
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print_summary(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"written to {args.output}")
    return 0


def print_summary(report: dict[str, Any]) -> None:
    single = report.get("single_process")
    if single:
        print(f"\n{'tool':<14}{'pages/s':>9}{'storyline/tool':>16}")
        for name, rate in sorted(single["pages_per_second"].items(), key=lambda item: -item[1]):
            ratio = single["ratio_storyline_over"].get(name)
            print(f"{name:<14}{rate:>9.1f}{'' if ratio is None else f'{ratio:>16.2f}'}")
    scaling = report.get("batch_scaling")
    if scaling:
        print(
            f"\n--jobs 2 / --jobs 1: {scaling['cli_speedup']}x (CLI), {scaling['predict_many']['speedup']}x "
            f"(predict_many), {scaling['cpu_bound_speedup']}x (CPU-bound ceiling); "
            f"identical output: {scaling['cli_outputs_identical']}"
        )
    memory = report.get("memory")
    if memory:
        print(
            f"peak memory over {memory['pages']} pages (whole process tree): PSS {memory['peak_pss_total_mb']} MB, "
            f"RSS {memory['peak_rss_total_mb']} MB"
        )
    print(f"load average: start {report['load_average_at_start']}, end {report['load_average_at_end']}")


if __name__ == "__main__":
    sys.exit(main())
