"""Suite-wide set-up: Prefect stays offline and inside a temporary home; fixtures come from plugins."""

from __future__ import annotations

import os
import tempfile

_PREFECT_HOME = tempfile.mkdtemp(prefix="zenodo-atlas-prefect-")
os.environ.update(
    {
        "PREFECT_HOME": _PREFECT_HOME,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        # a flow command a test runs without the harness must not leave a background server behind;
        # the tests of that server (and the demo) clear ATLAS_* and stop it themselves
        "ATLAS_PREFECT_SERVER": "ephemeral",
    }
)
for _leaky in ("ZENODO_TOKEN", "ZENODO_URL", "ZENODO_SANDBOX"):
    os.environ.pop(_leaky, None)

pytest_plugins = [
    "tests.fixtures.zenodo_server",
    "tests.fixtures.sessions",
    "tests.fixtures.atlas",
    "tests.fixtures.prefect",
]
