"""The single-machine serve mode builds the same deployments as prefect.yaml, without a work pool."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.client.schemas.objects import ConcurrencyLimitStrategy

from zenodo_atlas.deployments.errors import DeploymentSpecError
from zenodo_atlas.deployments.serve import build_served
from zenodo_atlas.deployments.spec import DeploymentSpec, load_specs

STANDIN_SPEC = Path(__file__).with_name("standin.yaml")


async def test_every_deployment_is_served_under_its_flow_name() -> None:
    served = await build_served(load_specs())
    assert sorted(f"{d.flow_name}/{d.name}" for d in served) == [
        "auto-update/nightly",
        "download-sessions/download",
        "import-annotations/annotations",
        "publish-atlas/publish",
        "register-sessions/register",
        "upload-sessions/upload",
    ]
    assert all(d.work_pool_name is None for d in served)


async def test_served_nightly_keeps_schedule_limit_and_defaults() -> None:
    [nightly] = [d for d in await build_served(load_specs(STANDIN_SPEC)) if d.name == "nightly"]
    [schedule] = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "UTC")
    assert nightly.concurrency_limit == 1
    assert nightly.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
    assert nightly.parameters == {"publish": True}
    assert set(nightly._parameter_openapi_schema.properties) == {"communities", "atlas_path", "publish"}


async def test_serving_stops_at_a_flow_that_cannot_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty_flows_module.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = DeploymentSpec(name="broken", entrypoint="empty_flows_module:missing")
    with pytest.raises(DeploymentSpecError, match=r"Cannot load empty_flows_module:missing for deployment 'broken'"):
        await build_served([spec])
