"""Async Zenodo client (legacy deposit + records API), its models and errors.

Nothing here knows about Prefect, sessions or the Atlas; `zenodo.server` is the local test server.
The client is imported lazily so that `import zenodo.models` (all sessions/ and atlas/ need) does not
pull in aiohttp.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "ZenodoClient": "zenodo_atlas.zenodo.client",
    "record_id_from": "zenodo_atlas.zenodo.client",
    "ZenodoProject": "zenodo_atlas.zenodo.project",
    "ByteSource": "zenodo_atlas.zenodo.streams",
    "BytesSource": "zenodo_atlas.zenodo.streams",
    "FileSource": "zenodo_atlas.zenodo.streams",
    "IterableSource": "zenodo_atlas.zenodo.streams",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zenodo' has no attribute {name!r}")
