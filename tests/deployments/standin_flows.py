"""Stand-in flows with the contract's names and parameters, for exercising deployments end to end.

`upload_sessions` creates one Zenodo deposition per session (title = folder name) with nothing but
the standard library, so a worker run proves that ZENODO_URL/ZENODO_TOKEN reach the flow process.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

from prefect import flow


@flow(name="upload-sessions")
def upload_sessions(
    sessions: list[str],
    raw: bool = False,
    processed: str | None = None,
    custom: str | None = None,
    metadata_template: str | None = None,
    dry_run: bool = False,
) -> list[int]:
    base = os.environ["ZENODO_URL"].rstrip("/")
    headers = {"Authorization": f"Bearer {os.environ['ZENODO_TOKEN']}", "Content-Type": "application/json"}
    created = []
    for session in sessions:
        body = json.dumps({"metadata": {"title": Path(session).name}}).encode()
        request = urllib.request.Request(f"{base}/deposit/depositions", data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            created.append(json.load(response)["id"])
    return created


@flow(name="auto-update")
def auto_update(communities: list[str] | None = None, atlas_path: str | None = None, publish: bool = True) -> int:
    return len(communities or [])
