"""Small helpers flow tests share: inspect the local Zenodo over real HTTP as its owner or anonymously."""

from __future__ import annotations

from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.models import Record


def owner_client(server) -> ZenodoClient:
    return ZenodoClient(server.api_url, server.token, backoff_base=0.01)


async def session_records(server, session_name: str) -> list[Record]:
    async with owner_client(server) as client:
        records = await client.records_by_identifier(f"urn:{session_name}", all_versions=True)
    return sorted(records, key=lambda r: r.id)


def successful_puts(server) -> dict[str, int]:
    """How many bucket PUTs of each key the server answered with success."""
    counts: dict[str, int] = {}
    for request in server.request_log:
        if request.method == "PUT" and "/files/" in request.path and 200 <= request.status < 300:
            key = request.path.rsplit("/", 1)[-1]
            counts[key] = counts.get(key, 0) + 1
    return counts
