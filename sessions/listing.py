"""Reading the CSV lists commands take (`upload --csv`; `download --csv/--frames` via download_lists).

Read before any flow starts, so a wrong column or delimiter fails in a second with a message that
names the file, the columns expected and found, and the `;` delimiter spreadsheets often write.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.layout import expand_session_paths


class ListingError(SessionError):
    """A CSV list that cannot be used as given."""


def read_listing(
    path: Path | str, *, any_of: Sequence[str], all_of: Sequence[str] = (), flag: str,
    error: type[ListingError] = ListingError,
) -> list[dict]:
    """Rows of a comma-separated CSV that has every column of `all_of` and at least one of `any_of`."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = [c.strip() for c in reader.fieldnames or []]
    except FileNotFoundError:
        raise error(f"{flag} {path}: no such file; give the path of a CSV file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise error(f"{flag} {path}: cannot be read as a UTF-8 CSV ({exc}); save it as UTF-8 CSV") from None
    expected = " and ".join([*all_of, " or ".join(any_of)] if any_of else all_of)
    missing = [c for c in all_of if c not in columns] or ([] if any(c in columns for c in any_of) else list(any_of))
    if missing:
        hint = ""
        if len(columns) == 1 and ";" in columns[0]:
            hint = "; it looks `;`-separated: save it with `,` as the delimiter"
        found = ", ".join(columns) or "no header line"
        raise error(f"{flag} {path}: needs column(s) {expected}, found {found}{hint}")
    rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in rows]
    rows = [row for row in rows if any(row.values())]
    if not rows:
        raise error(f"{flag} {path}: has a header but no rows; add one line per item")
    return rows


def sessions_from(paths: list[str], csv_file: str | None) -> list[str]:
    """Expand folders of sessions and `root_folder,session_name` CSV rows into session paths."""
    found = [str(p) for p in expand_session_paths(paths)]
    if csv_file:
        rows = read_listing(csv_file, any_of=(), all_of=("root_folder", "session_name"), flag="--csv")
        found += [str(Path(row["root_folder"]) / row["session_name"]) for row in rows]
    if not found:
        raise ListingError("no session given: pass session folders, folders of sessions or a CSV")
    return found
