"""How commands print results: `--json` for scripts, tables that never cut an identifier."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from pydantic_core import to_jsonable_python
from rich.console import Console
from rich.table import Column, Table

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (for scripts).")]


def emit_json(result: Any) -> None:
    """The result (pydantic models, paths, dates included) as one JSON document on stdout."""
    typer.echo(json.dumps(to_jsonable_python(result), indent=2, ensure_ascii=False))


def result_table(*headers: str, title: str | None = None) -> Table:
    """A table whose cells wrap (fold) rather than end in "…" when the terminal is narrow."""
    return Table(*(Column(h, overflow="fold") for h in headers), title=title, title_justify="left")


def print_table(table: Table, console: Console | None = None) -> None:
    """On a terminal, fit it; into a pipe or file, print it at its natural width, nothing cut."""
    console = console or Console(highlight=False)
    if console.is_terminal:
        console.print(table)
        return
    wide = Console(file=console.file or sys.stdout, width=1_000_000, highlight=False, color_system=None)
    wide.print(table, crop=False)
