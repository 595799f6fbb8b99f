"""deployments/prefect.yaml: what it declares, and how bad files and overrides are reported."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import yaml
from prefect import Flow
from prefect.client.schemas.objects import ConcurrencyLimitStrategy

from zenodo_atlas.deployments.errors import DeploymentSpecError
from zenodo_atlas.deployments.spec import SPEC_PATH, DeploymentSpec, load_specs, select, with_schedule

# The contract with the flows: deployment name -> (entrypoint, flow name, parameters it must take).
CONTRACT = {
    "upload": (
        "zenodo_atlas.flows.upload:upload_sessions",
        "upload-sessions",
        {"sessions", "raw", "processed", "custom", "metadata_template", "dry_run"},
    ),
    "download": (
        "zenodo_atlas.flows.download:download_sessions",
        "download-sessions",
        {"names", "dois", "out_dir", "raw", "processed"},
    ),
    "register": ("zenodo_atlas.flows.register:register_sessions", "register-sessions", {"sessions", "atlas_path"}),
    "annotations": ("zenodo_atlas.flows.annotations:import_annotations", "import-annotations", {"path", "atlas_path"}),
    "publish": ("zenodo_atlas.flows.publish_atlas:publish_atlas", "publish-atlas", {"atlas_path", "force"}),
    "nightly": ("zenodo_atlas.flows.auto_update:auto_update", "auto-update", {"communities", "atlas_path", "publish"}),
}
SECRET_LIKE = re.compile(r"token|secret|password|api_key|credential", re.IGNORECASE)


def test_prefect_yaml_declares_every_flow_of_the_contract() -> None:
    specs = {spec.name: spec for spec in load_specs()}
    assert {name: spec.entrypoint for name, spec in specs.items()} == {
        name: entry for name, (entry, _, _) in CONTRACT.items()
    }
    assert {spec.work_pool.name for spec in specs.values()} == {"zenodo-atlas"}


def test_only_the_nightly_refresh_is_scheduled() -> None:
    specs = {spec.name: spec for spec in load_specs()}
    [schedule] = specs["nightly"].schedules
    assert (schedule.cron, schedule.timezone, schedule.active) == ("0 2 * * *", "UTC", True)
    assert [name for name, spec in specs.items() if spec.schedules] == ["nightly"]


def test_overlapping_refresh_and_publish_runs_are_cancelled() -> None:
    specs = {spec.name: spec for spec in load_specs()}
    limited = {name: spec.prefect_concurrency() for name, spec in specs.items() if spec.concurrency_limit}
    assert set(limited) == {"publish", "nightly"}
    for config in limited.values():
        assert config.limit == 1
        assert config.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW


def test_no_parameter_or_default_looks_like_a_secret() -> None:
    raw = yaml.safe_load(SPEC_PATH.read_text())
    for deployment in raw["deployments"]:
        for key in deployment.get("parameters", {}):
            assert not SECRET_LIKE.search(key), (deployment["name"], key)
        assert not SECRET_LIKE.search(str(deployment.get("work_pool", {}).get("job_variables", {})))


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_entrypoint_loads_the_contract_flow(name: str) -> None:
    entrypoint, flow_name, required = CONTRACT[name]
    [spec] = select(load_specs(), [name])
    flow = spec.load_flow()
    assert isinstance(flow, Flow)
    assert flow.name == flow_name
    parameters = set(inspect.signature(flow.fn).parameters)
    assert required <= parameters, f"{entrypoint} lacks {sorted(required - parameters)}"
    assert not [p for p in parameters if SECRET_LIKE.search(p)], f"{entrypoint} takes a secret as a parameter"


def test_schedule_overrides_apply_to_the_scheduled_deployment_only() -> None:
    specs = with_schedule(load_specs(), cron="30 3 * * 1-5", timezone="Europe/Paris")
    by_name = {spec.name: spec for spec in specs}
    [cron] = by_name["nightly"].prefect_schedules()
    assert (cron.cron, cron.timezone) == ("30 3 * * 1-5", "Europe/Paris")
    assert by_name["upload"].schedules == []
    assert load_specs()[-1].schedules[0].timezone == "UTC"


@pytest.mark.parametrize(
    ("cron", "timezone", "message"),
    [
        ("every night", None, "Invalid cron expression 'every night'"),
        (None, "Mars/Olympus", "Unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_overrides_are_named(cron: str | None, timezone: str | None, message: str) -> None:
    with pytest.raises(DeploymentSpecError, match=re.escape(message)):
        with_schedule(load_specs(), cron=cron, timezone=timezone)


def test_unknown_deployment_names_list_the_choices() -> None:
    with pytest.raises(DeploymentSpecError, match=r"Unknown deployment\(s\) 'uplaod'; choose from annotations"):
        select(load_specs(), ["upload", "uplaod"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deployments: [", "is not valid YAML"),
        ("- just a list", "must be a mapping"),
        ("name: x\n", "deployments: Field required"),
        (
            "deployments:\n  - {name: a, entrypoint: flows.a:a, schedule: {cron: '0 2 * * *'}}\n",
            "deployments.0.schedule: Extra inputs are not permitted",
        ),
        (
            "deployments:\n  - {name: a, entrypoint: flows.a:a,\n"
            "     schedules: [{cron: '0 2 * * *', timezone: Nowhere}]}\n",
            "deployments.0.schedules.0.timezone: Unknown time zone 'Nowhere'",
        ),
        (
            "deployments:\n  - {name: a, entrypoint: flows.a:a}\n  - {name: a, entrypoint: flows.b:b}\n",
            "repeated: a",
        ),
        ("deployments:\n  - {name: a, entrypoint: flows/a.py:a}\n", "deployments.0.entrypoint"),
    ],
)
def test_bad_files_say_where_and_what(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prefect.yaml"
    path.write_text(text)
    with pytest.raises(DeploymentSpecError, match=re.escape(message)):
        load_specs(path)


def test_missing_file_and_missing_entrypoint_module_are_named(tmp_path: Path) -> None:
    with pytest.raises(DeploymentSpecError, match="No deployment file at"):
        load_specs(tmp_path / "absent.yaml")
    spec = DeploymentSpec(name="gone", entrypoint="zenodo_atlas.flows.not_there:main")
    with pytest.raises(DeploymentSpecError, match=r"Cannot load zenodo_atlas.flows.not_there:main .*No module named"):
        spec.load_flow()


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import not_a_module_here\n", "No module named 'not_a_module_here'"),
        ("VALUE = 1\n", "Flow function with name 'main' not found"),
        ("def main(:\n", "invalid syntax"),
    ],
)
def test_a_flow_that_cannot_load_is_reported_not_replaced_by_a_placeholder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, reason: str
) -> None:
    module = f"broken_flow_{len(source)}"
    (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = DeploymentSpec(name="broken", entrypoint=f"{module}:main")
    with pytest.raises(
        DeploymentSpecError, match=rf"Cannot load {module}:main for deployment 'broken': .*" + re.escape(reason)
    ):
        spec.load_flow()
