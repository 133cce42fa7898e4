"""The ``storyline`` command line: predict, train and evaluate, with the same data formats in and out.

Results go to standard output (or ``-o``), so they pipe; progress and summaries go to standard error.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

from storyline import __version__

KIND = click.Choice(["html", "text"])


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """Standard output, or a file written to a temporary name and renamed into place when complete."""
    if path is None or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    if target.parent and not target.parent.exists():
        raise _fail(f"{path}: the folder {target.parent} does not exist")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as stream:
            yield stream
        tmp.replace(target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _load(model_path: str | None) -> Any:
    from storyline.classifier.model import ModelError, load_model

    try:
        return load_model(model_path)
    except ModelError as error:
        raise _fail(str(error)) from None


def _progress_enabled() -> bool:
    return sys.stderr.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storyline")
@click.option("-v", "--verbose", is_flag=True, help="Log details (skipped pages, timings) to stderr.")
def main(verbose: bool) -> None:
    """Separate a web page's story text from its chrome, line by line.

    \b
    storyline predict page.html              # the story text of a page
    storyline predict pages/ --format jsonl  # one JSON record per page
    storyline train ../shared/data/wcxb -o my-model.json
    storyline evaluate ../shared/data/cleaneval --model my-model.json
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="storyline: %(message)s")


@main.command()
@click.argument("inputs", nargs=-1)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "jsonl"]),
    default="text",
    show_default=True,
    help="text: the story text of each page; jsonl: one JSON object per page.",
)
@click.option("-o", "--output", "output", default=None, help="Write here instead of standard output.")
@click.option("--model", "model_path", default=None, help="A model file (default: the model shipped inside storyline).")
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Story probability a line needs to be kept (default: the model's own threshold).",
)
@click.option(
    "--input-type",
    type=KIND,
    default=None,
    help="Read every input as HTML or as plain text (default: sniff).",
)
@click.option("--with-lines", is_flag=True, help="jsonl: add every line with its probability and label.")
def predict(
    inputs: tuple[str, ...],
    fmt: str,
    output: str | None,
    model_path: str | None,
    threshold: float | None,
    input_type: str | None,
    with_lines: bool,
) -> None:
    """Print the story text of pages.

    INPUTS are page files (.html, .htm, .xhtml, .txt, optionally .gz), folders (walked recursively in
    sorted order), JSONL files of page records ({"id", "html"} or {"id", "text"}), or - for standard
    input (the default). A page that cannot be read gets an error record; the run goes on.

    \b
    Examples:
      storyline predict data/examples/news-page.html
      storyline predict pages/ --format jsonl -o stories.jsonl
      curl -s https://example.org | storyline predict -
    """
    from storyline.classifier.prediction import predict_records
    from storyline.classifier.sources import iter_inputs

    model = _load(model_path)
    sources = list(inputs) or ["-"]
    records = predict_records(model, iter_inputs(sources, input_type), threshold, with_lines and fmt == "jsonl")
    several = len(sources) > 1 or any(Path(s).is_dir() or s.endswith((".jsonl", ".jsonl.gz")) for s in sources)
    done = failed = 0
    progress = None
    if _progress_enabled():
        from tqdm import tqdm

        progress = tqdm(desc="pages", unit="page", file=sys.stderr, leave=False)
    with _output(output) as out:
        for record in records:
            done += 1
            if progress is not None:
                progress.update()
            if "error" in record:
                failed += 1
                click.echo(f"storyline: {record['source']}: {record['error']}", err=True)
                if fmt == "jsonl":
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                continue
            if fmt == "jsonl":
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                if several:
                    out.write(("\n" if done > 1 else "") + f"==> {record['source']} <==\n")
                elif done > 1:
                    out.write("\n")
                out.write(record["text"] + ("\n" if record["text"] else ""))
    if progress is not None:
        progress.close()
    if failed:
        click.echo(f"storyline: {done} pages, {failed} failed", err=True)
    if done and failed == done:
        sys.exit(1)


def _datasets(paths: tuple[str, ...], split: str | None) -> list[tuple[str, list[Any]]]:
    from storyline.training.datasets import DatasetError, dataset_name, read_pages

    out = []
    for path in paths:
        try:
            pages = list(read_pages(path))
        except DatasetError as error:
            raise _fail(str(error)) from None
        if split:
            pages = [p for p in pages if p.split is None or p.split == split or split in str(p.split).split("+")]
        if not pages:
            raise _fail(f"{path}: no labelled pages" + (f" in split {split!r}" if split else ""))
        out.append((dataset_name(Path(path)), pages))
    return out


@main.command()
@click.argument("data", nargs=-1, required=True)
@click.option("-o", "--output", "output", required=True, help="Where to write the model (JSON; .gz to compress).")
@click.option("--split", default=None, help="Use only the pages of this split (e.g. train) where a set has splits.")
@click.option(
    "--folds",
    default=5,
    show_default=True,
    type=click.IntRange(2, 20),
    help="Cross-validation folds (grouped by site).",
)
@click.option(
    "--C",
    "c_values",
    multiple=True,
    type=float,
    help="Regularisation strengths to try (default 0.1 and 1).",
)
@click.option(
    "--class-weight",
    "class_weights",
    multiple=True,
    type=click.Choice(["none", "balanced"]),
    help="Class weights to try (default both).",
)
@click.option("--no-sequence", is_flag=True, help="Leave out the sequence pass over neighbouring lines' scores.")
@click.option("--head", "heads", multiple=True, type=KIND, help="Train only these heads (default html and text).")
@click.option("--jobs", default=-1, show_default=True, help="Processes for featurising (-1 = all cores).")
@click.option("--seed", default=0, show_default=True, help="Seed for row sampling during the search.")
def train(
    data: tuple[str, ...],
    output: str,
    split: str | None,
    folds: int,
    c_values: tuple[float, ...],
    class_weights: tuple[str, ...],
    no_sequence: bool,
    heads: tuple[str, ...],
    jobs: int,
    seed: int,
) -> None:
    """Train a model on labelled pages.

    DATA are shared-data sets (a folder holding pages.jsonl.gz, or the file itself: records with html and
    gold) or folders of pages with their gold text beside each (NAME.html + NAME.txt, or NAME.gold.txt).
    Prints a summary of the data, the cross-validation search and the out-of-fold scores.

    \b
    Example:
      storyline train ../shared/data/wcxb ../shared/data/readability -o my-model.json
    """
    from storyline.training.train import C_GRID, TrainingConfig, train_model

    sets = _datasets(data, split)
    config = TrainingConfig(
        folds=folds,
        c_grid=c_values or C_GRID,
        class_weights=tuple(None if w == "none" else w for w in class_weights) or (None, "balanced"),
        sequence=not no_sequence,
        seed=seed,
    )
    say = lambda message: click.echo(message, err=True)  # noqa: E731
    try:
        model, metadata = train_model(
            sets, config, heads or ("html", "text"), jobs=jobs, progress=_progress_enabled(), say=say
        )
    except ValueError as error:
        raise _fail(str(error)) from None
    model.metadata["training"]["sources"] = list(data)
    model.save(output)
    for kind, report in metadata["cv"].items():
        sh, ln = report["cv_shingle"], report["cv_line"]
        say(
            f"{kind} head: C={report['C']:g} class_weight={report['class_weight']} "
            f"threshold={report['threshold']:.2f}; "
            f"out-of-fold shingle F1 {sh['f1']:.3f} (P {sh['precision']:.3f}, R {sh['recall']:.3f}); "
            f"line F1 {ln['f1']:.3f}"
        )
        for name, s in report["cv_by_dataset"].items():
            say(
                f"  {name}: shingle F1 {s['f1']:.3f} (P {s['precision']:.3f}, R {s['recall']:.3f}) "
                f"on {s['pages']} pages"
            )
    say(f"model written to {output}")


@main.command()
@click.argument("data", nargs=-1, required=True)
@click.option("--model", "model_path", default=None, help="A model file (default: the shipped model).")
@click.option("--split", default=None, help="Only pages of this split (e.g. test for dragnet).")
@click.option("--input-type", type=KIND, default=None, help="Feed the pages as HTML or as their plain-text rendering.")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None, help="Override the model's threshold.")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--jobs", default=-1, show_default=True, help="Processes (-1 = all cores).")
def evaluate(
    data: tuple[str, ...],
    model_path: str | None,
    split: str | None,
    input_type: str | None,
    threshold: float | None,
    as_json: bool,
    jobs: int,
) -> None:
    """Score a model on labelled pages, per dataset.

    Line level: precision, recall, F1 and accuracy of the story class. Page level: the shingle F1 of
    ../shared/data/README.md (4-token shingles, averaged over pages). Snippet-only sets report the share
    of must-have snippets found and must-not snippets absent.

    \b
    Example:
      storyline evaluate ../shared/data/cleaneval ../shared/data/l3s-gn1
      storyline evaluate ../shared/data/dragnet --split test --json
    """
    from storyline.training.evaluate import evaluate_pages, summarise

    model = _load(model_path)
    report: dict[str, Any] = {}
    for name, pages in _datasets(data, split):
        results = evaluate_pages(model, pages, input_type, threshold, jobs=jobs, progress=_progress_enabled())
        report[name] = summarise(results)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(
        f"{'dataset':<22}{'pages':>6}  {'line P':>7}{'line R':>7}{'line F1':>8}{'acc':>6}  "
        f"{'shingle P':>9}{'R':>7}{'F1':>7}"
    )
    for name, s in report.items():
        line = s.get("line", {})
        sh = s.get("shingle")
        cells = f"{name:<22}{s['pages']:>6}  "
        cells += (
            f"{line['precision']:>7.3f}{line['recall']:>7.3f}{line['f1']:>8.3f}{line['accuracy']:>6.3f}  "
            if line
            else f"{'':>28}  "
        )
        if sh:
            cells += f"{sh['precision']:>9.3f}{sh['recall']:>7.3f}{sh['f1']:>7.3f}"
        elif "snippets" in s:
            sn = s["snippets"]
            cells += f"snippets: with found {sn['with_found']:.3f}, without absent {sn['without_absent']:.3f}"
        click.echo(cells)
        for page_type, t in s.get("by_page_type", {}).items():
            click.echo(
                f"  {page_type:<20}{t['pages']:>6}  {'':>28}  {t['precision']:>9.3f}{t['recall']:>7.3f}{t['f1']:>7.3f}"
            )


if __name__ == "__main__":  # pragma: no cover
    main()
