"""Turn library exceptions into the CLI's contract: one line on stderr, a non-zero exit."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from zenodo_atlas.errors import ZenodoAtlasError, one_line
from zenodo_atlas.settings import load_settings, use_settings

P = ParamSpec("P")
R = TypeVar("R")

stderr = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` as the one-line reason and return the Exit to raise."""
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


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
                raise fail(one_line(exc)) from None

        return wrapper

    return decorate


def run_flow(coro: Coroutine[Any, Any, R]) -> R:
    """Run a flow (or any coroutine) to completion under the settings read once from the environment
    (every subflow and task sees the same ones), against the background Prefect server when the user
    has none; its failure becomes the one-line error."""
    from zenodo_atlas.cli.prefect_server import prefect_api, prefect_down

    try:
        with (
            use_settings(load_settings()),
            prefect_api(lambda message: stderr.print(message, highlight=False, soft_wrap=True)),
        ):
            return asyncio.run(coro)
    except Exception as exc:
        coro.close()  # never started when the settings were unusable; closing a finished one is a no-op
        raise fail(prefect_down(exc) or one_line(exc)) from None
