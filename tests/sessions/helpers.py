"""Reading back what a sample session holds, to check what was built from it."""

from __future__ import annotations

import csv
from pathlib import Path


def gps_columns(session: Path) -> tuple[list[float], list[float]]:
    """Latitudes and longitudes of every row of the session's METADATA/metadata.csv."""
    with (session / "METADATA" / "metadata.csv").open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    return [float(r["GPSLatitude"]) for r in rows], [float(r["GPSLongitude"]) for r in rows]
