"""The `zenodo-atlas` command: a thin layer that parses options and calls the library or a flow."""

import os

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}
"""Offline-friendly Prefect defaults, set before Prefect is first imported: a cold ephemeral server
can take over 20 s to migrate its database, and the telemetry heartbeat only produces lock errors on
a machine without internet. Anything the user sets wins."""

for _key, _value in PREFECT_DEFAULTS.items():
    os.environ.setdefault(_key, _value)

from zenodo_atlas.cli.app import app, main  # noqa: E402

__all__ = ["app", "main"]
