"""A local Zenodo-compatible HTTP server that behaves as zenodo.org does today (see zenodo-api.md §1)."""

from zenodo_atlas.zenodo.server.app import create_app
from zenodo_atlas.zenodo.server.context import ServedRequest
from zenodo_atlas.zenodo.server.faults import FaultConfig
from zenodo_atlas.zenodo.server.realistic import Realism
from zenodo_atlas.zenodo.server.server import LocalZenodo

__all__ = ["FaultConfig", "LocalZenodo", "Realism", "ServedRequest", "create_app"]
