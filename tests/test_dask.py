"""The Dask path: a LocalCluster of two worker processes gives the single-process output, in order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")

import dask.bag as db  # noqa: E402
from batch_inputs import TEXT_PAGE, write_jsonl, write_tree, write_warc  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from distributed import LocalCluster  # noqa: E402
from pagegen import make_page  # noqa: E402

import storyline  # noqa: E402
from storyline.classifier.prediction import predict_results  # noqa: E402
from storyline.classifier.sources import iter_inputs  # noqa: E402
from storyline.cli import main  # noqa: E402
from storyline.dask import predict_bag  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("dask")
    write_tree(root / "tree")
    write_jsonl(root / "records.jsonl", range(600, 605))
    paths = [str(root / "tree"), str(root / "records.jsonl"), str(root / "missing.html")]
    try:
        import fastwarc  # noqa: F401

        write_warc(root / "crawl.warc.gz")
        paths.insert(2, str(root / "crawl.warc.gz"))
    except ImportError:
        pass
    return paths


def local_records(paths: list[str]) -> list[dict]:
    model = storyline.load_model()
    return [r.record() for r in predict_results(model, iter_inputs(paths))]


def test_bag_of_paths_equals_the_single_process_run(cluster: LocalCluster, inputs: list[str]) -> None:
    from distributed import Client

    with Client(cluster):
        got = predict_bag(db.from_sequence(inputs, npartitions=3)).compute()
    assert got == local_records(inputs)
    assert len(got) > len(inputs)  # folders, JSONL and WARC files expanded on the workers


def test_bag_of_records(cluster: LocalCluster) -> None:
    from distributed import Client

    rows = [{"id": f"r{i}", "html": make_page(i)[0]} for i in range(5)] + [{"id": "t", "text": TEXT_PAGE}, {"id": "x"}]
    with Client(cluster):
        got = predict_bag(db.from_sequence(rows, npartitions=2), with_lines=True).compute()
    model = storyline.load_model()
    assert [r["source"] for r in got] == ["r0", "r1", "r2", "r3", "r4", "t", "x"]
    assert [r.get("text") for r in got[:5]] == [model.extract(row["html"]) for row in rows[:5]]
    assert "lines" in got[0] and "no 'html' or 'text'" in got[-1]["error"]


def test_cli_scheduler_gives_the_local_output(
    cluster: LocalCluster, inputs: list[str], tmp_path: Path, small_model_path: Path
) -> None:
    model = ["--model", str(small_model_path)]
    local = CliRunner().invoke(main, ["predict", *inputs, "--format", "jsonl", "--jobs", "1", *model])
    remote = CliRunner().invoke(
        main, ["predict", *inputs, "--format", "jsonl", "--scheduler", cluster.scheduler_address, *model]
    )
    assert remote.exit_code == 0, remote.stderr
    assert remote.stdout == local.stdout
    target = tmp_path / "out.jsonl"
    target.write_text(local.stdout.split("\n", 1)[0] + "\n")
    resumed = CliRunner().invoke(
        main,
        [
            "predict",
            *inputs,
            "--format",
            "jsonl",
            "-o",
            str(target),
            "--resume",
            "--scheduler",
            cluster.scheduler_address,
            *model,
        ],
    )
    assert resumed.exit_code == 0 and "1 already done" in resumed.stderr
    assert [json.loads(line) for line in target.read_text().splitlines()] == [
        json.loads(line) for line in local.stdout.splitlines()
    ]
