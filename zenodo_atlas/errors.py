"""The project's error root and the one-line rendering of any exception.

Every layer (zenodo, sessions, atlas, tasks, flows, deployments) derives its errors from
`ZenodoAtlasError`, so a caller can tell "the project refused" from "a bug" with one except clause.
This module imports nothing of the project, so the lowest layers can depend on it.
"""

from __future__ import annotations


class ZenodoAtlasError(Exception):
    """Root of every error the project raises on purpose."""


def one_line(exc: BaseException) -> str:
    """The first non-blank line of `exc`'s message, else its type name; never raises.

    Reports (CLI errors, batch summaries, auto-update outcomes) show one line per failure, and an
    empty message (`asyncio.TimeoutError()`) must not turn a report into an IndexError.
    """
    try:
        text = str(exc)
    except Exception:  # a broken __str__ must not hide the original failure
        text = ""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__
