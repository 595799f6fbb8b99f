"""Read and check a session's METADATA and IA CSVs before anything touches the database.

Everything is validated up front so that a broken file is reported with its name and row, and
registration only opens its transaction on data that is known to load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from zenodo_atlas.atlas.errors import SessionFileError
from zenodo_atlas.errors import one_line
from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.frames import relative_path_column, useful_frame_names
from zenodo_atlas.sessions.session import ia_folder

_EXIF_DATE = r"^(\d{4}):(\d{2}):(\d{2})"
_TZ_SUFFIX = r"(?:Z|[+-]\d{2}:?\d{2})$"
# plancha-workflow stamps frames with GPS time in numpy's nanosecond form and no zone
# (SeatizenDOI/plancha-workflow, src/lib/lib_dcim.py): that form is UTC by construction.
_PLANCHA_UTC = r"^\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}\.\d{9}$"
_GPS_COLUMNS = {
    "latitude": "GPSLatitude",
    "longitude": "GPSLongitude",
    "altitude": "GPSAltitude",
    "depth": "Depth",
    "pitch": "GPSPitch",
    "roll": "GPSRoll",
    "track": "GPSTrack",
}
FRAME_COLUMNS = [
    "file_name", "original_file_name", "relative_file_path", "latitude", "longitude", "altitude",
    "depth", "pitch", "roll", "track", "datetime_utc", "fix", "valid_gps", "ordinal", "useful",
]


@dataclass
class ScoreFile:
    path: Path
    table: pd.DataFrame  # file_name + one float column per class (as named in the file)


@dataclass
class SessionFiles:
    frames: pd.DataFrame  # FRAME_COLUMNS, one row per metadata.csv row
    scores: list[ScoreFile]
    warnings: list[str] = field(default_factory=list)


def read_csv_checked(path: Path, *, required: tuple[str, ...] = ("FileName",), **kwargs) -> pd.DataFrame:
    """pandas.read_csv (pyarrow engine: fast, and a row with too few fields is an error, not NaNs)
    with errors that name the file and say how to fix it."""
    kwargs.setdefault("engine", "pyarrow")
    if not path.is_file():
        raise SessionFileError(f"Missing {path}; the session needs it (re-extract the archive that holds it).")
    try:
        table = pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        reason = one_line(exc)
        raise SessionFileError(f"{path} is not a readable CSV ({reason}); re-export or re-download it.") from exc
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise SessionFileError(f"{path} lacks column(s) {', '.join(missing)}; found {list(table.columns)[:12]}.")
    return table


def _numeric(table: pd.DataFrame, column: str, path: Path) -> pd.Series:
    raw = table[column]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64")
    values = pd.to_numeric(raw, errors="coerce")
    unread = values.isna() & raw.notna()
    if not unread.any():  # the usual case: skip the string work of telling blanks from garbage
        return values.astype("float64")
    bad = unread & (raw.astype("string").str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise SessionFileError(
            f"{path}: column {column} holds {raw.iloc[row]!r} on line {row + 2}, not a number; fix the file."
        )
    return values.astype("float64")


def _timestamps(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """EXIF `YYYY:MM:DD HH:MM:SS[.fff][±hh:mm]` to naive UTC; also says which values are known to be
    UTC (an offset, or plancha's form)."""
    stripped = raw.astype("string").str.strip()
    text = stripped.str.replace(_EXIF_DATE, r"\1-\2-\3", regex=True)
    aware = (text.str.contains(_TZ_SUFFIX, regex=True) | stripped.str.contains(_PLANCHA_UTC, regex=True))
    aware = aware.fillna(False).astype(bool)
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    parsed = parsed.where(parsed.dt.year >= 1980)  # unset camera clocks read 1970
    return parsed.dt.tz_localize(None).astype("datetime64[us]"), aware


def best_datetimes(table: pd.DataFrame) -> tuple[pd.Series, int]:
    """Per row: SubSecDateTimeOriginal with an offset, else GPSDateTime (UTC by EXIF definition),
    else a naive SubSecDateTimeOriginal / DateTimeOriginal read as UTC. Returns the values and how
    many rows fell back to a naive time."""
    result = pd.Series(pd.NaT, index=table.index, dtype="datetime64[us]")
    naive_used = pd.Series(False, index=table.index)
    parsed: dict[str, tuple[pd.Series, pd.Series]] = {}  # each column parsed once, and only if needed

    def times(column: str) -> tuple[pd.Series, pd.Series]:
        if column not in parsed:
            parsed[column] = _timestamps(table[column])
        return parsed[column]

    if "SubSecDateTimeOriginal" in table:
        subsec, aware = times("SubSecDateTimeOriginal")
        result = result.fillna(subsec.where(aware))
    if "GPSDateTime" in table and result.isna().any():
        result = result.fillna(times("GPSDateTime")[0])
    for column in ("SubSecDateTimeOriginal", "DateTimeOriginal"):
        if column in table and result.isna().any():
            fallback = times(column)[0]
            naive_used |= result.isna() & fallback.notna()
            result = result.fillna(fallback)
    return result.astype("datetime64[us]"), int(naive_used.sum())


def prefixed(names: pd.Series, session_name: str) -> pd.Series:
    """Frame file names carry the session name so they are unique across the Atlas."""
    names = names.astype("string").str.strip()
    return names.where(names.str.startswith(session_name), session_name + "_" + names)


def _useful_names(session_dir: Path, session_name: str, warnings: list[str]) -> set[str]:
    """The useful frames as `sessions` selects them for upload, so uploaded and registered frames agree."""
    try:
        names = useful_frame_names(session_dir)
    except (SessionError, OSError, UnicodeDecodeError) as exc:
        raise SessionFileError(f"{one_line(exc)}; fix or re-download the session's METADATA/IA archives.") from exc
    if names is None:
        warnings.append(
            "No predictions_gps.csv nor usefulness CSV: no frame is useful, none registered (register all frames "
            "to keep them)."
        )
        return set()
    return set(prefixed(pd.Series(sorted(names), dtype="string"), session_name))


def read_frames(session_dir: Path, session_name: str, warnings: list[str]) -> pd.DataFrame:
    path = session_dir / "METADATA" / "metadata.csv"
    table = read_csv_checked(path, dtype=str, keep_default_na=False, na_values=[""])
    if table["FileName"].isna().any():
        row = int(np.flatnonzero(table["FileName"].isna().to_numpy())[0])
        raise SessionFileError(f"{path}: empty FileName on line {row + 2}; the file looks truncated or broken.")
    frames = pd.DataFrame(index=table.index)
    frames["file_name"] = prefixed(table["FileName"], session_name)
    frames["original_file_name"] = (
        table["OriginalFileName"].astype("string") if "OriginalFileName" in table else table["FileName"]
    ).astype("string")
    relative = relative_path_column(list(table.columns))
    frames["relative_file_path"] = table[relative].astype("string") if relative else pd.NA
    for target, column in _GPS_COLUMNS.items():
        frames[target] = _numeric(table, column, path) if column in table else np.nan
    if "GPSLatitude" not in table or "GPSLongitude" not in table:
        warnings.append(f"{path.name} has no GPSLatitude/GPSLongitude: frames have no position, no footprint.")
    frames["datetime_utc"], naive = best_datetimes(table)
    if naive:
        warnings.append(f"{naive} frame time(s) had no UTC offset and were read as UTC.")
    fix_column = next((c for c in ("GPSfix", "GPSFix") if c in table), None)
    fix = _numeric(table, fix_column, path) if fix_column else pd.Series(np.nan, index=table.index)
    frames["fix"] = fix.where(fix.between(0, 255)).round().astype("UInt8")
    lat, lon = frames["latitude"], frames["longitude"]
    frames["valid_gps"] = (
        np.isfinite(lat) & np.isfinite(lon) & ~((lat == 0) & (lon == 0)) & (lat.abs() <= 90) & (lon.abs() <= 180)
    )
    frames["ordinal"] = np.arange(len(frames), dtype="int64")
    duplicated = frames["file_name"].duplicated()
    if duplicated.any():
        warnings.append(f"{int(duplicated.sum())} duplicate FileName row(s) in metadata.csv; first kept.")
    frames["useful"] = ~duplicated
    return frames[FRAME_COLUMNS].reset_index(drop=True)


def read_scores(session_dir: Path, session_name: str) -> list[ScoreFile]:
    found = []
    for path in sorted(ia_folder(session_dir).glob("*_scores.csv")):
        table = read_csv_checked(path)
        names = table["FileName"]
        if names.isna().any():
            row = int(np.flatnonzero(names.isna().to_numpy())[0])
            raise SessionFileError(f"{path}: empty FileName on line {row + 2}; the file looks truncated.")
        columns = {"file_name": prefixed(names, session_name)}
        for column in table.columns.drop("FileName"):
            values = _numeric(table, column, path)
            if values.isna().any():
                row = int(np.flatnonzero(values.isna().to_numpy())[0])
                raise SessionFileError(
                    f"{path}: no score for {column} on line {row + 2}; the file looks truncated or broken."
                )
            columns[column] = values
        found.append(ScoreFile(path, pd.DataFrame(columns)))  # one frame at the end: no insert per column
    return found


def read_session(session_dir: Path, session_name: str, *, all_frames: bool = False) -> SessionFiles:
    """Everything registration needs from one session folder, validated."""
    if not (session_dir / "METADATA").is_dir():
        raise SessionFileError(
            f"{session_dir} has no METADATA folder; pass the session folder (or the extracted "
            "METADATA.zip and PROCESSED_DATA_IA.zip)."
        )
    warnings: list[str] = []
    frames = read_frames(session_dir, session_name, warnings)
    if not all_frames:
        frames["useful"] &= frames["file_name"].isin(_useful_names(session_dir, session_name, warnings))
    return SessionFiles(frames=frames, scores=read_scores(session_dir, session_name), warnings=warnings)
