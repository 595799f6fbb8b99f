"""Import human annotations in the predecessor's format.

A file is `YYYYMMDD_HHMMSS__author__dataset[_labels].csv` with `FileName` and one column per label
holding 1 (present), 0 (absent) or -1 (unsure); empty cells are not stored. Frames are matched by
session and file name: Atlas file names start with the session name; a camera's bare name (e.g.
DJI_0001.JPG) is accepted when exactly one session has it. The session's latest version holding the
frame is used.

One transaction per call: every file of a folder is checked first, and any unknown label, unknown
frame or bad value aborts the whole call with every problem listed, so nothing is half-imported.
A file whose (date, author, dataset) is already in the Atlas is skipped, which makes re-imports no-ops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
from pydantic import BaseModel, Field

from zenodo_atlas.atlas.connection import fetch_row, rollback
from zenodo_atlas.atlas.errors import AnnotationError
from zenodo_atlas.errors import one_line

_FILE_NAME = re.compile(r"^(?P<stamp>\d{8}_\d{6})__(?P<author>.+?)__(?P<dataset>.+?)(?:_labels)?\.csv$")
_MAX_LISTED = 5

LATEST_ANNOTATION_SQL = """
SELECT a.frame_id, a.label_id, arg_max(a.value, (s.annotation_date, s.id)) AS value,
       max(s.annotation_date) AS annotation_date, arg_max(s.author, (s.annotation_date, s.id)) AS author
FROM annotation AS a JOIN annotation_session AS s ON s.id = a.session_id
GROUP BY a.frame_id, a.label_id
"""
"""The value that counts for a frame and label: the latest annotation session's (ties: the later id)."""


class AnnotationReport(BaseModel):
    files_imported: list[str] = Field(default_factory=list)
    files_skipped: list[str] = Field(default_factory=list, description="already imported")
    sessions_added: int = 0
    annotations_added: int = 0


@dataclass
class _Parsed:
    path: Path
    annotation_date: datetime
    author: str
    dataset: str
    values: pd.DataFrame  # file_name, label_id, value


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv")
        if not found:
            raise AnnotationError(f"{path} holds no .csv annotation file.")
        return found
    if path.is_file():
        return [path]
    raise AnnotationError(f"{path} does not exist; give an annotation CSV or a folder of them.")


def _label_ids(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    labels = dict(con.execute("SELECT name, id FROM multilabel_label").fetchall())
    for old, new in con.execute("SELECT old_label, label FROM label_rename").fetchall():
        if new in labels:
            labels.setdefault(old, labels[new])
    return labels


def _parse(path: Path, labels: dict[str, int], problems: list[str]) -> _Parsed | None:
    match = _FILE_NAME.match(path.name)
    if not match:
        problems.append(f"{path.name}: name must be YYYYMMDD_HHMMSS__author__dataset[_labels].csv")
        return None
    try:
        stamp = datetime.strptime(match["stamp"], "%Y%m%d_%H%M%S")
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: unreadable ({one_line(exc)})")
        return None
    if "FileName" not in table.columns:
        problems.append(f"{path.name}: no FileName column")
        return None
    columns = [c for c in table.columns if c != "FileName"]
    unknown = [c for c in columns if c not in labels]
    if unknown:
        problems.append(f"{path.name}: unknown label(s) {', '.join(unknown[:_MAX_LISTED])}")
    long = table.melt(id_vars="FileName", value_vars=[c for c in columns if c in labels], var_name="label")
    long = long.dropna(subset=["value"])
    values = pd.to_numeric(long["value"], errors="coerce")
    bad = long.loc[~values.isin([1, 0, -1]), "value"]
    if len(bad):
        problems.append(f"{path.name}: values must be 1, 0 or -1, found {sorted(set(bad))[:_MAX_LISTED]}")
        return None
    frame = pd.DataFrame(
        {
            "file_name": long["FileName"].astype("string").str.strip(),
            "label_id": long["label"].map(labels).astype("int32"),
            "value": values.astype("int8"),
        }
    ).drop_duplicates(subset=["file_name", "label_id"], keep="last")
    return _Parsed(path, stamp, match["author"], match["dataset"], frame)


def _match_frames(con: duckdb.DuckDBPyConnection, parsed: _Parsed, problems: list[str]) -> pd.DataFrame:
    """Frame ids for the file's names: a name is either the Atlas file name (session name first) or the
    camera's bare name, which must then belong to exactly one registered session."""
    names = pd.DataFrame({"file_name": parsed.values["file_name"].drop_duplicates()})
    con.register("_annotation_names", names)
    try:
        matched = con.execute(
            """
            WITH candidates AS (
                SELECT n.file_name, n.file_name AS atlas_name FROM _annotation_names AS n
                UNION
                SELECT n.file_name, d.session_name || '_' || n.file_name FROM _annotation_names AS n, deposit AS d
            )
            SELECT c.file_name, arg_max(f.id, f.record_id) AS frame_id, count(DISTINCT v.concept_recid) AS sessions
            FROM candidates AS c
            JOIN frame AS f ON f.file_name = c.atlas_name
            JOIN version AS v ON v.record_id = f.record_id
            JOIN deposit AS d ON d.concept_recid = v.concept_recid AND starts_with(f.file_name, d.session_name)
            GROUP BY c.file_name
            """
        ).df()
    finally:
        con.unregister("_annotation_names")
    missing = sorted(set(names["file_name"]) - set(matched["file_name"]))
    if missing:
        problems.append(
            f"{parsed.path.name}: {len(missing)} frame(s) not in the Atlas, e.g. {', '.join(missing[:_MAX_LISTED])}"
            " (register their sessions first)"
        )
    ambiguous = sorted(matched.loc[matched["sessions"] > 1, "file_name"])
    if ambiguous:
        problems.append(
            f"{parsed.path.name}: {len(ambiguous)} file name(s) exist in several sessions, e.g. "
            f"{', '.join(ambiguous[:_MAX_LISTED])} (write them with the session name first)"
        )
    return parsed.values.merge(matched[["file_name", "frame_id"]], on="file_name")


def import_annotations(con: duckdb.DuckDBPyConnection, path: Path) -> AnnotationReport:
    """Import one annotation file or every .csv of a folder, all or nothing."""
    path = Path(path)
    labels = _label_ids(con)
    problems: list[str] = []
    report = AnnotationReport()
    ready: list[tuple[_Parsed, pd.DataFrame]] = []
    for file in _files(path):
        parsed = _parse(file, labels, problems)
        if parsed is None:
            continue
        exists = fetch_row(con,
            "SELECT count(*) FROM annotation_session WHERE annotation_date = ? AND author = ? AND dataset = ?",
            [parsed.annotation_date, parsed.author, parsed.dataset],
        )[0]
        if exists or any(
            (p.annotation_date, p.author, p.dataset) == (parsed.annotation_date, parsed.author, parsed.dataset)
            for p, _ in ready
        ):
            report.files_skipped.append(file.name)
            continue
        ready.append((parsed, _match_frames(con, parsed, problems)))
    if problems:
        raise AnnotationError(
            f"Nothing imported from {path}: " + "; ".join(problems) + ". Fix the file(s) and import again.",
            problems,
        )
    con.begin()
    try:
        for parsed, values in ready:
            session_id = fetch_row(con,
                "INSERT INTO annotation_session (annotation_date, author, dataset, file_name)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                [parsed.annotation_date, parsed.author, parsed.dataset, parsed.path.name],
            )[0]
            con.register("_annotation_values", values[["frame_id", "label_id", "value"]])
            try:
                report.annotations_added += fetch_row(con,
                    "INSERT INTO annotation (session_id, frame_id, label_id, value)"
                    " SELECT ?, frame_id, label_id, value FROM _annotation_values",
                    [session_id],
                )[0]
            finally:
                con.unregister("_annotation_values")
            report.sessions_added += 1
            report.files_imported.append(parsed.path.name)
        con.commit()
    except BaseException:
        rollback(con)
        raise
    return report
