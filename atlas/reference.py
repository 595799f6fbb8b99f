"""The reference data packaged with the Atlas (labels, models, classes, renames, QML styles).

Kept free of DuckDB and pandas imports so commands that only consult it (`session check`) start fast.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path


def data_dir() -> Path:
    """The packaged reference data folder (atlas/data), as a real path DuckDB can read."""
    return Path(str(resources.files("zenodo_atlas.atlas") / "data"))


def reference_class_columns() -> set[str]:
    """Score column names the reference data maps to a class (class, label and old label names)."""
    names: set[str] = set()
    with (data_dir() / "classes.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names |= {row["class_name"], row["label_name"]}
    with (data_dir() / "label_renames.csv").open(newline="", encoding="utf-8") as handle:
        names |= {row["old_label"] for row in csv.DictReader(handle)}
    return names - {""}
