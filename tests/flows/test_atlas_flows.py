"""Registration, publication and the nightly refresh of the Atlas, against the local Zenodo."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey
from prefect.exceptions import ObjectNotFound

from tests.flows.helpers import owner_client, session_records
from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.inventory import counts, known_versions
from zenodo_atlas.flows.auto_update import auto_update
from zenodo_atlas.flows.publish_atlas import publish_atlas
from zenodo_atlas.flows.register import RegistrationFailedError, register_sessions
from zenodo_atlas.flows.upload import upload_session
from zenodo_atlas.tasks.transfer import DOWNLOAD_LIMIT


def atlas_counts() -> dict[str, int]:
    con = open_atlas(Path(os.environ["ATLAS_ATLAS_PATH"]))
    try:
        return counts(con)
    finally:
        con.close()


@pytest.fixture(autouse=True)
def community(monkeypatch):
    monkeypatch.setenv("ATLAS_COMMUNITIES", '["seatizen-data"]')


async def publish_processed(path: Path) -> None:
    await upload_session(str(path), raw=True, processed="mi", metadata_template=None)


async def test_register_local_then_remote_without_duplicates(zenodo_env, sample_session):
    await publish_processed(sample_session)

    [local] = await register_sessions([str(sample_session)])
    after_local = atlas_counts()
    [remote] = await register_sessions([sample_session.name])

    assert local.frames_added > 0 and local.predictions_added > 0 and local.versions_added == 2
    assert remote.frames_added == 0 and remote.predictions_added == 0 and remote.versions_added == 0
    assert atlas_counts() == after_local


async def test_unpublished_session_is_refused_and_nothing_written(zenodo_env, sample_session):
    with pytest.raises(RegistrationFailedError, match="not published on Zenodo"):
        await register_sessions([str(sample_session)])
    assert atlas_counts()["sessions"] == 0


async def test_publish_twice_without_change_makes_one_version(zenodo_env, sample_sessions):
    first = sample_sessions(platform="UAV")
    await publish_processed(first)
    await register_sessions([str(first)])

    one = await publish_atlas()
    two = await publish_atlas()

    assert one.published and one.version == "v1.0.0"
    assert not two.published and two.reason == "content unchanged"
    assert len(await session_records(zenodo_env, "seatizen-atlas")) == 1

    second = sample_sessions(platform="ASV")
    await publish_processed(second)
    await register_sessions([str(second)])
    three = await publish_atlas()

    assert three.published and three.version == "v1.0.1"
    versions = await session_records(zenodo_env, "seatizen-atlas")
    assert [v.version_label for v in versions] == ["v1.0.0", "v1.0.1"]
    assert "atlas.duckdb" in {f.key for f in versions[-1].files}
    assert {"seatizen_atlas_map.html", "seatizen_atlas_overview.png"} <= {f.key for f in versions[-1].files}
    places = {loc["place"] for loc in versions[-1].metadata["locations"]}
    assert places == {first.name, second.name}  # Zenodo shows the session centroids
    async with get_client() as client:
        overview = await client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=["atlas-overview"]))
        )
        records = await client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(like_="atlas-record-"))
        )
    assert overview and overview[0].type == "image" and overview[0].data.startswith("data:image/png;base64,")
    assert overview[0].description and all(r.description for r in records)
    assert {r.key for r in records} >= {"atlas-record-v1-0-0", "atlas-record-v1-0-1"}  # one key per version


async def publish_broken_session(server, name: str) -> None:
    """A session record whose METADATA.zip is not a zip: registering it must fail cleanly."""
    from zenodo_atlas.zenodo.models import Community, Creator, DepositMetadata, RelatedIdentifier
    from zenodo_atlas.zenodo.streams import BytesSource

    metadata = DepositMetadata(
        title=name, creators=[Creator(name="Doe, Jane")], description="broken", license="cc-by-4.0",
        version="PROCESSED_DATA", communities=[Community(identifier="seatizen-data")],
        related_identifiers=[RelatedIdentifier(identifier=f"urn:{name}", relation="isAlternateIdentifier")],
    )
    async with owner_client(server) as client:
        draft = await client.create_deposition(metadata)
        await client.upload(draft.bucket_url, "METADATA.zip", BytesSource(b"not a zip at all"))
        await client.publish(draft.id)


async def test_auto_update_adds_new_sessions_then_finds_nothing_new(zenodo_env, sample_session):
    await publish_processed(sample_session)

    first = await auto_update()
    second = await auto_update()

    assert [(o.session, o.status) for o in first.outcomes if o.status != "skipped"] == [
        (sample_session.name, "added")
    ]
    assert first.publication is not None and first.publication.published
    assert second.count("added") == second.count("updated") == 0 and second.publication is None
    assert second.watermark_before == first.watermark_after
    assert len(await session_records(zenodo_env, "seatizen-atlas")) == 1
    assert atlas_counts()["frames"] > 0


async def test_auto_update_registers_new_versions_of_known_sessions(zenodo_env, sample_session):
    await publish_processed(sample_session)
    await auto_update(publish=False)
    (sample_session / "METADATA" / "notes.txt").write_text("a second processing")  # same content: nothing to do
    await upload_session(str(sample_session), processed="mi", allow_second_processed=True)

    refresh = await auto_update(publish=False)

    [outcome] = [o for o in refresh.outcomes if o.session == sample_session.name]
    assert outcome.status == "updated" and outcome.detail.startswith("1 new version")
    con = open_atlas(Path(os.environ["ATLAS_ATLAS_PATH"]))
    try:
        [concept] = known_versions(con).values()
    finally:
        con.close()
    assert concept == {r.id for r in await session_records(zenodo_env, sample_session.name)}


async def test_failing_session_holds_the_watermark_back(zenodo_env, sample_session):
    await publish_broken_session(zenodo_env, "20240101_REU-Broken_ASV-1_01")
    await publish_processed(sample_session)

    first = await auto_update(publish=False)
    second = await auto_update(publish=False)

    statuses = {o.session: o.status for o in first.outcomes}
    assert statuses["20240101_REU-Broken_ASV-1_01"] == "failed"
    assert statuses[sample_session.name] == "added"
    assert first.watermark_after < datetime.now(UTC)
    again = {o.session: o.status for o in second.outcomes}
    assert again["20240101_REU-Broken_ASV-1_01"] == "failed"
    assert again[sample_session.name] == "skipped"
    assert atlas_counts()["sessions"] == 1


async def test_rerun_after_a_crash_completes_without_duplicates(zenodo_env, sample_sessions):
    done, pending = sample_sessions(platform="UAV"), sample_sessions(platform="ASV")
    await publish_processed(done)
    await publish_processed(pending)
    await register_sessions([str(done)])
    partial = atlas_counts()

    refresh = await auto_update(publish=False)

    statuses = {o.session: o.status for o in refresh.outcomes}
    assert statuses == {done.name: "skipped", pending.name: "added"}
    final = atlas_counts()
    assert final["sessions"] == 2 and final["frames"] > partial["frames"]


async def test_registration_and_auto_update_downloads_take_the_global_download_limit(
    zenodo_env, sample_session, monkeypatch
):
    await publish_processed(sample_session)
    monkeypatch.setenv("ATLAS_GLOBAL_TRANSFER_SLOTS", "3")
    for run in (lambda: register_sessions([sample_session.name]), lambda: auto_update(publish=False)):
        async with get_client() as client:
            with contextlib.suppress(ObjectNotFound):
                await client.delete_global_concurrency_limit_by_name(DOWNLOAD_LIMIT)
        await run()
        async with get_client() as client:  # created on first use with the configured size, then released
            limit = await client.read_global_concurrency_limit_by_name(DOWNLOAD_LIMIT)
        assert (limit.limit, limit.active_slots) == (3, 0)
