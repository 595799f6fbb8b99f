"""The `zenodo-atlas` command: a thin layer that parses options and calls the library or a flow."""

import os

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}
"""Offline-friendly Prefect defaults, set before Prefect is first imported: a cold ephemeral server
can take over 20 s to migrate its database, the telemetry heartbeat only produces lock errors on a
machine without internet, and the temporary server's shutdown prints tracebacks of events it had no
time to flush. Flow and task runs log warnings only: the command prints its own progress and result,
and a failure is one line (see `cli.errors`). Anything the user sets wins."""

for _key, _value in PREFECT_DEFAULTS.items():
    os.environ.setdefault(_key, _value)

from zenodo_atlas.cli.app import app, main  # noqa: E402

__all__ = ["app", "main"]
