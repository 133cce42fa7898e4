"""Prediction on a Dask cluster (``pip install 'storyline[dask]'``).

Two ways in:

- ``predict_bag(bag)``: a Dask bag of inputs (paths of pages, folders, JSONL or WARC files; JSONL-style
  records ``{"id", "html"}``/``{"id", "text"}``; or ``PageInput``) to a bag of result records, the dicts
  of ``storyline predict --format jsonl``, partition by partition in the bag's order.
- ``predict_units(client, units)``: what ``storyline predict --scheduler ADDRESS`` runs. Paths are listed
  on the client, sent in chunks (a JSONL or WARC file alone in its chunk, so big archives spread over
  the workers), and results come back in input order with a bounded number of chunks in flight.

The model travels as its JSON parameters (never a pickle) and is built once per worker process, cached
by checksum. Workers read the paths themselves, so they must see the same files as the client (a shared
file system, or object storage mounted at the same path); records in a bag need no shared files at all.
The per-page time limit is not enforced here: Dask runs tasks in threads, which cannot be stopped.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from storyline.classifier.model import StoryModel, load_model
from storyline.classifier.prediction import Options, PageResult, error_result, predict_page
from storyline.classifier.sources import Container, PageInput, Unit, expand_unit, iter_units, record_input

DASK_MISSING = "storyline.dask needs dask and distributed: pip install 'storyline[dask]'"

try:
    import dask
    import dask.bag as db
    from distributed import Client
except ImportError as _error:  # pragma: no cover - exercised only without the extra
    raise ImportError(DASK_MISSING) from _error

#: Page files per task when sending paths: enough to amortise a task's overhead (about 1 ms).
PARTITION_PAGES = 32


@dataclass(frozen=True)
class ModelSpec:
    """A model's JSON parameters and their checksum: what workers build (and cache) the model from."""

    checksum: str
    parameters: str


def model_spec(model: StoryModel | str | os.PathLike[str] | None = None) -> ModelSpec:
    """The spec of a model object, a model file, or (None) the default model."""
    built = model if isinstance(model, StoryModel) else load_model(None if model is None else os.fspath(model))
    data = built.to_dict()
    return ModelSpec(str(data["checksum"]), json.dumps(data))


_MODELS: dict[str, StoryModel] = {}


def worker_model(spec: ModelSpec) -> StoryModel:
    """The model of ``spec``, built once per worker process."""
    model = _MODELS.get(spec.checksum)
    if model is None:
        model = _MODELS[spec.checksum] = StoryModel.from_dict(json.loads(spec.parameters))
    return model


def _element_units(element: Any, kind: str | None, max_bytes: int | None) -> Iterator[Unit]:
    if isinstance(element, (PageInput, Container)):
        yield element
    elif isinstance(element, dict):
        where = str(element.get("url") or "record")
        yield record_input(element, where, "records", kind)
    elif isinstance(element, (str, os.PathLike)):
        yield from iter_units([os.fspath(element)], kind, max_bytes)
    else:
        shown = repr(element)[:80]
        yield PageInput(shown, error=f"{shown}: not a path, a record or a PageInput", name="records/invalid")


def predict_partition(
    elements: Iterable[Any], spec: ModelSpec, options: Options, kind: str | None = None
) -> list[PageResult]:
    """The results of one partition's inputs, in order (runs on a worker)."""
    model = worker_model(spec)
    results = []
    for element in elements:
        for unit in _element_units(element, kind, options.max_bytes):
            for item in expand_unit(unit, options.max_bytes):
                results.append(predict_page(model, item, options))
    return results


def _partition_records(elements: Iterable[Any], spec: ModelSpec, options: Options, kind: str | None) -> list[dict]:
    return [result.record() for result in predict_partition(elements, spec, options, kind)]


def predict_bag(
    bag: db.Bag,
    model: StoryModel | str | None = None,
    *,
    kind: str | None = None,
    threshold: float | None = None,
    with_lines: bool = False,
    max_bytes: int | None = None,
) -> db.Bag:
    """A bag of result records (``{"source", "text"}`` or ``{"source", "error"}``) for a bag of inputs.

    ``model`` is a ``StoryModel``, a model file read here, or None for the default model.
    """
    spec = dask.delayed(model_spec(model), pure=True)  # one copy in the graph, not one per partition
    options = Options(threshold, with_lines, max_bytes, None)
    return bag.map_partitions(_partition_records, spec, options, kind)


def connect(address: str, timeout: float = 10.0) -> Client:
    """A client of the running cluster whose scheduler listens at ``address``."""
    return Client(address, timeout=f"{timeout}s")


def _chunks(units: Iterable[Unit], size: int) -> Iterator[list[Unit]]:
    """Units grouped for tasks: up to ``size`` page files together, each JSONL or WARC file alone."""
    chunk: list[Unit] = []
    for unit in units:
        if isinstance(unit, Container):
            if chunk:
                yield chunk
                chunk = []
            yield [unit]
        else:
            chunk.append(unit)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _failed(chunk: list[Unit], error: BaseException) -> Iterator[PageResult]:
    message = f"Dask task failed: {type(error).__name__}: {error}"
    for unit in chunk:
        if isinstance(unit, Container):
            yield PageResult(unit.shown, error=message, name=unit.name)
        else:
            yield error_result(unit, message)


def predict_units(
    client: Client,
    units: Iterable[Unit],
    model: StoryModel | str | None = None,
    options: Options | None = None,
    partition_pages: int = PARTITION_PAGES,
    window: int | None = None,
) -> Iterator[PageResult]:
    """Results of ``units`` (see ``sources.iter_units``) computed on the cluster, in input order.

    At most ``window`` tasks (default: 4 per worker) are in flight, so neither the client nor the
    cluster holds more than that many chunks' results, whatever the batch size.
    """
    options = options or Options()
    spec = client.scatter(model_spec(model), broadcast=True)
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    window = window or 4 * workers
    pending: deque[tuple[Any, list[Unit]]] = deque()

    def drain_one() -> Iterator[PageResult]:
        future, chunk = pending.popleft()
        try:
            results = future.result()
        except Exception as error:  # a worker lost mid-task, after Dask's own retries
            results = list(_failed(chunk, error))
        yield from results

    for chunk in _chunks(units, partition_pages):
        pending.append((client.submit(predict_partition, chunk, spec, options, pure=False), chunk))
        while len(pending) >= window:
            yield from drain_one()
    while pending:
        yield from drain_one()


__all__ = [
    "DASK_MISSING",
    "ModelSpec",
    "connect",
    "iter_units",
    "model_spec",
    "predict_bag",
    "predict_partition",
    "predict_units",
    "worker_model",
]
