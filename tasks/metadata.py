"""Task that rewrites a published version's metadata the only way Zenodo allows: edit, PUT, publish."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.models import Deposition, DepositMetadata


@task(name="rewrite-metadata", task_run_name="rewrite-metadata-{record_id}", cache_policy=NO_CACHE)
async def rewrite_metadata(client: ZenodoClient, record_id: int, metadata: DepositMetadata) -> Deposition:
    """A failed PUT discards the edit, so the record is never left half-edited."""
    await client.edit(record_id)
    try:
        await client.update_deposition(record_id, metadata)
    except Exception:
        await client.discard(record_id)
        raise
    return await client.publish(record_id)
