"""`zenodo-atlas zenodo ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="zenodo commands.", no_args_is_help=True)
