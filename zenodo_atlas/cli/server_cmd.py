"""`zenodo-atlas server ...`: the background Prefect server flow commands start once and reuse."""

from __future__ import annotations

import typer

from zenodo_atlas.cli import prefect_server
from zenodo_atlas.cli.errors import fail

app = typer.Typer(
    help="The background Prefect server that flow commands start once and reuse (when PREFECT_API_URL is unset).",
    no_args_is_help=True,
)


@app.command()
def start() -> None:
    """Start the background server now (flow commands otherwise start it on first use) and print its URL.

    Example:
      zenodo-atlas server start
    """
    try:
        state, started = prefect_server.ensure()
    except prefect_server.ServerStartError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{'started' if started else 'already running'}: {state.api_url.removesuffix('/api')} (pid {state.pid})")
    if (problem := prefect_server.ensure_warm()) is not None:
        typer.echo(problem, err=True)


@app.command()
def status() -> None:
    """Print the background server's URL, or exit 1 if none is running.

    Example:
      zenodo-atlas server status
    """
    state = prefect_server.running()
    if state is None:
        typer.echo("no background Prefect server is running")
        raise typer.Exit(1)
    typer.echo(f"running: {state.api_url.removesuffix('/api')} (pid {state.pid})")


@app.command()
def stop() -> None:
    """Stop the background server (its runs stay in $PREFECT_HOME/prefect.db).

    Example:
      zenodo-atlas server stop
    """
    state = prefect_server.stop()
    typer.echo(f"stopped the server on port {state.port}" if state else "no background Prefect server was running")
