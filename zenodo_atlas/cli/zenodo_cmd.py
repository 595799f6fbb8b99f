"""`zenodo-atlas zenodo ...` commands."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zenodo_atlas.cli.errors import fail

if TYPE_CHECKING:
    from zenodo_atlas.zenodo.server import LocalZenodo

app = typer.Typer(help="The embedded Zenodo-compatible server (tests, demos, dry runs).", no_args_is_help=True)


def _tokens(token_file: Path | None) -> list[str]:
    """Accepted tokens from --token-file (one a line) or ZENODO_TOKEN (comma-separated), never argv."""
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise fail(f"--token-file {token_file}: cannot be read ({exc.strerror}); give a file of tokens") from None
        tokens = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        where = f"--token-file {token_file}"
    else:
        tokens = [t.strip() for t in os.environ.get("ZENODO_TOKEN", "").split(",") if t.strip()]
        where = "ZENODO_TOKEN"
    if not tokens:
        raise fail(f"no token in {where}: set ZENODO_TOKEN=<token>[,<token 2>...] or give --token-file FILE "
                   "(one token a line) for clients to authenticate with")
    return tokens


@app.command()
def serve(
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", dir_okay=False,
                     help="File of accepted tokens, one a line (owner 1, 2, ...). Default: ZENODO_TOKEN, "
                          "comma-separated. Tokens are never taken on the command line, where `ps` shows them."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0 picks a free one).")] = 8080,
    data_dir: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="Where records and files persist; a temporary directory if omitted."),
    ] = None,
    doi_prefix: Annotated[str, typer.Option(help="Prefix of the DOIs minted.")] = "10.5072",
    realistic: Annotated[
        bool,
        typer.Option("--realistic", help="Behave like a busy zenodo.org: search lags writes, search budget and "
                     "page caps, guest/token rate limits with 429s, thumbnails objects, 504 after applied actions."),
    ] = False,
    index_lag: Annotated[
        float, typer.Option(min=0, help="With --realistic: seconds before a write shows in search.")
    ] = 2.0,
    timeout_rate: Annotated[
        float, typer.Option(min=0, max=1, help="With --realistic: share of creates/newversions/publishes/"
                            "file PUTs answered 504 after being applied.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="With --realistic: seed of the 504 draws.")] = 0,
) -> None:
    """Serve a local Zenodo-compatible API at http://HOST:PORT/api until Ctrl-C.

    The tokens it accepts come from ZENODO_TOKEN (comma-separated) or --token-file, not from argv.

    Example (a dry run against a zenodo.org-like server):
      ZENODO_TOKEN=dev-token zenodo-atlas zenodo serve --port 5000 --data-dir ./local-zenodo --realistic
    """
    from zenodo_atlas.zenodo.server import LocalZenodo, Realism

    tokens = _tokens(token_file)
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    owners = {t: owner for owner, t in enumerate(dict.fromkeys(tokens), start=1)}
    realism = Realism(index_lag=index_lag, timeout_after_commit_rate=timeout_rate, seed=seed) if realistic else None
    server = LocalZenodo(host=host, port=port, tokens=owners, data_dir=data_dir, doi_prefix=doi_prefix,
                         realism=realism)
    try:
        asyncio.run(_serve(server, persistent=data_dir is not None))
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None


async def _serve(server: LocalZenodo, *, persistent: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        where = f"data in {server.data_dir}" if persistent else "temporary data"
        mode = ", realistic mode" if server.realism is not None else ""
        typer.echo(f"Local Zenodo serving at {server.api_url} ({where}{mode}). Press Ctrl-C to stop.")
        await stop.wait()
    typer.echo("Local Zenodo stopped.")
