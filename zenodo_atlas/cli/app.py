"""Top-level typer app: each command group lives in its own module and is mounted here."""

from __future__ import annotations

from typing import Annotated

import typer

from zenodo_atlas.cli import (
    atlas_cmd,
    deploy_cmd,
    errors,
    flows_cmd,
    server_cmd,
    session_cmd,
    transfer_cmd,
    zenodo_cmd,
)

app = typer.Typer(
    name="zenodo-atlas",
    help="Publish field-survey sessions on Zenodo and keep a spatial catalogue (the Atlas) of them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=errors.OneLineUsageGroup,
)


@app.callback()
def _global_options(
    verbose: Annotated[bool, typer.Option(
        "--verbose", help="On failure, show the traceback and Prefect's error logs, not only the one-line reason."
    )] = False,
) -> None:
    errors.verbose = verbose


app.command("demo")(flows_cmd.demo)
app.command("upload")(transfer_cmd.upload)
app.command("download")(transfer_cmd.download)
app.command("auto-update")(flows_cmd.auto_update)
app.command("migrate-check")(flows_cmd.migrate_check)
atlas_cmd.app.command("register")(flows_cmd.register)
atlas_cmd.app.command("publish")(flows_cmd.publish)
app.add_typer(deploy_cmd.app)
app.add_typer(zenodo_cmd.app, name="zenodo")
app.add_typer(session_cmd.app, name="session")
app.add_typer(atlas_cmd.app, name="atlas")
app.add_typer(server_cmd.app, name="server")


def main() -> None:
    app()
