"""The coverage-guided fuzz harness (``fuzz/fuzz_pipeline.py``, atheris) runs for a bounded time without a
crash, and the inputs that once crashed or exhausted it stay fixed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "fuzz" / "fuzz_pipeline.py"

#: A few inputs to start from; the first byte picks the harness's mode (bytes, HTML, text, any, gzip).
SEEDS = [
    b"\x00<html><head><title>Harbour news</title></head><body><nav><a href=/>Home</a></nav>"
    b"<article><h1>Road reopens</h1><p>The council said the road would reopen on Monday.</p></article></body></html>",
    b"\x01<div class='story-body'><p>One paragraph &amp; another.</p><ul><li><a href=x>link</a></li></ul></div>",
    b"\x02Title\n\nA paragraph of plain text,\nhard-wrapped over two lines.\n\nhttps://example.org/x\n",
    b"\x03<p>Le caf\xc3\xa9 a rouvert.</p>",
    b"\x04\x08\x00\x00\x00\x00\x00\x00\x03\xb3)\xb0\xcbH\xcd\xc9\xc9\xb7\xd1/\xb0\x03\x00",
]


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")
def test_fuzzing_the_page_path_finds_no_crash(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(SEEDS):
        (corpus / f"seed{i}").write_bytes(seed)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(HARNESS), str(corpus), "-max_total_time=15", "-timeout=10", "-rss_limit_mb=3072"]
        + ["-max_len=4096", f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "stat::number_of_executed_units" in done.stderr
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))
