"""`zenodo-atlas session ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="session commands.", no_args_is_help=True)
