"""What the Atlas holds, in the small shapes the refresh and the reports need."""

from __future__ import annotations

import duckdb

from zenodo_atlas.atlas.connection import fetch_row


def known_versions(con: duckdb.DuckDBPyConnection) -> dict[str, set[int]]:
    """Concept record id -> the version record ids already registered."""
    known: dict[str, set[int]] = {}
    for concept, record_id in con.execute("SELECT concept_recid, record_id FROM version").fetchall():
        known.setdefault(concept, set()).add(record_id)
    return known


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the tables a user cares about, for summaries."""
    tables = {
        "sessions": "deposit", "versions": "version", "frames": "frame",
        "predictions": "multilabel_prediction", "annotations": "annotation",
    }
    return {name: fetch_row(con, f"SELECT count(*) FROM {table}")[0] for name, table in tables.items()}


def label_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Labels that the model's classes map to, in class order (annotation columns for samples)."""
    rows = con.execute(
        """
        SELECT l.name FROM multilabel_class AS c JOIN multilabel_label AS l ON l.id = c.label_id
        ORDER BY c.id
        """
    ).fetchall()
    return [name for (name,) in rows]
