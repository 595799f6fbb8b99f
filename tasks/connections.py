"""Build the Zenodo client a flow shares with its tasks, with the token from a safe place.

The token never travels as a flow parameter (parameters are stored and shown in the UI): it comes
from the environment / .env / ~/.zenodo_token (settings), or from a Prefect Secret block when a
deployment names one.
"""

from __future__ import annotations

from pydantic import SecretStr

from zenodo_atlas.settings import Settings
from zenodo_atlas.zenodo.client import ZenodoClient


async def resolve_token(settings: Settings, *, required: bool) -> SecretStr | None:
    token = settings.resolved_token()
    if token is None and settings.token_secret_block:
        from prefect.blocks.system import Secret

        block: Secret = await Secret.aload(settings.token_secret_block)
        token = SecretStr(block.get())
    if token is None and required:
        return settings.require_token()
    return token


async def open_client(settings: Settings, *, token_required: bool) -> ZenodoClient:
    """A client ready to enter with `async with`; one per flow run, shared by its tasks."""
    token = await resolve_token(settings, required=token_required)
    return ZenodoClient(
        settings.zenodo_url, token, rate_limit_per_minute=settings.rate_limit_per_minute,
        search_lag=settings.search_lag, deadline=settings.request_deadline_seconds, stall=settings.stall_seconds,
    )
