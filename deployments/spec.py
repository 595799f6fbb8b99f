"""prefect.yaml as typed data: the single list of deployments that `deploy` and `serve` both read.

The file stays loadable by `prefect deploy --all`; this module reads the subset of keys the project
uses, refuses unknown ones inside a deployment (typos would otherwise be silently ignored) and turns
schedules and concurrency settings into Prefect objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from prefect import Flow
from prefect.client.schemas.objects import ConcurrencyLimitConfig
from prefect.client.schemas.schedules import CronSchedule
from prefect.exceptions import MissingFlowError, ScriptError
from prefect.flows import load_flow_from_entrypoint
from prefect.schedules import Cron, Schedule
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zenodo_atlas.deployments.errors import DeploymentSpecError
from zenodo_atlas.errors import one_line

SPEC_PATH = Path(__file__).with_name("prefect.yaml")
DEFAULT_POOL = "zenodo-atlas"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DeploymentSpecError(
            f"Unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Paris'."
        ) from None
    return name


def check_cron(expression: str) -> str:
    try:
        CronSchedule(cron=expression)
    except ValidationError:
        raise DeploymentSpecError(
            f"Invalid cron expression {expression!r}: use five fields, e.g. '0 2 * * *' for 02:00 daily."
        ) from None
    return expression


class ScheduleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str
    timezone: str = "UTC"
    active: bool = True

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        return check_timezone(value)

    def to_prefect(self) -> Schedule:
        return Cron(self.cron, timezone=self.timezone, active=self.active)


class ConcurrencySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(ge=1)
    collision_strategy: Literal["ENQUEUE", "CANCEL_NEW"] = "ENQUEUE"

    def to_prefect(self) -> ConcurrencyLimitConfig:
        return ConcurrencyLimitConfig(limit=self.limit, collision_strategy=self.collision_strategy)


class WorkPoolSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = DEFAULT_POOL
    work_queue_name: str | None = None
    job_variables: dict[str, Any] = Field(default_factory=dict)


class DeploymentSpec(BaseModel):
    """One entry of `deployments:`; the flow's name comes from the flow itself once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    # A module path (`zenodo_atlas.flows.upload:upload_sessions`): a worker imports the installed
    # package, so neither a checkout nor a user's own `flows/` folder on sys.path can redirect it.
    entrypoint: str = Field(pattern=r"^[A-Za-z_][\w.]*:\w+$")
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    schedules: list[ScheduleSpec] = Field(default_factory=list)
    concurrency_limit: ConcurrencySpec | None = None
    work_pool: WorkPoolSpec = Field(default_factory=WorkPoolSpec)

    @property
    def module(self) -> str:
        return self.entrypoint.split(":", 1)[0]

    @property
    def function_name(self) -> str:
        return self.entrypoint.split(":", 1)[1]

    def prefect_schedules(self) -> list[Schedule]:
        return [schedule.to_prefect() for schedule in self.schedules]

    def prefect_concurrency(self) -> ConcurrencyLimitConfig | None:
        return self.concurrency_limit.to_prefect() if self.concurrency_limit else None

    def load_flow(self) -> Flow:
        """Import the flow for real: Prefect's default would hide an import error behind a placeholder."""
        try:
            return load_flow_from_entrypoint(self.entrypoint, use_placeholder_flow=False)
        except (ScriptError, MissingFlowError, ImportError, SyntaxError) as exc:
            cause = exc.user_exc if isinstance(exc, ScriptError) else exc
            reason = one_line(cause)
            raise DeploymentSpecError(f"Cannot load {self.entrypoint} for deployment {self.name!r}: {reason}") from exc


class DeploymentsFile(BaseModel):
    """The top level of prefect.yaml; keys only `prefect deploy` uses (build, pull...) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    deployments: list[DeploymentSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> DeploymentsFile:
        names = [d.name for d in self.deployments]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"deployment names must be unique; repeated: {', '.join(duplicates)}")
        return self


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "top level"
    cause = error.get("ctx", {}).get("error")
    return f"{where}: {cause if isinstance(cause, Exception) else error['msg']}"


def load_specs(path: Path = SPEC_PATH) -> list[DeploymentSpec]:
    """Read and validate a prefect.yaml."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeploymentSpecError(f"No deployment file at {path}.") from None
    except yaml.YAMLError as exc:
        raise DeploymentSpecError(f"{path} is not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(raw, dict):
        raise DeploymentSpecError(f"{path} must be a mapping with a 'deployments:' list.")
    try:
        return DeploymentsFile.model_validate(raw).deployments
    except ValidationError as exc:
        raise DeploymentSpecError(f"{path}: {_first_error(exc)}") from None


def select(specs: list[DeploymentSpec], names: Iterable[str] | None) -> list[DeploymentSpec]:
    """Keep the named deployments (all when `names` is empty), in file order."""
    wanted = list(names or [])
    if not wanted:
        return specs
    known = {spec.name for spec in specs}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise DeploymentSpecError(
            f"Unknown deployment(s) {', '.join(map(repr, unknown))}; choose from {', '.join(sorted(known))}."
        )
    return [spec for spec in specs if spec.name in wanted]


def with_schedule(
    specs: list[DeploymentSpec], *, cron: str | None = None, timezone: str | None = None
) -> list[DeploymentSpec]:
    """Override the cron and/or time zone of every scheduled deployment (only the nightly one today)."""
    if cron is None and timezone is None:
        return specs
    changes: dict[str, str] = {}
    if cron is not None:
        changes["cron"] = check_cron(cron)
    if timezone is not None:
        changes["timezone"] = check_timezone(timezone)
    return [
        spec.model_copy(update={"schedules": [s.model_copy(update=changes) for s in spec.schedules]}) for spec in specs
    ]
