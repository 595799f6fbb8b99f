"""Async Zenodo client (legacy deposit + records API), its models and errors.

Nothing here knows about Prefect, sessions or the Atlas; `zenodo.server` is the local test server.
The client is imported lazily so that `import zenodo.models` (all sessions/ and atlas/ need) does not
pull in aiohttp.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "ZenodoClient": "zenodo.client",
    "record_id_from": "zenodo.client",
    "ZenodoProject": "zenodo.project",
    "ByteSource": "zenodo.streams",
    "BytesSource": "zenodo.streams",
    "FileSource": "zenodo.streams",
    "IterableSource": "zenodo.streams",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zenodo' has no attribute {name!r}")
