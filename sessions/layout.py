"""What a session folder holds, what each operation still lacks, and cheap checks of its CSVs.

Checks read only the CSV files (never images), so a whole disk of sessions can be checked before a
night of uploads; every problem names the file and says what to fix.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from zenodo_atlas.sessions.errors import SessionError, SessionNotReadyError
from zenodo_atlas.sessions.frames import parse_exif_datetime, parse_fix, parse_float, relative_path_column
from zenodo_atlas.sessions.ia import jacques_csv_name, multilabel_csv_name
from zenodo_atlas.sessions.links import escaping_links, inside
from zenodo_atlas.sessions.naming import parse_session_name
from zenodo_atlas.sessions.plan import archive_name, resolve_in_session
from zenodo_atlas.sessions.session import Session

Operation = Literal["raw", "processed", "register"]
KNOWN_FOLDERS = (
    "DCIM", "GPS", "SENSORS", "METADATA", "PROCESSED_DATA/FRAMES", "PROCESSED_DATA/IA",
    "PROCESSED_DATA/BATHY", "PROCESSED_DATA/PHOTOGRAMMETRY", "PROCESSED_DATA/CPCE_ANNOTATION",
)
REQUIRED_METADATA_COLUMNS = ("FileName", "GPSLatitude", "GPSLongitude")
# OriginalFileName is not among them: plancha never writes it and FileName stands in for it.
OPTIONAL_METADATA_COLUMNS = ("GPSAltitude", "GPSPitch", "GPSRoll", "GPSTrack", "GPSfix")
_EXAMPLES = 3
_CSV_FOLDERS = ("METADATA/", "PROCESSED_DATA/")


class Problem(BaseModel):
    severity: Literal["error", "warning"]
    path: str
    message: str


class LayoutReport(BaseModel):
    path: Path
    name: str
    platform: str | None = None
    present_folders: list[str] = []
    present_files: list[str] = []
    missing_for: dict[str, list[str]] = {}
    problems: list[Problem] = []

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def blocking(self, operation: Operation) -> list[Problem]:
        """The errors that stop `operation`: raw uploads archive folders as they are, so the frame
        CSVs (METADATA, PROCESSED_DATA) cannot block them."""
        if operation != "raw":
            return self.errors
        return [p for p in self.errors if not p.path.startswith(_CSV_FOLDERS)]

    def ready_for(self, operation: Operation) -> bool:
        return not self.blocking(operation) and not self.missing_for.get(operation)


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, severity: Literal["error", "warning"], path: str, message: str) -> None:
        self.problems.append(Problem(severity=severity, path=path, message=message))

    def counted(self, severity: Literal["error", "warning"], path: str, what: str, lines: list[int]) -> None:
        """One problem for many rows: how many, and the first few line numbers."""
        if lines:
            shown = ", ".join(map(str, lines[:_EXAMPLES])) + (", ..." if len(lines) > _EXAMPLES else "")
            self.add(severity, path, f"{len(lines)} row(s) {what} (line {shown})")


def _has_files(folder: Path, root: Path) -> bool:
    return folder.is_dir() and any(inside(p, root) and p.is_file() for p in folder.rglob("*"))


def _read(path: Path, rel: str, out: _Collector) -> tuple[list[str], list[dict[str, str]]] | None:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            fieldnames = list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        out.add("error", rel, f"cannot be read as a UTF-8 CSV: {exc}")
        return None
    if not fieldnames:
        out.add("error", rel, "is empty: expected a header line")
        return None
    return fieldnames, rows


def _check_coordinates(
    row: dict[str, str], line: int, bad: list[int], no_gps: list[int], null_island: list[int]
) -> None:
    try:
        lat, lon = parse_float(row.get("GPSLatitude")), parse_float(row.get("GPSLongitude"))
    except ValueError:
        bad.append(line)
        return
    if lat is None or lon is None:
        no_gps.append(line)
    elif not (-90 <= lat <= 90 and -180 <= lon <= 180):
        bad.append(line)
    elif lat == 0 and lon == 0:
        null_island.append(line)


def _check_metadata_csv(session: Session, out: _Collector) -> set[str]:
    """Columns, coordinates, dates and paths of METADATA/metadata.csv; returns its FileNames."""
    rel = "METADATA/metadata.csv"
    read = _read(session.metadata_csv, rel, out)
    if read is None:
        return set()
    fieldnames, rows = read
    missing = [c for c in REQUIRED_METADATA_COLUMNS if c not in fieldnames]
    path_column = relative_path_column(fieldnames)
    if path_column is None:
        missing.append("relative_file_path")
    date_columns = [c for c in session.rules.date_columns if c in fieldnames]
    for column in missing:
        out.add("error", rel, f"missing column {column}; add it (see the columns of a sample session)")
    if not date_columns:
        out.add("error", rel, "no date column: expected one of " + ", ".join(session.rules.date_columns))
    for column in OPTIONAL_METADATA_COLUMNS:
        if column not in fieldnames:
            out.add("warning", rel, f"no {column} column")
    if not rows:
        out.add("warning", rel, "has a header but no frame rows")

    has_coordinates = "GPSLatitude" in fieldnames and "GPSLongitude" in fieldnames
    bad_coords: list[int] = []
    no_gps: list[int] = []
    null_island: list[int] = []
    bad_dates: list[int] = []
    escaping: list[int] = []
    absent: list[int] = []
    bad_fix: list[int] = []
    not_prefixed: list[int] = []
    duplicates: list[int] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        name = row.get("FileName") or ""
        if name in seen:
            duplicates.append(line)
        seen.add(name)
        if has_coordinates:
            _check_coordinates(row, line, bad_coords, no_gps, null_island)
        fix = (row.get("GPSfix") or "").strip()
        if fix and parse_fix(fix) is None:
            bad_fix.append(line)
        for column in date_columns:
            value = (row.get(column) or "").strip()
            if value and parse_exif_datetime(value) is None:
                bad_dates.append(line)
                break
        if path_column:
            value = (row.get(path_column) or "").strip()
            resolved = resolve_in_session(session, value) if value else None
            if value and (resolved is None or ".." in Path(value).parts):
                escaping.append(line)
            elif resolved is not None and not resolved.is_file():
                absent.append(line)
            if value and not value.startswith(session.name.raw + "/"):
                not_prefixed.append(line)
    out.counted("error", rel, "have GPSLatitude/GPSLongitude outside [-90, 90]/[-180, 180] or not numbers",
                bad_coords)
    out.counted("error", rel, f"have a date that does not parse ({', '.join(date_columns)}; "
                "expected YYYY:MM:DD HH:MM:SS[.fraction][Z|+hh:mm])", bad_dates)
    out.counted("error", rel, "have a relative_file_path that leaves the session (absolute or '..')", escaping)
    out.counted("warning", rel, "have no GPS position", no_gps)
    out.counted("warning", rel, "sit at latitude 0, longitude 0 (no fix)", null_island)
    out.counted("warning", rel, "have a GPSfix that is not a whole number", bad_fix)
    out.counted("warning", rel, "point to a file not present in the session", absent)
    out.counted("warning", rel, f"have a relative_file_path not starting with {session.name.raw}/", not_prefixed)
    out.counted("warning", rel, "repeat a FileName already listed", duplicates)
    return seen


def _check_filename_csv(
    path: Path, rel: str, out: _Collector, known: set[str], *, needed: Sequence[str] = ("FileName",)
) -> list[str]:
    read = _read(path, rel, out)
    if read is None:
        return []
    fieldnames, rows = read
    for column in needed:
        if column not in fieldnames:
            out.add("error", rel, f"missing column {column}")
    if "FileName" in fieldnames and known:
        unknown = [line for line, row in enumerate(rows, start=2) if row.get("FileName") not in known]
        out.counted("warning", rel, "name a FileName absent from METADATA/metadata.csv", unknown)
    return fieldnames


def _check_scores(
    path: Path, rel: str, out: _Collector, known: set[str], class_columns: Collection[str] | None
) -> None:
    fieldnames = _check_filename_csv(path, rel, out, known)
    classes = [c for c in fieldnames if c != "FileName"]
    if fieldnames and not classes:
        out.add("error", rel, "has no class column next to FileName")
        return
    unknown = [c for c in classes if class_columns is not None and c not in class_columns]
    if unknown:
        out.add("warning", rel, f"{len(unknown)} column(s) match no class of the Atlas's models and will be "
                f"ignored by register: {', '.join(unknown[:_EXAMPLES])}{', ...' if len(unknown) > _EXAMPLES else ''}"
                "; rename them to the model's class names")
    bad = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                values = [parse_float(row.get(c)) for c in classes]
            except ValueError:
                bad.append(line)
                continue
            if any(v is not None and not 0 <= v <= 1 for v in values):
                bad.append(line)
    out.counted("error", rel, "have a score that is not a number between 0 and 1", bad)


def check_session(path: Path | str, class_columns: Collection[str] | None = None) -> LayoutReport:
    """Everything `check` reports about one session folder; never raises for a bad session.

    `class_columns` are the score column names the Atlas knows (the CLI passes the Atlas's reference
    classes); other columns of the multilabel scores CSV are reported, since register ignores them.
    """
    path = Path(path).expanduser()
    report = LayoutReport(path=path, name=path.name)
    out = _Collector()
    try:
        session = Session.open(path)
    except SessionError as exc:
        out.add("error", str(path), str(exc))
        report.problems = out.problems
        return report
    report.platform = session.name.platform
    root = session.path
    report.present_folders = [f for f in KNOWN_FOLDERS if _has_files(root / f, root)]
    key_files = {
        "METADATA/metadata.csv": session.metadata_csv,
        "METADATA/predictions_gps.csv": session.predictions_csv,
        f"PROCESSED_DATA/IA/{jacques_csv_name(session.name.raw)}": session.ia_dir / jacques_csv_name(
            session.name.raw),
        f"PROCESSED_DATA/IA/{multilabel_csv_name(session.name.raw, scores=True)}": session.ia_dir
        / multilabel_csv_name(session.name.raw, scores=True),
    }
    present = {rel for rel, p in key_files.items() if p.is_file()}
    root_files = sorted(
        p.name for p in root.iterdir() if inside(p, root) and p.is_file() and not p.name.startswith(".")
    )
    report.present_files = [rel for rel in key_files if rel in present] + root_files
    rel_metadata, rel_predictions, rel_jacques, rel_scores = key_files

    has_frames = any(f in report.present_folders for f in ("PROCESSED_DATA/FRAMES", "DCIM"))
    useful_source = rel_predictions in present or rel_jacques in present
    # Only what blocks an operation counts as missing; gaps it can live with are warnings.
    report.missing_for = {
        "raw": [] if "DCIM" in report.present_folders else ["DCIM"],
        "processed": [rel_metadata] * (rel_metadata not in present),
        "register": [rel for rel in (rel_metadata, rel_jacques, rel_scores) if rel not in present],
    }
    absent_raw = [f for f in session.rules.raw_archives if f != "DCIM" and f not in report.present_folders]
    if absent_raw:
        out.add("warning", str(root), f"no {', '.join(absent_raw)}: the raw data will go without "
                f"{', '.join(archive_name(f) for f in absent_raw)}")
    if not useful_source:
        out.add("warning", rel_predictions, "absent, as is the usefulness CSV: a frames archive needs "
                "one of them to select useful frames (or ask for all frames)")
    if not has_frames:
        out.add("warning", str(root), "no frames (PROCESSED_DATA/FRAMES or DCIM): no frames archive possible")

    for link, target in escaping_links(root):
        out.add("warning", link.relative_to(root).as_posix(),
                f"symbolic link to {target} leads outside the session (or nowhere): never read nor published; "
                "copy the file into the session if it belongs there")
    known = _check_metadata_csv(session, out) if rel_metadata in present else set()
    if rel_predictions in present:
        _check_filename_csv(session.predictions_csv, rel_predictions, out, known)
    if rel_jacques in present:
        _check_filename_csv(key_files[rel_jacques], rel_jacques, out, known, needed=("FileName", "Useless"))
    if rel_scores in present:
        _check_scores(key_files[rel_scores], rel_scores, out, known, class_columns)
    report.problems = out.problems
    return report


def expand_session_paths(paths: Iterable[Path | str]) -> list[Path]:
    """Sessions named directly, or the session folders (valid names) inside a folder of sessions."""
    expanded: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir() and not _is_session_name(path.name):
            children = sorted(c for c in path.iterdir() if c.is_dir() and _is_session_name(c.name))
            if children:
                expanded += children
                continue
        expanded.append(path)
    return expanded


def _is_session_name(name: str) -> bool:
    try:
        parse_session_name(name)
    except SessionError:
        return False
    return True


def check_sessions(
    paths: Iterable[Path | str], class_columns: Collection[str] | None = None
) -> list[LayoutReport]:
    return [check_session(p, class_columns) for p in expand_session_paths(paths)]


def require_ready(
    session: Session, operation: Operation, class_columns: Collection[str] | None = None
) -> LayoutReport:
    """The `check` report; SessionNotReadyError unless it finds the session ready for `operation`."""
    report = check_session(session.path, class_columns)
    missing = report.missing_for.get(operation, [])
    errors = report.blocking(operation)
    if missing or errors:
        reasons = [f"missing {m}" for m in missing] + [f"{p.path}: {p.message}" for p in errors]
        raise SessionNotReadyError(
            f"{session.name.raw} is not ready for the {operation} upload: {'; '.join(reasons)}. "
            f"Run `zenodo-atlas session check {session.path}` for the full report."
        )
    return report
