"""`zenodo-atlas atlas ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="atlas commands.", no_args_is_help=True)
