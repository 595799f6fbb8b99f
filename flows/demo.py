"""The end-to-end demo: every flow of the product against a local Zenodo server it starts itself.

It never talks to zenodo.org: the server runs in this process, on 127.0.0.1, with a throw-away
token, and the settings of the subflows point at it only for the duration of the demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import filecmp
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel

from zenodo_atlas.flows.annotations import import_annotations
from zenodo_atlas.flows.auto_update import auto_update
from zenodo_atlas.flows.download import download_session
from zenodo_atlas.flows.publish_atlas import publish_atlas
from zenodo_atlas.flows.register import register_sessions
from zenodo_atlas.flows.upload import upload_sessions
from zenodo_atlas.sessions.sample import write_sample_annotations, write_sample_session
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


@contextlib.contextmanager
def _pointed_at(server: LocalZenodo, token: str, out: Path) -> Iterator[None]:
    """Settings of every subflow point at the local server while the demo runs."""
    values = {
        "ZENODO_URL": server.api_url, "ZENODO_TOKEN": token, "ZENODO_SANDBOX": "false",
        "ATLAS_ATLAS_PATH": str(out / "atlas" / "seatizen_atlas.duckdb"), "ATLAS_WORK_DIR": str(out / "work"),
        "ATLAS_TOKEN_FILE": str(out / "no-token-file"),
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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
    with LocalZenodo(tokens={token: 1}, data_dir=out / "local-zenodo") as server, _pointed_at(server, token, out):
        logger.info("Local Zenodo serving at %s", server.api_url)
        paths = [
            await asyncio.to_thread(write_sample_session, out / "sessions", name=name, platform=platform,
                                    frames=frames, dcim_mb=dcim_mb, seed=index)
            for index, (platform, name) in enumerate(DEMO_SESSIONS)
        ]
        batch = await upload_sessions([str(p) for p in paths], raw=True, processed="fmgbi")
        await register_sessions([str(p) for p in paths])
        atlas = Path(os.environ["ATLAS_ATLAS_PATH"])
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
