"""The `zenodo-atlas` command: a thin layer that parses options and calls the library or a flow."""

from zenodo_atlas.cli.app import app, main

__all__ = ["app", "main"]
