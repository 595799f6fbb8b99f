"""Turn library exceptions into the CLI's contract: one line on stderr, a non-zero exit."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

P = ParamSpec("P")
R = TypeVar("R")

stderr = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` as the one-line reason and return the Exit to raise."""
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def one_line_errors(*expected: type[BaseException]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Report the given exception types (and ValueError/OSError) as one line, exit 1."""
    caught = (*expected, ValueError, OSError)

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except caught as exc:
                raise fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None

        return wrapper

    return decorate


def run_flow(coro: Coroutine[Any, Any, R]) -> R:
    """Run a flow (or any coroutine) to completion, against the background Prefect server when the user
    has none; its failure becomes the one-line error."""
    from zenodo_atlas.cli.prefect_server import prefect_api

    try:
        with prefect_api(lambda message: stderr.print(message, highlight=False, soft_wrap=True)):
            return asyncio.run(coro)
    except Exception as exc:
        raise fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
