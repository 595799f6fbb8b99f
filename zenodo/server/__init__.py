"""A local Zenodo-compatible HTTP server that behaves as zenodo.org does today (see zenodo-api.md §1)."""

from zenodo.server.app import create_app
from zenodo.server.context import ServedRequest
from zenodo.server.faults import FaultConfig
from zenodo.server.server import LocalZenodo

__all__ = ["FaultConfig", "LocalZenodo", "ServedRequest", "create_app"]
