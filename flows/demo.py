"""The end-to-end demo: every flow of the product against a local Zenodo server it starts itself.

It never talks to zenodo.org: the server runs in this process, on 127.0.0.1, with a throw-away
token, and the settings of the subflows point at it only for the duration of the demo (a context
variable, `use_settings`: the process environment is left alone).
"""

from __future__ import annotations

import asyncio
import filecmp
import secrets
import time
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel, SecretStr

from zenodo_atlas.flows.annotations import import_annotations
from zenodo_atlas.flows.auto_update import auto_update
from zenodo_atlas.flows.download import download_session
from zenodo_atlas.flows.publish_atlas import publish_atlas
from zenodo_atlas.flows.register import register_sessions
from zenodo_atlas.flows.upload import upload_sessions
from zenodo_atlas.sessions.sample import write_sample_annotations, write_sample_session
from zenodo_atlas.settings import Settings, current_settings, use_settings
from zenodo_atlas.tasks.atlas_db import atlas_stats, export_atlas, label_names
from zenodo_atlas.zenodo.server import LocalZenodo

DEMO_SESSIONS = (("ASV", "20231021_REU-ST-LEU_ASV-1_01"), ("UAV", "20231104_REU-HERMITAGE_UAV-1_02"))


class DemoSummary(BaseModel):
    zenodo_url: str
    out_dir: str
    atlas_path: str
    sessions: list[dict]
    atlas: dict
    exports: list[str]
    atlas_record: str | None
    auto_update: str
    downloaded: str
    verified_files: int
    seconds: float


def _pointed_at(server: LocalZenodo, token: str, out: Path) -> Settings:
    """The settings every subflow of the demo reads: the local server, a private Atlas and work dir."""
    return current_settings().model_copy(update={
        "zenodo_url": server.api_url, "zenodo_token": SecretStr(token), "sandbox": False,
        "atlas_path": out / "atlas" / "seatizen_atlas.duckdb", "work_dir": out / "work",
        "token_file": out / "no-token-file",
    })


def _verify_download(original: Path, rebuilt: Path) -> int:
    """Every downloaded file equals its original byte for byte, and all raw DCIM came back."""
    rebuilt_files = sorted(p for p in rebuilt.rglob("*") if p.is_file())
    for path in rebuilt_files:
        relative = path.relative_to(rebuilt)
        if not filecmp.cmp(original / relative, path, shallow=False):
            raise AssertionError(f"downloaded session differs from the original at {relative}")
    raw = [p.relative_to(original) for p in (original / "DCIM").rglob("*") if p.is_file()]
    missing = [relative for relative in raw if not (rebuilt / relative).is_file()]
    if missing:
        raise AssertionError(f"{len(missing)} raw file(s) did not come back, e.g. {missing[0]}")
    return len(rebuilt_files)


@flow(name="demo")
async def demo(out_dir: str = "demo-output", frames: int = 40, dcim_mb: float = 4.0) -> DemoSummary:
    """Two sample sessions go through upload, registration, annotation, export, publication,
    auto-update and download, against an embedded local Zenodo."""
    logger = get_run_logger()
    started = time.perf_counter()
    out = Path(out_dir).resolve()
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: give the demo a fresh --out folder")
    token = secrets.token_urlsafe(24)
    with (
        LocalZenodo(tokens={token: 1}, data_dir=out / "local-zenodo") as server,
        use_settings(_pointed_at(server, token, out)) as settings,
    ):
        logger.info("Local Zenodo serving at %s", server.api_url)
        paths = [
            await asyncio.to_thread(write_sample_session, out / "sessions", name=name, platform=platform,
                                    frames=frames, dcim_mb=dcim_mb, seed=index)
            for index, (platform, name) in enumerate(DEMO_SESSIONS)
        ]
        batch = await upload_sessions([str(p) for p in paths], raw=True, processed="fmgbi")
        await register_sessions([str(p) for p in paths])
        atlas = settings.atlas_path
        annotations = await asyncio.to_thread(
            write_sample_annotations, paths[0], out / "annotations", labels=(await label_names(atlas))[:6]
        )
        await import_annotations(str(annotations))
        exports = await export_atlas(atlas, out / "exports")
        publication = await publish_atlas()
        refresh = await auto_update()
        downloaded = await download_session(str(out / "downloaded"), name=paths[0].name)
        verified = await asyncio.to_thread(_verify_download, paths[0], Path(downloaded.folder))
        stats = await atlas_stats(atlas)
        summary = DemoSummary(
            zenodo_url=server.api_url, out_dir=str(out), atlas_path=str(atlas),
            sessions=[
                {"session": s.session, "concept_doi": s.concept_doi, "version": v.label, "doi": v.doi,
                 "files": len(v.archives), "mb": round(sum(a.size for a in v.archives) / 1e6, 1)}
                for s in batch.succeeded for v in s.versions
            ],
            atlas=stats, exports=[str(p) for p in exports],
            atlas_record=f"{publication.version} {publication.doi}" if publication.published else None,
            auto_update=(
                f"{refresh.count('added')} added, {refresh.count('updated')} updated, "
                f"{refresh.count('skipped')} skipped, {refresh.count('failed')} failed, "
                f"atlas {'republished' if refresh.publication and refresh.publication.published else 'unchanged'}"
            ),
            downloaded=downloaded.folder, verified_files=verified, seconds=round(time.perf_counter() - started, 1),
        )
    await acreate_table_artifact(summary.sessions, key="demo-sessions", description="Sessions of the demo")
    return summary
