"""Faults, simulated through the real command line in a subprocess: Ctrl-C, SIGTERM, a killed main process, a
killed worker, a hanging page and a full disk. The output file is never left truncated at its final path,
``--resume`` completes exactly the missing pages, and a fault on one page costs that page only.

Pages are slowed down (or made to hang) by a ``sitecustomize`` module the tests put on the subprocesses'
``PYTHONPATH``: it wraps the prediction of pages whose names ask for it, in every process, workers included.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = "<html><body><h1>Page {i}</h1><p>The council said on {i} May that the harbour road would reopen.</p>"

HOOK = """
import os, time
import storyline.classifier.prediction as prediction

_real = prediction._predict


def _faulty(model, item, options):
    name = os.path.basename(item.source)
    if name.startswith("hang"):
        with open(os.environ["FAULT_PIDS"], "a") as stream:
            stream.write(f"{os.getpid()}\\n")
        time.sleep(120)
    time.sleep(float(os.environ.get("FAULT_DELAY", "0")))
    return _real(model, item, options)


prediction._predict = _faulty
"""


def make_pages(folder: Path, count: int, extra: tuple[str, ...] = ()) -> list[str]:
    """Write ``count`` pages (and the named ``extra`` ones); their sources in the order the CLI reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"p{i:03d}.html").write_text(PAGE.format(i=i), encoding="utf-8")
    for name in extra:
        (folder / name).write_text(PAGE.format(i=name), encoding="utf-8")
    return sorted(str(path) for path in folder.iterdir())


def environment(tmp_path: Path, delay: float = 0.0) -> dict[str, str]:
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(hooks), str(ROOT)]),
        FAULT_DELAY=str(delay),
        FAULT_PIDS=str(tmp_path / "pids"),
        OPENBLAS_NUM_THREADS="1",
    )


def storyline(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "storyline", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,  # type: ignore[arg-type]
    )


def records(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def complete_lines(path: Path) -> list[dict[str, str]]:
    """The complete records of a partial file (a hard kill may leave half a last line)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [json.loads(line) for line in text.split("\n")[:-1]]


def resume_and_check(pages: Path, out: Path, sources: list[str], env: dict[str, str], done_before: int) -> None:
    """``--resume`` completes the output: every source exactly once, in input order, each with its story sentence."""
    run = storyline(["predict", str(pages), "--format", "jsonl", "-o", str(out), "--resume"], env)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr
    assert "Traceback" not in stderr
    final = records(out)
    assert [r["source"] for r in final] == sources
    assert all("text" in r and "harbour road" in r["text"] for r in final), [r for r in final if "error" in r]
    assert f"{done_before} already done" in stderr if done_before else "already done" not in stderr
    assert not list(out.parent.glob(".*partial*")), "no temporary file is left once complete"


def wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the run did not get going"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("how", "jobs"),
    [(signal.SIGINT, "1"), (signal.SIGTERM, "1"), (signal.SIGINT, "2"), (signal.SIGTERM, "2"), (signal.SIGKILL, "1")],
)
def test_an_interrupted_run_leaves_no_truncated_output_and_resume_completes_it(
    tmp_path: Path, how: signal.Signals, jobs: str
) -> None:
    pages, out = tmp_path / "pages", tmp_path / "out" / "stories.jsonl"
    out.parent.mkdir()
    sources = make_pages(pages, 40)
    env = environment(tmp_path, delay=0.2)
    # its own process group, as a terminal or a job scheduler would signal it: workers get the signal too
    run = storyline(
        ["predict", str(pages), "--format", "jsonl", "-o", str(out), "--jobs", jobs], env, start_new_session=True
    )
    partial = out.with_name(f".{out.name}.partial")
    wait_for(lambda: len(complete_lines(partial)) >= 3)  # some pages done (a record is flushed at a time)
    os.killpg(run.pid, how)
    _, stderr = run.communicate(timeout=60)
    assert not out.exists(), "nothing at the final path until the run completes"
    kept = complete_lines(partial)
    assert 0 < len(kept) < len(sources), stderr
    assert [r["source"] for r in kept] == sources[: len(kept)], "a prefix, in input order"
    assert all("text" in r for r in kept), "no page was recorded as failed because of the interruption"
    if how != signal.SIGKILL:
        assert run.returncode == 130, stderr
        assert "Traceback" not in stderr
        assert f"interrupted after {len(kept)} pages" in stderr and "--resume" in stderr
    resume_and_check(pages, out, sources, environment(tmp_path), len(kept))


def test_a_killed_worker_costs_its_page_only(tmp_path: Path) -> None:
    pages, out = tmp_path / "pages", tmp_path / "stories.jsonl"
    sources = make_pages(pages, 12, extra=("hang-killed.html",))
    env = environment(tmp_path)
    run = storyline(["predict", str(pages), "--format", "jsonl", "-o", str(out), "--jobs", "2"], env)
    pids = tmp_path / "pids"
    wait_for(lambda: pids.exists() and pids.read_text().strip() != "")
    os.kill(int(pids.read_text().split()[0]), signal.SIGKILL)  # the worker on the hanging page
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr
    final = records(out)
    assert [r["source"] for r in final] == sources
    failed = [r for r in final if "error" in r]
    assert [r["source"] for r in failed] == [str(pages / "hang-killed.html")]
    assert failed[0]["error"] == "worker process died on this page (exit code -9)"
    assert "13 pages, 1 failed" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_hanging_page_times_out_and_costs_its_page_only(tmp_path: Path, jobs: str) -> None:
    pages, out = tmp_path / "pages", tmp_path / "stories.jsonl"
    sources = make_pages(pages, 6, extra=("hang.html",))
    start = time.monotonic()
    run = storyline(
        ["predict", str(pages), "--format", "jsonl", "-o", str(out), "--jobs", jobs, "--timeout", "2"],
        environment(tmp_path),
    )
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stderr
    assert time.monotonic() - start < 60
    final = records(out)
    assert [r["source"] for r in final] == sources
    assert [r.get("error") for r in final if "error" in r] == ["timeout: took more than 2 s"]


def _small_files() -> None:
    """In the child: files may not grow past 3 KB, and writing past it fails (EFBIG) instead of killing."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))


def test_a_full_disk_is_a_clear_error_and_resume_completes(tmp_path: Path) -> None:
    pages, out = tmp_path / "pages", tmp_path / "stories.jsonl"
    sources = make_pages(pages, 60)
    env = environment(tmp_path)
    run = storyline(["predict", str(pages), "--format", "jsonl", "-o", str(out)], env, preexec_fn=_small_files)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "Error: cannot write the output (File too large)"
    assert not out.exists()
    kept = complete_lines(out.with_name(f".{out.name}.partial"))
    assert [r["source"] for r in kept] == sources[: len(kept)]
    resume_and_check(pages, out, sources, env, len(kept))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("fmt", ["jsonl", "text"])
def test_a_full_standard_output_is_a_clear_error(tmp_path: Path, fmt: str) -> None:
    pages = tmp_path / "pages"
    make_pages(pages, 3)
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "storyline", "predict", str(pages), "--format", fmt],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(tmp_path),
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "Error: cannot write the output (No space left on device)"
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
