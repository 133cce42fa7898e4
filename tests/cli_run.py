"""Running the command line in-process for tests: exit code, stdout and stderr, tracebacks re-raised."""

from __future__ import annotations

from click.testing import CliRunner

from storyline.cli import main


def run(*args: str, input: bytes | str | None = None) -> tuple[int, str, str]:
    """Invoke ``storyline ARGS``; an exception other than a clean exit fails the test with its traceback."""
    result = CliRunner().invoke(main, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
