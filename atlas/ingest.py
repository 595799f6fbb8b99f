"""Register a session in the Atlas: deposit, versions, footprint, frames, their extent and predictions.

All files are read and checked first; then one transaction writes everything with bulk
INSERT ... SELECT from registered DataFrames, so a failure leaves the Atlas exactly as it was.
Re-registering adds only what is new. Frames and predictions are filtered against the rows of
their own version first (an anti-join on record_id, which zone maps narrow to that version's
blocks; a version new to the Atlas needs none) and then plainly inserted: ON CONFLICT DO NOTHING
probes the key index per row and grew from 13 ms to 3 s per 1,000 frames between an empty Atlas and
one of 1M frames. A session holds one set of frames: a newer processed version replaces the frames
and predictions of an older one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
from pydantic import BaseModel, Field

from zenodo_atlas.atlas import spatial_index
from zenodo_atlas.atlas.connection import fetch_row, rollback
from zenodo_atlas.atlas.errors import DepositRefError, VersionMappingError
from zenodo_atlas.atlas.session_files import ScoreFile, SessionFiles, read_session
from zenodo_atlas.sessions.naming import read_session_name
from zenodo_atlas.sessions.zenodo_record import label_of, session_name_of, version_kinds
from zenodo_atlas.zenodo.models import Record

METADATA_ARCHIVE = "METADATA.zip"
IA_ARCHIVE = "PROCESSED_DATA_IA.zip"
TRACK_TOLERANCE_DEG = 1e-5  # ~1 m: keeps the track's shape, drops GPS jitter


class VersionRef(BaseModel):
    record_id: int
    doi: str | None = None
    label: str
    publication_date: date | None = None
    files: dict[str, str] = Field(default_factory=dict, description="file key -> md5 (hex)")


class DepositRef(BaseModel):
    session_name: str
    concept_recid: str
    concept_doi: str | None = None
    versions: list[VersionRef]
    recorded_by: list[str] = Field(default_factory=list, description="DataCollector contributors, latest version")


class RegistrationReport(BaseModel):
    session: str
    versions_added: int = 0
    frames_added: int = 0
    frames_replaced: int = 0
    predictions_added: int = 0
    unknown_columns: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


def deposit_ref_from_records(records: list[Record]) -> DepositRef:
    """One session's Zenodo versions as the Atlas needs them."""
    if not records:
        raise DepositRefError("No Zenodo records given; fetch every version of the session first.")
    concepts = {r.conceptrecid for r in records}
    if len(concepts) != 1:
        raise DepositRefError(f"Records belong to several concepts {sorted(concepts)}; pass one session's versions.")
    names = {n for n in map(session_name_of, records) if n}
    if len(names) != 1:
        raise DepositRefError(
            f"Expected one session urn (urn:YYYYMMDD_...) among the records' alternate identifiers, found "
            f"{sorted(names) or 'none'}."
        )
    records = sorted(records, key=lambda r: r.id)
    versions = [
        VersionRef(
            record_id=r.id,
            doi=r.doi,
            label=label_of(r),
            publication_date=r.metadata.get("publication_date"),
            files={f.key: f.md5 for f in r.files},
        )
        for r in records
    ]
    return DepositRef(
        session_name=names.pop(),
        concept_recid=records[0].conceptrecid,
        concept_doi=next((r.conceptdoi for r in reversed(records) if r.conceptdoi), None),
        versions=versions,
        recorded_by=[
            str(c["name"]) for c in records[-1].metadata.get("contributors") or []
            if isinstance(c, dict) and c.get("type") == "DataCollector" and c.get("name")
        ],
    )


def version_for_archive(deposit: DepositRef, archive: str, md5: str) -> int:
    """The earliest version holding a file with this md5: later versions inherit files unchanged, and
    the version that first published the content is the one frames should cite."""
    for version in sorted(deposit.versions, key=lambda v: v.record_id):
        if md5.lower() in {m.lower().removeprefix("md5:") for m in version.files.values()}:
            return version.record_id
    raise VersionMappingError(
        f"{archive} (md5 {md5}) matches no file of {deposit.session_name}'s Zenodo versions "
        f"{[v.record_id for v in deposit.versions]}; re-download the archive or refresh the deposit's records."
    )


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> Iterator[str]:
    name = f"_in_{uuid.uuid4().hex}"
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


def _check_session_name(con: duckdb.DuckDBPyConnection, deposit: DepositRef) -> None:
    row = con.execute(
        "SELECT concept_recid FROM deposit WHERE session_name = ? AND concept_recid <> ?",
        [deposit.session_name, deposit.concept_recid],
    ).fetchone()
    if row:
        raise DepositRefError(
            f"{deposit.session_name} is already registered under concept {row[0]}, not "
            f"{deposit.concept_recid}; one session must have one Zenodo concept."
        )


def _upsert_deposit(con: duckdb.DuckDBPyConnection, deposit: DepositRef) -> int:
    name = read_session_name(deposit.session_name)
    have_raw, have_processed = version_kinds(v.label for v in deposit.versions)
    con.execute(
        """
        INSERT INTO deposit (concept_recid, session_name, concept_doi, have_raw, have_processed,
                             session_date, country_code, country, place, platform, recorded_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (concept_recid) DO UPDATE SET
            concept_doi = coalesce(excluded.concept_doi, deposit.concept_doi),
            have_raw = excluded.have_raw, have_processed = excluded.have_processed,
            session_date = excluded.session_date, country_code = excluded.country_code,
            country = excluded.country, place = excluded.place, platform = excluded.platform,
            recorded_by = coalesce(excluded.recorded_by, deposit.recorded_by)
        """,
        [
            deposit.concept_recid, deposit.session_name, deposit.concept_doi,
            have_raw, have_processed,
            name.date, name.country_code, name.country_name, name.place, name.platform,
            " | ".join(deposit.recorded_by) or None,
        ],
    )
    versions = pd.DataFrame(
        {
            "record_id": [v.record_id for v in deposit.versions],
            "doi": pd.Series([v.doi for v in deposit.versions], dtype="string"),
            "label": [v.label for v in deposit.versions],
            "publication_date": pd.Series([v.publication_date for v in deposit.versions], dtype="object"),
        }
    )
    files = pd.DataFrame(
        [
            (v.record_id, key, md5.lower().removeprefix("md5:"))
            for v in deposit.versions
            for key, md5 in v.files.items()
        ],
        columns=["record_id", "file_key", "md5"],
    ).astype({"record_id": "int64", "file_key": "string", "md5": "string"})
    with _registered(con, versions) as src:
        added = fetch_row(con,
            f"SELECT count(*) FROM {src} WHERE record_id NOT IN (SELECT record_id FROM version)"
        )[0]
        con.execute(
            f"""
            INSERT INTO version (record_id, concept_recid, doi, label, publication_date)
            SELECT record_id, ?, doi, label, CAST(publication_date AS DATE) FROM {src}
            ON CONFLICT (record_id) DO UPDATE SET doi = excluded.doi, label = excluded.label,
                publication_date = excluded.publication_date
            """,
            [deposit.concept_recid],
        )
    with _registered(con, files) as src:
        con.execute(
            f"INSERT INTO version_file SELECT * FROM {src} ON CONFLICT DO UPDATE SET md5 = excluded.md5"
        )
    return added


def _write_footprint(con: duckdb.DuckDBPyConnection, concept_recid: str, src: str) -> list[str]:
    """Convex hull of the valid GPS points as the deposit footprint, plus the simplified track."""
    con.execute(
        f"""
        UPDATE deposit SET footprint = (
            SELECT CASE WHEN ST_GeometryType(hull) = 'POLYGON' THEN hull END
            FROM (SELECT ST_ConvexHull(ST_Collect(list(ST_Point(longitude, latitude)))) AS hull
                  FROM {src} WHERE valid_gps)
        )
        WHERE concept_recid = ?
        """,
        [concept_recid],
    )
    con.execute("DELETE FROM footprint_linestring WHERE concept_recid = ?", [concept_recid])
    con.execute(
        f"""
        INSERT INTO footprint_linestring
        SELECT ?, track FROM (
            SELECT ST_SimplifyPreserveTopology(
                ST_MakeLine(list(ST_Point(longitude, latitude) ORDER BY datetime_utc NULLS LAST, ordinal)), ?
            ) AS track
            FROM {src} WHERE valid_gps HAVING count(*) >= 2
        ) WHERE ST_NPoints(track) >= 2 AND ST_Length(track) > 0
        """,
        [concept_recid, TRACK_TOLERANCE_DEG],
    )
    missing = fetch_row(con, "SELECT footprint IS NULL FROM deposit WHERE concept_recid = ?", [concept_recid])
    if missing[0]:
        return ["Fewer than three distinct GPS positions: the deposit has no footprint polygon."]
    return []


def _insert_frames(con: duckdb.DuckDBPyConnection, record_id: int, src: str, *, fresh: bool) -> int:
    """Insert the useful frames the version does not hold yet (all of them when it is `fresh`)."""
    held = "" if fresh else (
        "AND NOT EXISTS (SELECT 1 FROM frame AS f WHERE f.record_id = $rid AND f.file_name = s.file_name)"
    )
    return fetch_row(con,
        f"""
        INSERT INTO frame (record_id, original_file_name, file_name, relative_file_path, geom, latitude,
                           longitude, altitude, depth, pitch, roll, track, datetime_utc, fix)
        SELECT $rid, s.original_file_name, s.file_name, s.relative_file_path,
               CASE WHEN s.valid_gps THEN ST_Point(s.longitude, s.latitude) END,
               s.latitude, s.longitude, s.altitude, s.depth, s.pitch, s.roll, s.track, s.datetime_utc, s.fix
        FROM {src} AS s
        WHERE s.useful {held}
        ORDER BY s.ordinal
        """,
        {"rid": record_id},
    )[0]


def _frame_records(con: duckdb.DuckDBPyConnection, concept_recid: str) -> list[int]:
    return [r for (r,) in con.execute(
        "SELECT DISTINCT f.record_id FROM frame f JOIN version v ON v.record_id = f.record_id"
        " WHERE v.concept_recid = ? ORDER BY 1", [concept_recid],
    ).fetchall()]


def _drop_older_frames(con: duckdb.DuckDBPyConnection, older: list[int]) -> pd.DataFrame:
    """Delete the frames of older versions and their predictions; returns (old id, file_name) so
    that annotations can follow their frame to the new version."""
    old = con.execute(
        "SELECT id AS old_id, file_name FROM frame WHERE list_contains(?, record_id)", [older]
    ).df()
    con.execute(
        "DELETE FROM multilabel_prediction WHERE frame_id IN"
        " (SELECT id FROM frame WHERE list_contains(?, record_id))", [older],
    )
    con.execute("DELETE FROM frame WHERE list_contains(?, record_id)", [older])
    return old


def _move_annotations(
    con: duckdb.DuckDBPyConnection, old: pd.DataFrame, record_id: int, report: RegistrationReport
) -> None:
    """Annotations are people's work: they move to the same file name in the new frames; those whose
    frame is gone from the new version are dropped, and said so."""
    with _registered(con, old) as src:
        con.execute(
            f"""
            UPDATE annotation SET frame_id = m.new_id
            FROM (SELECT o.old_id, f.id AS new_id FROM {src} o
                  JOIN frame f ON f.record_id = $rid AND f.file_name = o.file_name) AS m
            WHERE annotation.frame_id = m.old_id
            """,
            {"rid": record_id},
        )
        deleted = con.execute(f"DELETE FROM annotation WHERE frame_id IN (SELECT old_id FROM {src})").fetchone()
        lost = deleted[0] if deleted else 0
    if lost:
        report.warnings.append(f"{lost} annotation(s) named frames absent from the new version; dropped.")


def _model_for(con: duckdb.DuckDBPyConnection, path: Path) -> int | None:
    """The model whose published name (last part of its link) appears in the score file's name."""
    for model_id, name, link in con.execute("SELECT id, name, link FROM multilabel_model ORDER BY id").fetchall():
        if link.rstrip("/").rsplit("/", 1)[-1] in path.name or f"_{name}" in path.name:
            return model_id
    return None


def _class_columns(
    con: duckdb.DuckDBPyConnection, model_id: int, columns: list[str]
) -> tuple[dict[str, int], list[str]]:
    """Map score columns (current or old names) to the model's class ids; also list the unknown ones."""
    classes = dict(con.execute("SELECT name, id FROM multilabel_class WHERE model_id = ?", [model_id]).fetchall())
    by_label = dict(
        con.execute(
            "SELECT l.name, c.id FROM multilabel_class c JOIN multilabel_label l ON l.id = c.label_id"
            " WHERE c.model_id = ?",
            [model_id],
        ).fetchall()
    )
    renames = dict(con.execute("SELECT old_label, label FROM label_rename").fetchall())
    mapped: dict[str, int] = {}
    unknown = []
    for column in columns:
        new = renames.get(column, column)
        class_id = classes.get(column) or classes.get(new) or by_label.get(new)
        if class_id is None or class_id in mapped.values():
            unknown.append(column)
        else:
            mapped[column] = class_id
    return mapped, unknown


def _insert_predictions(
    con: duckdb.DuckDBPyConnection,
    frames_record: int,
    ia_record: int,
    score: ScoreFile,
    report: RegistrationReport,
    *,
    fresh: bool,
) -> None:
    model_id = _model_for(con, score.path)
    if model_id is None:
        report.warnings.append(f"{score.path.name}: no known multilabel model matches its name; skipped.")
        return
    mapped, unknown = _class_columns(con, model_id, [c for c in score.table.columns if c != "file_name"])
    report.unknown_columns.extend(c for c in unknown if c not in report.unknown_columns)
    if not mapped:
        return
    held = "" if fresh else """
        WHERE NOT EXISTS (
            SELECT 1 FROM multilabel_prediction AS p
            WHERE p.record_id = $ia AND p.frame_id = f.id AND p.class_id = CAST(u.class_key AS INTEGER)
        )"""
    wide = (
        score.table[["file_name", *mapped]]
        .drop_duplicates("file_name")
        .rename(columns={c: str(i) for c, i in mapped.items()})
    )
    with _registered(con, wide) as src:
        report.predictions_added += fetch_row(con,
            f"""
            INSERT INTO multilabel_prediction (frame_id, class_id, record_id, score)
            SELECT f.id, CAST(u.class_key AS INTEGER), $ia, u.score
            FROM (UNPIVOT {src} ON COLUMNS(* EXCLUDE (file_name)) INTO NAME class_key VALUE score) AS u
            JOIN frame AS f ON f.record_id = $frames AND f.file_name = u.file_name
            {held}
            """,
            {"ia": ia_record, "frames": frames_record},
        )[0]


@dataclass
class PreparedSession:
    """A session's files read and checked and its versions resolved: all registration does without
    the database, so that it can happen before the writer slot is taken."""

    deposit: DepositRef
    files: SessionFiles
    frames_record: int
    ia_record: int | None


def prepare_session(
    session_dir: Path, deposit: DepositRef, *, archive_md5s: dict[str, str], all_frames: bool = False
) -> PreparedSession:
    """Read and check the session's files and find the versions they come from.

    `archive_md5s` gives the md5 of the METADATA.zip and PROCESSED_DATA_IA.zip the folder was
    extracted from; each is matched to the Zenodo version that holds it.
    """
    session_dir = Path(session_dir)
    if METADATA_ARCHIVE not in archive_md5s:
        raise VersionMappingError(
            f"archive_md5s lacks {METADATA_ARCHIVE}; give the md5 of the METADATA.zip the frames come from."
        )
    files = read_session(session_dir, deposit.session_name, all_frames=all_frames)
    frames_record = version_for_archive(deposit, METADATA_ARCHIVE, archive_md5s[METADATA_ARCHIVE])
    ia_record = None
    if files.scores:
        if IA_ARCHIVE not in archive_md5s:
            raise VersionMappingError(
                f"{session_dir} has score CSVs but archive_md5s lacks {IA_ARCHIVE}; give its md5."
            )
        ia_record = version_for_archive(deposit, IA_ARCHIVE, archive_md5s[IA_ARCHIVE])
    return PreparedSession(deposit, files, frames_record, ia_record)


def register_session(
    con: duckdb.DuckDBPyConnection,
    session_dir: Path,
    deposit: DepositRef,
    *,
    archive_md5s: dict[str, str],
    all_frames: bool = False,
) -> RegistrationReport:
    """Add or update one session, all or nothing (`prepare_session`, then `register_prepared`), and
    checkpoint, as every writer does before it lets the file go (see `spatial_index`)."""
    report = register_prepared(con, prepare_session(session_dir, deposit, archive_md5s=archive_md5s,
                                                    all_frames=all_frames))
    spatial_index.checkpoint(con)
    return report


def register_prepared(con: duckdb.DuckDBPyConnection, prepared: PreparedSession) -> RegistrationReport:
    """Write a prepared session in one transaction. The caller checkpoints before it lets the file go
    (`snapshot.write_committed` does, once for all the writes of a visit)."""
    deposit, files, frames_record, ia_record = (
        prepared.deposit, prepared.files, prepared.frames_record, prepared.ia_record
    )
    report = RegistrationReport(session=deposit.session_name, warnings=list(files.warnings))
    _check_session_name(con, deposit)
    con.begin()
    try:
        report.versions_added = _upsert_deposit(con, deposit)
        held = _frame_records(con, deposit.concept_recid)
        if any(r > frames_record for r in held):
            report.warnings.append(
                f"The Atlas holds frames of a newer version ({max(held)}) than {frames_record}; kept those."
            )
            con.commit()
            return report
        older = [r for r in held if r < frames_record]
        # A version new to the Atlas has no frame yet, hence no prediction either: nothing to skip or
        # replace, and no scan of the frames and predictions to find out.
        fresh = frames_record not in held
        old = _drop_older_frames(con, older) if older else None
        with _registered(con, files.frames) as src:
            report.warnings += _write_footprint(con, deposit.concept_recid, src)
            report.frames_added = _insert_frames(con, frames_record, src, fresh=fresh)
        spatial_index.write_extents(con, [frames_record, *older])
        if old is not None:
            report.frames_replaced = len(old)
            _move_annotations(con, old, frames_record, report)
        if ia_record is not None:  # set exactly when there are score files
            if not fresh:  # predictions of an older IA version give way to the newer ones
                con.execute(
                    "DELETE FROM multilabel_prediction WHERE record_id < $ia AND frame_id IN"
                    " (SELECT id FROM frame WHERE record_id = $frames)", {"ia": ia_record, "frames": frames_record},
                )
            for n, score in enumerate(files.scores):  # a later score file may score the same frames again
                _insert_predictions(con, frames_record, ia_record, score, report, fresh=fresh and n == 0)
        con.commit()
    except BaseException:
        rollback(con)
        raise
    if report.unknown_columns:
        report.warnings.append(f"Score columns matching no class were ignored: {', '.join(report.unknown_columns)}.")
    return report


__all__ = [
    "DepositRef",
    "PreparedSession",
    "RegistrationReport",
    "VersionRef",
    "deposit_ref_from_records",
    "prepare_session",
    "register_prepared",
    "register_session",
    "version_for_archive",
]
