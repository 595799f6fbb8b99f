"""Comparing a session rebuilt from Zenodo with its original folder."""

from __future__ import annotations

import filecmp
from pathlib import Path


def differences(original: Path, rebuilt: Path, *, expect_all_of: tuple[str, ...] = ()) -> list[str]:
    """Files of `rebuilt` that differ from the original, and files under `expect_all_of` that are missing."""
    problems = [
        f"differs: {p.relative_to(rebuilt)}"
        for p in sorted(rebuilt.rglob("*"))
        if p.is_file() and not filecmp.cmp(original / p.relative_to(rebuilt), p, shallow=False)
    ]
    for top in expect_all_of:
        problems += [
            f"missing: {p.relative_to(original)}"
            for p in sorted((original / top).rglob("*"))
            if p.is_file() and not (rebuilt / p.relative_to(original)).is_file()
        ]
    return problems
