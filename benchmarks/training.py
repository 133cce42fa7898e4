"""How long training the shipped model takes, and its peak memory (issue: under 2 minutes, under 4 GB).

Runs the documented training command on every shared set that may train the shipped model, in a child
process, and reports wall time and the peak resident memory of that process tree. Results go to
``benchmarks/results/training.json``. Skips (exit 0) when ``../shared/data`` is absent.

    python benchmarks/training.py [--jobs N] [--heads html text]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
SETS = ("wcxb", "readability", "chinese-wce", "trafilatura-eval")


def _watch(child: subprocess.Popen) -> float:
    """Wait for ``child``; the largest resident memory of it and its worker processes together (MB)."""
    try:
        import psutil
    except ImportError:
        child.wait()
        return float("nan")
    peak = 0.0
    root = psutil.Process(child.pid)
    while child.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs) / 1e6)
        except psutil.Error:
            pass
        time.sleep(0.2)
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=-1, help="featurising processes (-1 = all cores)")
    parser.add_argument("--heads", nargs="+", default=["html", "text"], choices=["html", "text"])
    args = parser.parse_args()
    missing = [name for name in SETS if not (DATA / name / "pages.jsonl.gz").is_file()]
    if missing:
        print(f"skipped: shared data absent ({', '.join(missing)})")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model.json"
        command = [
            sys.executable,
            "-m",
            "storyline",
            "train",
            *(str(DATA / s) for s in SETS),
            "-o",
            str(model),
            "--jobs",
            str(args.jobs),
        ]
        for head in args.heads:
            command += ["--head", head]
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as err:
            child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, text=True)
            tree_peak = _watch(child)
            seconds = time.perf_counter() - start
            err.seek(0)
            stderr = err.read()
        done = subprocess.CompletedProcess(command, child.returncode, "", stderr)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        size = model.stat().st_size
    # ru_maxrss of children: the largest resident set of any one waited-for process (KiB on Linux)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "command": "storyline train " + " ".join(f"../shared/data/{s}" for s in SETS) + " -o MODEL",
        "sets": list(SETS),
        "heads": args.heads,
        "cores": os.cpu_count(),
        "seconds": round(seconds, 1),
        "peak_rss_mb_largest_process": round(peak_mb, 1),
        "peak_rss_mb_process_tree": round(tree_peak, 1),
        "model_bytes": size,
        "target": {"seconds": 120, "peak_rss_mb": 4096},
    }
    out = ROOT / "benchmarks" / "results" / "training.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"training on {', '.join(SETS)} ({' + '.join(args.heads)} heads): {seconds:.0f} s wall, "
        f"peak RSS {peak_mb:.0f} MB (largest process), {tree_peak:.0f} MB (with its workers); "
        "targets 120 s and 4096 MB"
    )
    print(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
