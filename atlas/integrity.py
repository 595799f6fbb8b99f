"""Reference checks the schema cannot declare (see 001_base_tables.sql on why there are no FOREIGN KEYs)."""

from __future__ import annotations

import duckdb

from zenodo_atlas.atlas.connection import fetch_row

# (table, column, referenced table, referenced column)
REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("version", "concept_recid", "deposit", "concept_recid"),
    ("version_file", "record_id", "version", "record_id"),
    ("footprint_linestring", "concept_recid", "deposit", "concept_recid"),
    ("frame", "record_id", "version", "record_id"),
    ("multilabel_class", "model_id", "multilabel_model", "id"),
    ("multilabel_class", "label_id", "multilabel_label", "id"),
    ("multilabel_prediction", "frame_id", "frame", "id"),
    ("multilabel_prediction", "class_id", "multilabel_class", "id"),
    ("multilabel_prediction", "record_id", "version", "record_id"),
    ("annotation", "session_id", "annotation_session", "id"),
    ("annotation", "frame_id", "frame", "id"),
    ("annotation", "label_id", "multilabel_label", "id"),
)


def orphan_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows whose reference points nowhere, per `table.column`; all zero in a sound Atlas."""
    return {
        f"{table}.{column}": fetch_row(con,
            f"SELECT count(*) FROM {table} WHERE {column} NOT IN (SELECT {ref_column} FROM {ref_table})"
        )[0]
        for table, column, ref_table, ref_column in REFERENCES
    }
