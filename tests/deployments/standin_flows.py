"""Stand-in flows with the contract's names and parameters, for exercising deployments end to end.

`upload_sessions` creates one Zenodo deposition per session (title = folder name), finding the token
the way the real flows do (environment, token file, then the Secret block a deployment names).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

from prefect import flow

from zenodo_atlas.settings import Settings
from zenodo_atlas.tasks.connections import resolve_token


def _create_deposition(api_url: str, token: str, title: str) -> int:
    body = json.dumps({"metadata": {"title": title}}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(f"{api_url}/deposit/depositions", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["id"]


@flow(name="upload-sessions")
async def upload_sessions(
    sessions: list[str],
    raw: bool = False,
    processed: str | None = None,
    custom: str | None = None,
    metadata_template: str | None = None,
    dry_run: bool = False,
) -> list[int]:
    settings = Settings()
    token = await resolve_token(settings, required=True)
    api_url = settings.zenodo_url.rstrip("/")
    return [
        await asyncio.to_thread(_create_deposition, api_url, token.get_secret_value(), Path(s).name) for s in sessions
    ]


@flow(name="auto-update")
def auto_update(communities: list[str] | None = None, atlas_path: str | None = None, publish: bool = True) -> int:
    return len(communities or [])
