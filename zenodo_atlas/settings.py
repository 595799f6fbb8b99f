"""One place for configuration. Read at the top (CLI, flows) and passed down as plain arguments.

Flows read `current_settings()`: the settings a caller installed with `use_settings` (the CLI, the
demo, tests) reach every subflow and task of the run through a context variable, and a deployed run
with nothing installed reads the environment. The process environment is never rewritten.

Zenodo's own variables keep the names users already have (`ZENODO_URL`, `ZENODO_TOKEN`, and the
`~/.zenodo_token` file zenodopy writes); everything else lives under the `ATLAS_` prefix.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from zenodo_atlas.errors import ZenodoAtlasError
from zenodo_atlas.sessions.zenodo_record import session_urn
from zenodo_atlas.zenodo.errors import MissingTokenError

PRODUCTION_URL = "https://zenodo.org/api"
SANDBOX_URL = "https://sandbox.zenodo.org/api"
TOKEN_FILE = Path("~/.zenodo_token")


def read_token_file(path: Path, *, sandbox: bool = False) -> SecretStr | None:
    """Read zenodopy's `ACCESS_TOKEN: <token>` (or `ACCESS_TOKEN-sandbox:`) line."""
    path = path.expanduser()
    if not path.is_file():
        return None
    wanted = "ACCESS_TOKEN-sandbox" if sandbox else "ACCESS_TOKEN"
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"\s*([\w-]+)\s*:\s*(\S+)\s*", line)
        if match and match.group(1) == wanted:
            return SecretStr(match.group(2))
    return None


LEASES_ON_DISK = {"PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem"}
"""Server setting: Prefect's default keeps global-concurrency leases in memory, so a server crash leaks
every transfer slot held; on disk, the restarted server revokes them once they expire."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ATLAS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    zenodo_url: str = Field(
        default=PRODUCTION_URL, validation_alias=AliasChoices("ZENODO_URL", "ATLAS_ZENODO_URL")
    )
    zenodo_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ZENODO_TOKEN", "ATLAS_ZENODO_TOKEN")
    )
    sandbox: bool = Field(
        default=False, validation_alias=AliasChoices("ZENODO_SANDBOX", "ATLAS_SANDBOX"),
        description="Use https://sandbox.zenodo.org/api unless ZENODO_URL says otherwise.",
    )
    token_file: Path = Field(default=TOKEN_FILE, description="zenodopy-style token file.")
    token_secret_block: str | None = Field(
        default=None, description="Name of a Prefect Secret block holding the token (deployments)."
    )

    atlas_path: Path = Field(
        default=Path("seatizen_atlas_folder/seatizen_atlas.duckdb"), description="The Atlas DuckDB file."
    )
    work_dir: Path = Field(default=Path(".zenodo-atlas"), description="Scratch space for downloads.")
    atlas_urn: str = Field(default=session_urn("seatizen-atlas"), description="Identifier of the Atlas record.")
    communities: list[str] = Field(default=["seatizen-data"], description="Communities auto-update harvests.")
    metadata_template: Path | None = Field(default=None, description="Session metadata template (YAML/JSON).")
    atlas_template: Path | None = Field(
        default=None, description="Atlas record metadata (the predecessor's metadata_seatizen_atlas.json format)."
    )

    upload_concurrency: int = Field(default=4, ge=1, le=32, description="Uploads in flight per run.")
    download_concurrency: int = Field(default=4, ge=1, le=32, description="Downloads in flight per run.")
    global_transfer_slots: int = Field(
        default=8, ge=1, description="Transfers in flight across all runs (Prefect global concurrency limits)."
    )
    slot_wait_seconds: float = Field(
        default=3600.0, gt=0, description="Longest a run waits for global transfer slots before failing."
    )
    parallel_sessions: int = Field(
        default=4, ge=1, le=64, description="Sessions a batch (upload/download/register-sessions) works on at once."
    )
    rate_limit_per_minute: int = Field(default=100, ge=1)
    request_deadline_seconds: float = Field(
        default=600.0, gt=0, description="Longest one Zenodo API call may take, retries included."
    )
    stall_seconds: float = Field(
        default=120.0, gt=0, description="Longest wait for the next byte from Zenodo (answers and transfers)."
    )
    search_lag: float = Field(
        default=5.0, ge=0,
        description="Seconds Zenodo's search may miss a write; an empty search is trusted only after this long.",
    )
    dcim_part_gb: float = Field(default=15.0, gt=0)
    record_quota_gb: float = Field(default=50.0, gt=0)

    @model_validator(mode="after")
    def _sandbox_url(self) -> Settings:
        if self.sandbox and self.zenodo_url == PRODUCTION_URL:
            self.zenodo_url = SANDBOX_URL
        return self

    def template_path(self) -> str | None:
        return str(self.metadata_template) if self.metadata_template else None

    def resolved_token(self) -> SecretStr | None:
        """Environment (or .env) first, then the token file."""
        if self.zenodo_token and self.zenodo_token.get_secret_value():
            return self.zenodo_token
        return read_token_file(self.token_file, sandbox=self.sandbox)

    def require_token(self) -> SecretStr:
        token = self.resolved_token()
        if token is None:
            raise MissingTokenError(
                "This operation needs a Zenodo token. Give it one of three ways: set ZENODO_TOKEN in "
                f"the environment, put ZENODO_TOKEN=... in a .env file, or write 'ACCESS_TOKEN: <token>' "
                f"to {self.token_file}."
            )
        return token


class SettingsError(ZenodoAtlasError, ValueError):
    """An environment (or .env) value the settings refuse; the message names the variable."""


def _variable(field: str) -> str:
    """The variable the user set for `field` (one of its aliases), else its ATLAS_ name."""
    if field not in Settings.model_fields:
        return field.upper()  # pydantic reports an aliased field by the alias, already a variable name
    alias = Settings.model_fields[field].validation_alias
    names = [str(c) for c in alias.choices] if isinstance(alias, AliasChoices) else []
    names.append(f"ATLAS_{field.upper()}")
    return next((n for n in names if n in os.environ), names[0])


def load_settings(**overrides: Any) -> Settings:
    """The settings, or a SettingsError naming the variable whose value is wrong and what it must be."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "settings"
        shown = "" if "token" in field.lower() else f"={error['input']!r}"
        raise SettingsError(f"{_variable(field)}{shown} is not valid ({error['msg']}); fix or unset it") from None
    except PydanticSettingsError as exc:
        match = re.search(r'field "(\w+)"', str(exc))
        variable = _variable(match.group(1)) if match else "an ATLAS_ variable"
        raise SettingsError(f"{variable} is not valid: a list must be JSON, e.g. '[\"a\", \"b\"]'") from None


_installed: ContextVar[Settings | None] = ContextVar("zenodo_atlas_settings", default=None)


def current_settings() -> Settings:
    """The settings installed by `use_settings` in this context, else fresh ones from the environment."""
    return _installed.get() or Settings()


@contextlib.contextmanager
def use_settings(settings: Settings) -> Iterator[Settings]:
    """Make `settings` the ones every flow, subflow and task started inside this block reads."""
    token = _installed.set(settings)
    try:
        yield settings
    finally:
        _installed.reset(token)
