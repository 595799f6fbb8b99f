"""Registration, publication and the nightly refresh of the Atlas, against the local Zenodo."""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    FlowRunFilter,
    FlowRunFilterName,
)
from prefect.exceptions import ObjectNotFound

from tests.fixtures.predecessor import publish_like_predecessor
from tests.flows.helpers import owner_client, session_records
from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.etl import harvest_watermark
from zenodo_atlas.atlas.inventory import counts, known_versions
from zenodo_atlas.flows.auto_update import auto_update
from zenodo_atlas.flows.publish_atlas import publish_atlas
from zenodo_atlas.flows.register import RegistrationFailedError, register_sessions
from zenodo_atlas.flows.upload import upload_session
from zenodo_atlas.tasks.transfer import DOWNLOAD_LIMIT
from zenodo_atlas.zenodo.errors import ServerError
from zenodo_atlas.zenodo.models import DepositMetadata
from zenodo_atlas.zenodo.server.faults import FaultConfig


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
    con = open_atlas(Path(os.environ["ATLAS_ATLAS_PATH"]))
    try:
        [(observers,)] = con.execute("SELECT recorded_by FROM deposit").fetchall()
    finally:
        con.close()
    assert observers and "Doe, Jane" in observers  # the DataCollectors of the session's records


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
    publications = Path(os.environ["ATLAS_WORK_DIR"]) / "atlas-publication"
    assert list(publications.iterdir()) == [], "each run copies into a folder of its own and removes it"
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
    wanted = ["publish atlas", f"register {first.name}", f"register {second.name}"]
    async with get_client() as client:
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=wanted)))
    assert set(wanted) <= {r.name for r in runs}  # says what runs


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


async def test_empty_search_answers_fail_the_nightly_and_keep_the_watermark(zenodo_env, sample_sessions):
    """Absence of evidence is not evidence of absence: a search answered with an empty 200 body is an error."""
    early, late = sample_sessions(platform="UAV"), sample_sessions(platform="ASV")
    await publish_processed(early)
    await auto_update(publish=False)
    watermark = read_watermark_now()
    await publish_processed(late)

    zenodo_env.set_faults(FaultConfig(empty_searches=True))
    try:
        with pytest.raises(ServerError, match="empty body where a search page was expected"):
            await auto_update(publish=False)
        with pytest.raises(ServerError, match="empty body"):
            await upload_session(str(sample_sessions(name="20240301_MUS-Le-Morne_UAV-1_01")), raw=True)
    finally:
        zenodo_env.set_faults(None)

    assert read_watermark_now() == watermark
    async with owner_client(zenodo_env) as client:
        assert await client.list_depositions(status="draft") == []
    healthy = await auto_update(publish=False)
    statuses = {o.session: o.status for o in healthy.outcomes}
    assert statuses[late.name] == "added" and "failed" not in statuses.values()
    assert atlas_counts()["sessions"] == 2


async def test_a_failed_atlas_publication_is_retried_by_the_next_nightly(zenodo_env, sample_session):
    await publish_processed(sample_session)
    zenodo_env.set_quota(max_record_files=1)  # the Atlas record (database, exports, fingerprint) cannot fit
    with pytest.raises(Exception, match=r"(?i)quota|files"):
        await auto_update()
    zenodo_env.set_quota(max_record_files=100)

    retry = await auto_update()

    assert retry.count("added") == retry.count("updated") == 0
    assert retry.publication is not None and retry.publication.published
    [atlas_record] = await session_records(zenodo_env, "seatizen-atlas")
    assert atlas_record.version_label == retry.publication.version
    assert (await auto_update()).publication is None  # published: nothing pending any more


def read_watermark_now() -> datetime | None:
    con = open_atlas(Path(os.environ["ATLAS_ATLAS_PATH"]))
    try:
        return harvest_watermark(con)
    finally:
        con.close()


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


async def test_a_session_published_by_the_predecessor_registers_from_its_local_folder(
    zenodo_env, sample_session, tmp_path
):
    _raw, processed = await publish_like_predecessor(zenodo_env, sample_session, tmp_path / "predecessor")

    [report] = await register_sessions([str(sample_session)])

    assert report.versions_added == 2 and not any("match" in w for w in report.warnings)
    downloads = [r.status for r in zenodo_env.request_log if r.kind == "file_download"]
    assert downloads and set(downloads) == {206}  # matched by the zips' directories, nothing fetched whole
    con = open_atlas(Path(os.environ["ATLAS_ATLAS_PATH"]))
    try:
        frames = con.execute(
            "SELECT file_name, record_id, latitude, longitude FROM frame ORDER BY file_name"
        ).df()
        predictions = con.execute(
            "SELECT f.file_name, c.name AS class, p.score, p.record_id FROM multilabel_prediction p"
            " JOIN frame f ON f.id = p.frame_id JOIN multilabel_class c ON c.id = p.class_id"
        ).df()
    finally:
        con.close()
    useful = pd.read_csv(sample_session / "METADATA" / "predictions_gps.csv")
    meta = pd.read_csv(sample_session / "METADATA" / "metadata.csv").set_index("FileName").loc[frames.file_name]
    assert frames.file_name.tolist() == sorted(useful.FileName)
    assert set(frames.record_id) == set(predictions.record_id) == {processed.id}
    assert frames.latitude.tolist() == meta.GPSLatitude.tolist()
    assert frames.longitude.tolist() == meta.GPSLongitude.tolist()
    scores = pd.read_csv(next((sample_session / "PROCESSED_DATA" / "IA").glob("*_scores.csv")))
    assert len(predictions) == scores.shape[0] * (scores.shape[1] - 1)
    assert predictions.score.sum() == pytest.approx(scores.drop(columns="FileName").to_numpy().sum())


PREDECESSOR_ATLAS_FILES = {  # what the predecessor's manager and the monitoring dashboard download
    "seatizen_atlas_db.gpkg", "session_doi.csv", "metadata_images.csv", "metadata_multilabel_predictions.csv",
    "metadata_multilabel_annotation.csv", "darwincore_multilabel_annotation.zip",
}


async def test_the_atlas_record_keeps_the_templates_people_and_the_files_consumers_read(
    zenodo_env, sample_session, tmp_path, monkeypatch
):
    # The predecessor's metadata_seatizen_atlas.json layout: creators with ORCIDs, a description file
    # named from the working folder, its own version string (replaced by the next Atlas label).
    monkeypatch.chdir(tmp_path)
    (tmp_path / "metadata" / "descriptions").mkdir(parents=True)
    (tmp_path / "metadata" / "descriptions" / "description_seatizen_atlas.txt").write_text(
        "The Seatizen Atlas collects every session.\n<br><br>\nIt is curated by people.\n"
    )
    creators = [
        {"name": "Josiah Carberry", "affiliation": "Brown University", "orcid": "0000-0002-1825-0097"},
        {"name": "Marie Rivière", "affiliation": "Ifremer DOI, La Réunion, France"},
    ]
    (tmp_path / "metadata" / "metadata_seatizen_atlas.json").write_text(json.dumps({
        "creators": creators,
        "related_identifiers": [{"identifier": "https://zenodo.org/doi/10.5281/zenodo.11125847",
                                 "relation": "isMetadataFor", "resource_type": "dataset"}],
        "_NB": "open, restricted", "access_right": "open", "license": "cc-by-4.0",
        "description": "./metadata/descriptions/description_seatizen_atlas.txt",
        "keywords": ["Coral Reef", "Seatizen Atlas"], "version": "v1.2.6", "communities": ["seatizen-data"],
    }))
    await publish_processed(sample_session)
    await register_sessions([str(sample_session)])
    monkeypatch.setenv("ATLAS_ATLAS_TEMPLATE", "metadata/metadata_seatizen_atlas.json")

    await publish_atlas()
    monkeypatch.delenv("ATLAS_ATLAS_TEMPLATE")
    await publish_atlas(force=True)  # without the template: the record's own people stay

    records = await session_records(zenodo_env, "seatizen-atlas")
    assert len(records) == 2
    for record in records:
        meta = record.metadata
        assert [{k: c.get(k) for k in ("name", "affiliation", "orcid")} for c in meta["creators"]] == [
            {**c, "orcid": c.get("orcid")} for c in creators
        ]
        assert meta["description"] == "The Seatizen Atlas collects every session.<br><br>It is curated by people."
        assert {f.key for f in record.files} >= PREDECESSOR_ATLAS_FILES


async def test_a_session_whose_processed_version_was_deprecated_says_so(zenodo_env, sample_session, tmp_path):
    _raw, processed = await publish_like_predecessor(zenodo_env, sample_session, tmp_path / "predecessor")
    async with owner_client(zenodo_env) as client:  # the predecessor relabels superseded versions
        draft = await client.edit(processed.id)
        kept = {k: v for k, v in draft.metadata.items() if k in DepositMetadata.model_fields and k != "prereserve_doi"}
        metadata = DepositMetadata.model_validate({**kept, "version": "DEPRECATED"})
        await client.update_deposition(draft.id, metadata)
        await client.publish(draft.id)

    with pytest.raises(RegistrationFailedError, match=r"METADATA\.zip .*DEPRECATED version\(s\) " + str(processed.id)):
        await register_sessions([sample_session.name])
    assert atlas_counts()["sessions"] == 0


async def test_a_local_folder_that_matches_no_archive_falls_back_to_the_newest_with_a_warning(
    zenodo_env, sample_session, tmp_path
):
    _raw, processed = await publish_like_predecessor(zenodo_env, sample_session, tmp_path / "predecessor")
    (sample_session / "METADATA" / "notes_added_later.txt").write_text("reprocessed locally\n")

    [report] = await register_sessions([str(sample_session)])

    assert any(f"registered as version {processed.id}" in w for w in report.warnings)
    assert report.frames_added > 0
