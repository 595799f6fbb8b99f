"""The upload flows against the local Zenodo: versions, restricted folders, resumption, batches."""

from __future__ import annotations

import asyncio
import json
import zipfile

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterName

from tests.fixtures.sessions import write_predecessor_metadata
from tests.flows.helpers import owner_client, session_records, successful_puts
from zenodo_atlas.flows.maintenance import clean_drafts, update_metadata
from zenodo_atlas.flows.upload import BatchFailedError, upload_session, upload_sessions
from zenodo_atlas.sessions.archive import iter_archive
from zenodo_atlas.sessions.metadata import build_raw_metadata
from zenodo_atlas.sessions.plan import plan_raw
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.sessions.versions import load_metadata_inputs
from zenodo_atlas.tasks.deposit import PublicationConflictError, PublishedByAnotherRunError
from zenodo_atlas.tasks.progress import artifact_key
from zenodo_atlas.zenodo.server import FaultConfig
from zenodo_atlas.zenodo.streams import IterableSource


async def test_dry_run_plans_without_a_single_request(zenodo_env, sample_session):
    summary = await upload_session(str(sample_session), raw=True, processed="fmgbi", dry_run=True)

    assert summary.dry_run and summary.versions == []
    names = {row["archive"] for row in summary.planned}
    assert {"DCIM.zip", "GPS.zip", "METADATA.zip", "PROCESSED_DATA_IA.zip"} <= names
    assert zenodo_env.request_log == []


async def test_dry_run_says_what_runs_and_leaves_a_plan_never_published(zenodo_env, sample_session):
    state = await upload_sessions([str(sample_session)], raw=True, processed="fmgbi", dry_run=True,
                                  return_state=True)
    await state.aresult()
    expected = f"upload {sample_session.name} raw+processed (dry run)"
    async with get_client() as client:
        # Only this test's runs: the suite's server holds more runs and artifacts than one page.
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[expected])))
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[r.id for r in runs]))
        )
    batch_run = next(r for r in runs if r.id == state.state_details.flow_run_id)
    assert batch_run.name == expected and [r.name for r in runs].count(expected) >= 2  # the batch and its session
    mine = {a.key: a for a in artifacts if a.key and sample_session.name.lower().replace("_", "-") in a.key}
    plan = mine[artifact_key("plan", sample_session.name)]
    assert {"DCIM.zip", "METADATA.zip"} <= {row["archive"] for row in json.loads(plan.data)}
    assert "nothing was published" in plan.description
    batch = [a for a in artifacts if a.key == "upload-batch" and a.flow_run_id == state.state_details.flow_run_id]
    assert [row["status"] for row in json.loads(batch[0].data)] == ["planned (dry run)"]
    these = {r.id for r in runs if r.name == expected}
    assert all(a.description for a in artifacts if a.key and a.flow_run_id in these)


async def test_processed_version_never_carries_restricted_raw_data(zenodo_env, sample_session):
    await upload_session(str(sample_session), raw=True, processed="mi")

    raw, processed = await session_records(zenodo_env, sample_session.name)
    assert raw.version_label == "RAW_DATA" and processed.version_label == "PROCESSED_DATA"
    assert raw.metadata["access_right"] == "restricted"
    assert processed.metadata["access_right"] == "open"
    assert any(f.key.startswith("DCIM") for f in raw.files)
    assert not any(f.key.startswith("DCIM") for f in processed.files)
    assert {"GPS.zip", "METADATA.zip", "PROCESSED_DATA_IA.zip"} <= {f.key for f in processed.files}


async def test_second_processed_version_needs_explicit_consent(zenodo_env, sample_session):
    await upload_session(str(sample_session), raw=True, processed="i")
    (sample_session / "PROCESSED_DATA" / "IA" / "notes.txt").write_text("new content")

    with pytest.raises(PublicationConflictError, match="allow-second-processed"):
        await upload_session(str(sample_session), processed="i")
    await upload_session(str(sample_session), processed="i", allow_second_processed=True)

    labels = [r.version_label for r in await session_records(zenodo_env, sample_session.name)]
    assert labels == ["RAW_DATA", "PROCESSED_DATA", "PROCESSED_DATA"]


async def _draft_holding_the_first_raw_archive(zenodo_env, sample_session):
    """What a run killed after its first upload leaves: an open RAW_DATA draft holding one archive."""
    session = Session.open(sample_session)
    template, people = load_metadata_inputs(None)
    [archives] = plan_raw(session)
    first = archives[0]
    async with owner_client(zenodo_env) as client:
        draft = await client.create_deposition(build_raw_metadata(session, template, people))
        await client.upload(draft.bucket_url, first.name, IterableSource(first.size, lambda: iter_archive(first)))
    return draft, archives


async def test_rerun_resumes_the_open_draft_and_skips_matching_files(zenodo_env, sample_session):
    draft, archives = await _draft_holding_the_first_raw_archive(zenodo_env, sample_session)
    first = archives[0]

    summary = await upload_session(str(sample_session), raw=True)

    [version] = summary.versions
    assert version.record_id == draft.id
    sent = {a.name: a.uploaded for a in version.archives}
    assert sent[first.name] is False and all(sent[a.name] for a in archives[1:])
    assert successful_puts(zenodo_env) == {a.name: 1 for a in archives}
    assert len(await session_records(zenodo_env, sample_session.name)) == 1


async def test_a_lost_double_click_race_names_the_other_runs_doi_not_the_tokens_scopes(zenodo_env, sample_session):
    draft, _ = await _draft_holding_the_first_raw_archive(zenodo_env, sample_session)
    zenodo_env.set_faults(FaultConfig(hold_uploads_after=0))  # this run's archives wait in the server
    this_run = asyncio.ensure_future(upload_session(str(sample_session), raw=True))
    await asyncio.to_thread(zenodo_env.wait_held, 1, 120.0)
    async with owner_client(zenodo_env) as other_run:
        published = await other_run.publish(draft.id)
    zenodo_env.set_faults(FaultConfig())

    with pytest.raises(PublishedByAnotherRunError) as caught:
        await this_run
    message = str(caught.value)
    assert f"https://doi.org/{published.doi}" in message and "published meanwhile by another run" in message
    assert "scopes" not in message and "403" not in message
    assert len(await session_records(zenodo_env, sample_session.name)) == 1


async def test_another_accounts_session_is_refused_before_anything_is_created(zenodo_env, sample_session, monkeypatch):
    await upload_session(str(sample_session), raw=True)
    [raw] = await session_records(zenodo_env, sample_session.name)
    monkeypatch.setenv("ZENODO_TOKEN", zenodo_env.other_token)

    with pytest.raises(PublicationConflictError, match=f"published on Zenodo as {raw.conceptdoi} by another Zenodo "
                                                       "account, which alone can add versions"):
        await upload_session(str(sample_session), processed="fmgbi")
    assert len(await session_records(zenodo_env, sample_session.name)) == 1
    assert not [r for r in zenodo_env.request_log if r.method == "POST" and r.status < 300
                and r.path.endswith("/deposit/depositions")][1:]  # only the owner's first draft was ever created


async def test_raw_is_not_published_twice(zenodo_env, sample_session):
    state = await upload_session(str(sample_session), raw=True, return_state=True)
    first = await state.aresult()
    again = await upload_session(str(sample_session), raw=True)

    assert again.versions == []
    assert len(await session_records(zenodo_env, sample_session.name)) == 1
    async with get_client() as client:
        artifacts = {a.key: a for a in await client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))}
    rows = json.loads(artifacts[artifact_key("archives", sample_session.name)].data)
    md5s = {a.name: a.md5 for v in first.versions for a in v.archives}
    assert rows and all(row["md5"] == f"{md5s[row['archive']][:8]}…" for row in rows)  # fits; full md5 on record
    record = artifacts[artifact_key("record", sample_session.name, "RAW_DATA")]
    assert record.description and f"https://doi.org/{first.versions[0].doi}" in record.data


async def test_batch_reports_failures_and_publishes_the_rest(zenodo_env, sample_sessions):
    good = sample_sessions(platform="UAV")
    broken = sample_sessions(platform="ASV")
    (broken / "METADATA" / "metadata.csv").unlink()

    with pytest.raises(BatchFailedError) as excinfo:
        await upload_sessions([str(good), str(broken)], processed="mi")

    assert broken.name in str(excinfo.value) and "metadata.csv" in str(excinfo.value)
    assert [r.version_label for r in await session_records(zenodo_env, good.name)] == ["PROCESSED_DATA"]
    assert await session_records(zenodo_env, broken.name) == []


async def test_batch_uploads_several_sessions_at_once(zenodo_env, sample_sessions, monkeypatch):
    """With one upload in flight per session, two held uploads can only mean two sessions at once."""
    monkeypatch.setenv("ATLAS_UPLOAD_CONCURRENCY", "1")
    monkeypatch.setenv("ATLAS_PARALLEL_SESSIONS", "2")
    paths = [sample_sessions(platform="UAV", name=f"20231021_REU-ST-LEU_UAV-1_0{i}") for i in (1, 2, 3)]
    zenodo_env.set_faults(FaultConfig(hold_uploads_after=0))
    batch = asyncio.create_task(upload_sessions([str(p) for p in paths], processed="mi"))
    try:
        await asyncio.to_thread(zenodo_env.wait_held, 2, 120.0)
    finally:
        zenodo_env.set_faults(None)

    summary = await batch

    assert sorted(s.session for s in summary.succeeded) == sorted(p.name for p in paths)
    for path in paths:
        assert [r.version_label for r in await session_records(zenodo_env, path.name)] == ["PROCESSED_DATA"]


async def test_update_metadata_rewrites_only_the_last_version(zenodo_env, sample_session):
    await upload_session(str(sample_session), raw=True, processed="i")
    before = await session_records(zenodo_env, sample_session.name)
    edits_before = zenodo_env.count("POST", "edit")

    updated = await update_metadata(str(sample_session), last_only=True)

    assert updated == [before[-1].id]
    assert zenodo_env.count("POST", "edit") == edits_before + 1
    after = await session_records(zenodo_env, sample_session.name)
    assert [r.id for r in after] == [r.id for r in before]


async def test_clean_drafts_discards_only_empty_drafts(zenodo_env, sample_session):
    async with owner_client(zenodo_env) as client:
        empty = await client.create_deposition()
        kept = await client.create_deposition()
        await client.upload(kept.bucket_url, "a.txt", IterableSource(3, lambda: [b"abc"]))

    discarded = await clean_drafts()

    assert discarded == [empty.id]
    async with owner_client(zenodo_env) as client:
        assert (await client.get_deposition(kept.id)).files


async def test_raw_over_the_record_quota_becomes_several_versions_once(zenodo_env, sample_sessions, monkeypatch):
    sample_session = sample_sessions(platform="UAV", frames=40, dcim_mb=0)
    monkeypatch.setenv("ATLAS_RECORD_QUOTA_GB", "0.00005")
    monkeypatch.setenv("ATLAS_DCIM_PART_GB", "0.00002")
    parts = plan_raw(Session.open(sample_session), dcim_part_bytes=20_000, record_bytes=50_000)
    assert len(parts) > 1

    first = await upload_session(str(sample_session), raw=True)
    again = await upload_session(str(sample_session), raw=True)

    assert [v.label for v in first.versions] == ["RAW_DATA"] * len(parts) and again.versions == []
    records = await session_records(zenodo_env, sample_session.name)
    assert [{f.key for f in r.files} for r in records] == [{a.name for a in part} for part in parts]


async def test_iso19115_file_travels_in_the_processed_metadata_archive(zenodo_env, sample_session, tmp_path):
    await upload_session(str(sample_session), processed="m", iso19115=True)

    iso = sample_session / "METADATA" / f"{sample_session.name}_iso_19115.xml"
    assert iso.is_file()
    [record] = await session_records(zenodo_env, sample_session.name)
    async with owner_client(zenodo_env) as client:
        archive = await client.download_record_file(record, "METADATA.zip", tmp_path)
    with zipfile.ZipFile(archive) as zipped:
        assert zipped.read(iso.name) == iso.read_bytes()


async def test_rerunning_a_finished_upload_sends_nothing(zenodo_env, sample_session):
    first = await upload_session(str(sample_session), raw=True, processed="fmgbi")
    requests = len(zenodo_env.request_log)

    again = await upload_session(str(sample_session), raw=True, processed="fmgbi")

    assert again.versions == [] and again.unchanged == ["RAW_DATA part 1", f"PROCESSED_DATA {first.versions[-1].doi}"]
    sent = zenodo_env.request_log[requests:]
    assert [r for r in sent if r.method not in ("GET", "HEAD")] == []
    assert len(await session_records(zenodo_env, sample_session.name)) == 2


async def test_links_leaving_the_session_are_never_published(zenodo_env, sample_session, tmp_path):
    secret = tmp_path / "outside" / "host_secret"
    secret.parent.mkdir()
    secret.write_bytes(b"OUTSIDE-SECRET-4f1c")
    (sample_session / "SENSORS").mkdir(exist_ok=True)
    (sample_session / "SENSORS" / "host_secret").symlink_to(secret)
    (sample_session / "SENSORS" / "outside_dir").symlink_to(secret.parent, target_is_directory=True)
    inner = sample_session / "SENSORS" / "inner.txt"
    inner.write_bytes(b"inside the session")
    (sample_session / "SENSORS" / "inner_link.txt").symlink_to(inner)

    await upload_session(str(sample_session), raw=True)

    blobs = sorted((zenodo_env.data_dir / "blobs").iterdir())
    assert blobs and not any(b"OUTSIDE-SECRET" in blob.read_bytes() for blob in blobs)
    [sensors] = [b for b in blobs if zipfile.is_zipfile(b) and "inner.txt" in zipfile.ZipFile(b).namelist()]
    with zipfile.ZipFile(sensors) as zipped:
        assert zipped.read("inner_link.txt") == b"inside the session"
        assert not [n for n in zipped.namelist() if "host_secret" in n or "outside_dir" in n]


async def test_the_predecessors_metadata_json_and_people_files_upload_unchanged(
    zenodo_env, sample_session, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the predecessor names its people files from the working folder
    template = write_predecessor_metadata(tmp_path)

    await upload_session(str(sample_session), raw=True, processed="mi", metadata_template=str(template))

    raw, processed = await session_records(zenodo_env, sample_session.name)
    for record in (raw, processed):
        assert [c["name"] for c in record.metadata["creators"]] == ["Josiah Carberry", "Marie Rivière"]
        typed = {(c["name"], c["type"]) for c in record.metadata["contributors"]}
        assert {("Alex Smith", "DataManager"), ("Marie Rivière", "DataCollector")} <= typed
