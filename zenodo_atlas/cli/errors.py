"""Turn library exceptions into the CLI's contract: one line on stderr, a non-zero exit.

`--verbose` (on the top-level command) keeps tracebacks and Prefect's own error logs; without it a
failing flow prints only its root cause, and Ctrl-C one line with a hint (exit 130).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer._click import exceptions as usage  # typer vendors click; its usage errors live here
from typer.core import TyperGroup

from zenodo_atlas.errors import ZenodoAtlasError, one_line
from zenodo_atlas.settings import load_settings, use_settings

P = ParamSpec("P")
R = TypeVar("R")

stderr = Console(stderr=True)
INTERRUPTED = 130

verbose = False
"""Set by the top-level `--verbose` option."""


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` as the one-line reason and return the Exit to raise."""
    line = " ".join(message.split())
    stderr.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def report(exc: BaseException, code: int = 1, reason: str | None = None) -> typer.Exit:
    """`fail` with `reason`, else the exception's own; the traceback too under `--verbose`."""
    if verbose:
        stderr.print("".join(traceback.format_exception(exc)), highlight=False, markup=False)
    return fail(reason or one_line(exc), code)


def one_line_errors(*expected: type[BaseException]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Report the given exception types, any project error (ZenodoAtlasError) and ValueError/OSError as
    one line, exit 1."""
    caught: tuple[type[BaseException], ...] = (*expected, ZenodoAtlasError, ValueError, OSError)

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except caught as exc:
                raise report(exc) from None
            except KeyboardInterrupt:
                raise fail("interrupted (Ctrl-C); run the same command again to redo it", INTERRUPTED) from None

        return wrapper

    return decorate


class _OneLineLogs(logging.Filter):
    """Drops Prefect's error records (the CLI prints their root cause) and tracebacks from the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if verbose:
            return True
        if record.levelno >= logging.ERROR and record.name.startswith("prefect"):
            return False
        record.exc_info = record.exc_text = None
        return True


def _quiet_prefect_logs() -> None:
    """Filter the console handlers Prefect installed (they survive its later incremental setups)."""
    for name in ("", "prefect._internal"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, _OneLineLogs) for f in handler.filters):
                handler.addFilter(_OneLineLogs())


def run_flow(coro: Coroutine[Any, Any, R]) -> R:
    """Run a flow (or any coroutine) to completion under the settings read once from the environment
    (every subflow and task sees the same ones), against the background Prefect server when the user
    has none; its failure becomes the one-line error."""
    from zenodo_atlas.cli.prefect_server import prefect_api, prefect_down

    _quiet_prefect_logs()
    try:
        with (
            use_settings(load_settings()),
            prefect_api(lambda message: stderr.print(message, highlight=False, soft_wrap=True)),
        ):
            return asyncio.run(coro)
    except KeyboardInterrupt:
        raise fail(
            "interrupted (Ctrl-C); run the same command again: it resumes open drafts and skips finished files",
            INTERRUPTED,
        ) from None
    except Exception as exc:
        coro.close()  # never started when the settings were unusable; closing a finished one is a no-op
        raise report(exc, reason=prefect_down(exc)) from None


class OneLineUsageGroup(TyperGroup):
    """The top-level group: a usage mistake (missing option, bad value, unknown command) is one line too."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        if not standalone_mode:
            return super().main(*args, **kwargs)
        try:
            result = super().main(*args, **kwargs)
        except usage.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except usage.ClickException as exc:
            where = exc.ctx.command_path if isinstance(exc, usage.UsageError) and exc.ctx else self.name
            fail(f"{exc.format_message()} (see `{where} --help`)", exc.exit_code)
            sys.exit(exc.exit_code)
        except typer.Abort:
            fail("aborted", 1)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)
