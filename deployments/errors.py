"""Errors the deployment layer raises; each message says what is wrong and how to fix it."""

from __future__ import annotations

from zenodo_atlas.errors import ZenodoAtlasError


class DeploymentSpecError(ZenodoAtlasError, ValueError):
    """prefect.yaml (or an override such as --cron/--timezone/--only) is not usable."""


class PrefectServerUnavailable(ZenodoAtlasError, RuntimeError):
    """There is no Prefect server to register deployments with, or it does not answer."""
