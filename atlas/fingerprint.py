"""A hash of what the Atlas holds, so the publisher can tell "changed since the last published version".

It hashes ordered table contents (not file bytes, which change with every checkpoint). Surrogate
ids are replaced by natural keys, so two Atlases built in a different order from the same sessions
agree; bookkeeping tables (schema_migrations, etl_runs, layer_styles) are left out.
"""

from __future__ import annotations

import hashlib

import duckdb

from zenodo_atlas.atlas.connection import fetch_row

_FRAME_KEY = "(SELECT f.record_id || '/' || f.file_name FROM frame AS f WHERE f.id = t.frame_id)"

# table -> (hashed expressions, how many leading expressions form a unique key to order by).
# Geometries are hashed as hex WKB so the hash is exact.
_CONTENT: dict[str, tuple[tuple[str, ...], int]] = {
    "deposit": (
        ("concept_recid", "session_name", "concept_doi", "ST_AsHEXWKB(footprint)", "have_raw", "have_processed",
         "session_date", "country_code", "country", "place", "platform"),
        1,
    ),
    "version": (("record_id", "concept_recid", "doi", "label", "publication_date"), 1),
    "version_file": (("record_id", "file_key", "md5"), 2),
    "footprint_linestring": (("concept_recid", "ST_AsHEXWKB(geom)"), 1),
    "frame": (
        ("record_id", "file_name", "original_file_name", "relative_file_path", "ST_AsHEXWKB(geom)", "latitude",
         "longitude", "altitude", "pitch", "roll", "track", "datetime_utc", "fix"),
        2,
    ),
    "multilabel_label": (("name", "creation_date", "description", "id_gbif", "code_gcrmn"), 1),
    "multilabel_model": (("name", "link", "doi", "creation_date"), 1),
    "multilabel_class": (
        ("(SELECT m.name FROM multilabel_model AS m WHERE m.id = t.model_id)", "name",
         "(SELECT l.name FROM multilabel_label AS l WHERE l.id = t.label_id)", "threshold"),
        2,
    ),
    "label_rename": (("old_label", "label", "code_gcrmn", "id_gbif"), 1),
    "multilabel_prediction": (
        (_FRAME_KEY, "(SELECT c.name FROM multilabel_class AS c WHERE c.id = t.class_id)", "record_id", "score"),
        3,
    ),
    "annotation_session": (("annotation_date", "author", "dataset", "file_name"), 3),
    "annotation": (
        ("(SELECT s.annotation_date || '/' || s.author || '/' || s.dataset FROM annotation_session AS s"
         " WHERE s.id = t.session_id)", _FRAME_KEY,
         "(SELECT l.name FROM multilabel_label AS l WHERE l.id = t.label_id)", "value"),
        3,
    ),
}


def table_digest(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """`table:<rows>:<md5 of the ordered row hashes>`."""
    expressions, key_length = _CONTENT[table]
    columns = ", ".join(f"CAST({e} AS VARCHAR) AS c{i}" for i, e in enumerate(expressions))
    row_value = "list_value(" + ", ".join(f"c{i}" for i in range(len(expressions))) + ")"
    order = ", ".join(f"c{i}" for i in range(key_length))
    count, digest = fetch_row(
        con,
        f"""
        SELECT count(*), md5(coalesce(string_agg(md5(CAST({row_value} AS VARCHAR)), '' ORDER BY {order}), ''))
        FROM (SELECT {columns} FROM {table} AS t)
        """,
    )
    return f"{table}:{count}:{digest}"


def content_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """sha256 over every content table's digest."""
    digest = hashlib.sha256()
    for table in _CONTENT:
        digest.update(table_digest(con, table).encode() + b"\n")
    return digest.hexdigest()
