"""Reading the per-frame CSVs cheaply: EXIF-style dates, coordinates, the session's frame summary."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.ia import JACQUES_MODEL_NAME
from zenodo_atlas.sessions.session import Session, ia_folder

_EXIF_DATE = re.compile(
    r"(?P<y>\d{4})[:\-](?P<mo>\d{2})[:\-](?P<d>\d{2})[ T](?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<frac>\d+))?\s*(?P<tz>Z|[+\-]\d{2}:?\d{2})?"
)


def parse_exif_datetime(value: str) -> datetime | None:
    """`2023:10:21 09:30:00.000+04:00`, `2023:10:21 05:30:00Z`, `2023-10-21 09:30:00`; else None.

    Fractions of any length are accepted and cut to microseconds: plancha-workflow writes numpy's
    nanosecond form, `2023:10:18 06:12:00.000000000`, without a zone (SeatizenDOI/plancha-workflow,
    src/lib/lib_dcim.py, time_calibration_and_geotag)."""
    match = _EXIF_DATE.fullmatch(value.strip())
    if not match:
        return None
    g = match.groupdict()
    tz = None
    if g["tz"] == "Z":
        tz = UTC
    elif g["tz"]:
        sign = -1 if g["tz"][0] == "-" else 1
        digits = g["tz"][1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(
            int(g["y"]), int(g["mo"]), int(g["d"]), int(g["h"]), int(g["mi"]), int(g["s"]),
            int((g["frac"] or "0")[:6].ljust(6, "0")), tzinfo=tz,
        )
    except ValueError:
        return None


def parse_float(value: str | None) -> float | None:
    """A finite float, or None for empty/NaN cells; ValueError for text that is not a number."""
    if value is None or not value.strip() or value.strip().lower() in ("nan", "none", "null"):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def parse_fix(value: str | None) -> int | None:
    """A GPS fix code; plancha interpolates it with numpy and writes `1.0`, `2.0`, `5.0`."""
    try:
        number = parse_float(value)
    except ValueError:
        return None
    return int(number) if number is not None and number.is_integer() and 0 <= number <= 255 else None


def relative_path_column(fieldnames: Iterable[str] | None) -> str | None:
    """The predecessor accepts any column whose name contains `relative_file_path`."""
    return next((c for c in fieldnames or () if "relative_file_path" in c), None)


def _csv_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or ())]
        if missing:
            raise SessionError(f"{path} lacks column(s) {', '.join(missing)}; re-export it.")
        return list(reader)


def useful_frame_names(session_dir: Path) -> set[str] | None:
    """FileNames of the useful frames, by the predecessor's rule, for upload and the Atlas alike.

    The rows of METADATA/predictions_gps.csv; when it is missing or has no row, the frames the
    usefulness model marks `Useless == 0`; None when the session has neither (no frame is useful).
    """
    predictions = session_dir / "METADATA" / "predictions_gps.csv"
    if predictions.is_file():
        names = {row["FileName"] for row in _csv_rows(predictions, ("FileName",)) if row.get("FileName")}
        if names:
            return names
    jacques = sorted(ia_folder(session_dir).glob(f"*{JACQUES_MODEL_NAME}*.csv"))
    if not jacques:
        return None
    useful: set[str] = set()
    for line, row in enumerate(_csv_rows(jacques[0], ("FileName", "Useless")), start=2):
        try:
            useless = parse_float(row.get("Useless"))
        except ValueError:
            raise SessionError(f"{jacques[0]}: Useless holds {row['Useless']!r} on line {line}, not a number") from None
        if useless == 0 and row.get("FileName"):
            useful.add(row["FileName"])
    return useful


@dataclass
class FrameSummary:
    """What metadata.csv says about a session, for descriptions, locations and dates."""

    frames: int = 0
    with_gps: int = 0
    fix_counts: dict[int, int] = field(default_factory=dict)
    south: float | None = None
    west: float | None = None
    north: float | None = None
    east: float | None = None
    first: datetime | None = None
    last: datetime | None = None
    median_altitude: float | None = None
    max_depth: float | None = None
    cameras: list[str] = field(default_factory=list)

    @property
    def first_day(self) -> date | None:
        return self.first.date() if self.first else None

    @property
    def last_day(self) -> date | None:
        return self.last.date() if self.last else None

    @property
    def duration(self) -> timedelta | None:
        return self.last - self.first if self.first and self.last else None

    def fix_percent(self, fix: int) -> float:
        return 100.0 * self.fix_counts.get(fix, 0) / self.frames if self.frames else 0.0


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _naive(moment: datetime) -> datetime:
    """Compare instants in UTC; naive times are taken as they are."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def summarize_frames(session: Session) -> FrameSummary:
    """Counts, bounding box, GPS fix shares and time span from METADATA/metadata.csv (if present)."""
    summary = FrameSummary()
    if not session.metadata_csv.is_file():
        return summary
    fieldnames, rows = read_rows(session.metadata_csv)
    date_columns = [c for c in session.rules.date_columns if c in fieldnames]
    altitudes: list[float] = []
    for row in rows:
        summary.frames += 1
        try:
            lat, lon = parse_float(row.get("GPSLatitude")), parse_float(row.get("GPSLongitude"))
        except ValueError:
            lat = lon = None
        if lat is not None and lon is not None and (lat, lon) != (0.0, 0.0) \
                and -90 <= lat <= 90 and -180 <= lon <= 180:
            summary.with_gps += 1
            summary.south = lat if summary.south is None else min(summary.south, lat)
            summary.north = lat if summary.north is None else max(summary.north, lat)
            summary.west = lon if summary.west is None else min(summary.west, lon)
            summary.east = lon if summary.east is None else max(summary.east, lon)
        fix = parse_fix(row.get("GPSfix"))
        if fix is not None:
            summary.fix_counts[fix] = summary.fix_counts.get(fix, 0) + 1
        try:
            altitude = parse_float(row.get("GPSAltitude"))
        except ValueError:
            altitude = None
        if altitude is not None:
            altitudes.append(altitude)
        camera = " ".join(v for c in ("Make", "Model", "CameraModel") if (v := (row.get(c) or "").strip()))
        if camera and camera not in summary.cameras:
            summary.cameras.append(camera)
        try:
            depth = parse_float(row.get("Depth"))
        except ValueError:
            depth = None
        if depth is not None:
            summary.max_depth = depth if summary.max_depth is None else max(summary.max_depth, depth)
        moment = next(
            (m for c in date_columns if (m := parse_exif_datetime(row.get(c) or "")) is not None), None
        )
        if moment is not None:
            key = _naive(moment)
            if summary.first is None or key < _naive(summary.first):
                summary.first = moment
            if summary.last is None or key > _naive(summary.last):
                summary.last = moment
    if altitudes:
        altitudes.sort()
        summary.median_altitude = altitudes[len(altitudes) // 2]
    return summary
