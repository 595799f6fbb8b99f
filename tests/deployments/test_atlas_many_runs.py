"""Many runs on two machines against one Atlas: a real Prefect server, two real process workers.

Layout (a) of the README: the worker of the machine holding the Atlas file serves the `atlas` queue
(every Atlas-writing deployment) and `default`; the other machine's worker serves `default` only and
has no Atlas. Register x4, annotations, the nightly refresh, publish and a download start at once;
CLI queries run (in their own processes) until every run is over.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from tests.deployments import processes
from tests.fixtures.zenodo_server import OTHER_TOKEN, TOKEN, ZenodoTestServer
from tests.flows.helpers import session_records
from zenodo_atlas.atlas import inventory
from zenodo_atlas.atlas.publication import fingerprint_on_record
from zenodo_atlas.cli import deploy_cmd
from zenodo_atlas.sessions.sample import write_sample_annotations
from zenodo_atlas.tasks.atlas_db import read_atlas

pytestmark = pytest.mark.slow

POOL = "atlas-many"
WRITERS = ("register-sessions/register", "import-annotations/annotations", "auto-update/nightly",
           "publish-atlas/publish")


def machine_env(zenodo: ZenodoTestServer, home: Path, atlas: Path) -> dict[str, str]:
    return {
        "ZENODO_URL": zenodo.api_url, "ZENODO_TOKEN": zenodo.token, "ATLAS_WORK_DIR": str(home / "work"),
        "ATLAS_ATLAS_PATH": str(atlas), "ATLAS_TOKEN_FILE": str(home / "no-token-file"),
        "ATLAS_COMMUNITIES": '["seatizen-data"]',
    }


async def cli(*args: str, api_url: str) -> None:
    """`zenodo-atlas ARGS` against the test's Prefect server, in its own process; it must succeed."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "zenodo_atlas", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PREFECT_API_URL": api_url},
    )
    output, _ = await child.communicate()
    assert child.returncode == 0, output.decode(errors="replace")


async def query(atlas: Path, out: Path) -> tuple[int, str]:
    """`zenodo-atlas atlas query` as a user runs it, in its own process."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "zenodo_atlas", "atlas", "query", "--atlas", str(atlas), "--out", str(out),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await child.communicate()
    return child.returncode, output.decode(errors="replace")


async def final_states(ids: list, atlas: Path, tmp: Path, within: float) -> tuple[list[FlowRun], list]:
    """Query the Atlas over and over until every run is final; returns the runs and each query's outcome."""
    queries: list[tuple[int, str, int]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with get_client() as client:
        while True:
            runs = [await client.read_flow_run(i) for i in ids]
            if all(r.state is not None and r.state.is_final() for r in runs):
                return runs, queries
            assert loop.time() < deadline, [(r.name, r.state_name) for r in runs]
            running = sum(1 for r in runs if r.state is not None and r.state.is_running())
            code, output = await query(atlas, tmp / f"query-{len(queries)}.csv")
            queries.append((code, output, running))


async def test_register_annotations_nightly_and_publish_at_once_on_two_workers(
    tmp_path: Path, sample_sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    zenodo = ZenodoTestServer(tokens={TOKEN: 1, OTHER_TOKEN: 2}, data_dir=tmp_path / "local-zenodo")
    (tmp_path / "prefect-server").mkdir()
    server = processes.start_server(tmp_path / "prefect-server", tmp_path)
    workers: list[processes.Managed] = []
    with zenodo:
        try:
            processes.wait_until(processes.healthy(server.api_url), timeout=90, managed=server, what="/api/health")
            atlas_machine, other_machine = tmp_path / "atlas-machine", tmp_path / "upload-machine"
            atlas = atlas_machine / "atlas.duckdb"
            for key, value in machine_env(zenodo, atlas_machine, atlas).items():
                monkeypatch.setenv(key, value)
            with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
                paths = [sample_sessions(platform="ASV", frames=12, dcim_mb=0.1, name=f"20231021_REU-ST-LEU_ASV-1_0{i}")
                         for i in range(1, 6)]
                # The set-up runs as the CLI does, in processes of its own: flows run in this process
                # would leave Prefect's lease services bound to this temporary server for later tests.
                await cli("upload", *map(str, paths), "--raw", "--processed", "mi", api_url=server.api_url)
                await cli("atlas", "register", paths[0].name, "--atlas", str(atlas), api_url=server.api_url)
                labels, _ = await read_atlas(atlas, inventory.label_names)
                annotations = write_sample_annotations(paths[0], tmp_path / "annotations", labels=labels[:4])

                deployed = await asyncio.to_thread(CliRunner().invoke, deploy_cmd.app, ["deploy", "--pool", POOL])
                assert deployed.exit_code == 0, deployed.output
                for home, name, queues, atlas_path in (
                    (atlas_machine, "atlas-machine", ("atlas", "default"), atlas),
                    (other_machine, "upload-machine", ("default",), other_machine / "no-atlas-here.duckdb"),
                ):
                    home.mkdir(exist_ok=True)
                    workers.append(processes.start_worker(
                        server.api_url, POOL, home=home, log_dir=home, name=name, queues=queues,
                        extra_env=machine_env(zenodo, home, atlas_path),
                    ))

                async def online() -> set[str]:
                    async with get_client() as client:
                        try:
                            found = await client.read_workers_for_work_pool(POOL)
                        except ObjectNotFound:
                            return set()
                    return {w.name for w in found if w.status is not None and w.status.value == "ONLINE"}

                while await online() != {"atlas-machine", "upload-machine"}:
                    for worker in workers:
                        assert worker.process.poll() is None, worker.tail()
                    await asyncio.sleep(0.5)  # polling the worker's observable ONLINE status

                started = [
                    *[("register-sessions/register", {"sessions": [p.name]}) for p in paths[1:]],
                    ("import-annotations/annotations", {"path": str(annotations)}),
                    ("auto-update/nightly", {}),
                    ("publish-atlas/publish", {}),
                    ("download-sessions/download", {"out_dir": str(other_machine / "downloads"),
                                                    "names": [paths[0].name]}),
                ]
                created = [await run_deployment(name, parameters=parameters, timeout=0)
                           for name, parameters in started]
                runs, queries = await final_states([r.id for r in created], atlas, tmp_path, within=900)

            logs = "\n".join(w.tail(60) for w in workers)
            assert [(r.name, r.state_name) for r in runs if not r.state.is_completed()] == [], logs
            for (deployment, _), run in zip(started, runs, strict=True):
                assert run.work_queue_name == ("atlas" if deployment in WRITERS else "default"), deployment
            assert queries and all(code == 0 for code, _, _ in queries), queries
            assert any(running for _, _, running in queries), "no query ran while a flow was running"
            assert all("Atlas as committed at" in output for _, output, _ in queries)

            known, _ = await read_atlas(atlas, inventory.known_versions)
            counts, _ = await read_atlas(atlas, inventory.counts)
            assert len(known) == 5 and all(len(ids) == 2 for ids in known.values()), known
            assert (counts["sessions"], counts["versions"]) == (5, 10)
            assert counts["annotations"] > 0
            # The nightly and `publish` both publish the content they find: one version when the other
            # runs first with the same content, two when writes landed in between. Never a second
            # Atlas record, and never the same content twice.
            atlas_versions = await session_records(zenodo, "seatizen-atlas")
            assert len({r.conceptrecid for r in atlas_versions}) == 1 and 1 <= len(atlas_versions) <= 2
            fingerprints = [fingerprint_on_record(r) for r in atlas_versions]
            assert None not in fingerprints and len(set(fingerprints)) == len(fingerprints), fingerprints
            assert (other_machine / "downloads" / paths[0].name).is_dir()
            assert not (other_machine / "no-atlas-here.duckdb").exists()
            for worker in workers:
                assert zenodo.token not in worker.log()
        finally:
            for worker in workers:
                worker.stop()
            server.stop()
