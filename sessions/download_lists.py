"""The CSV lists users hand to the download commands: sessions or DOIs, or individual frames."""

from __future__ import annotations

import csv
from collections import defaultdict

from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.extract import locate_frame
from zenodo_atlas.sessions.zenodo_record import strip_urn

DOI_URL = "https://doi.org/"


class DownloadListError(SessionError):
    """A download list (CSV) without the columns or values it needs."""


def strip_doi_url(doi: str) -> str:
    """`https://doi.org/10.5281/zenodo.1` -> `10.5281/zenodo.1` (lists hold either form)."""
    return doi.removeprefix(DOI_URL)


def requests_from_csv(csv_file: str) -> list[dict[str, str]]:
    """Rows of `session_name` and/or `doi`; `urn:` and DOI URL prefixes are stripped."""
    with open(csv_file, newline="") as handle:
        rows = list(csv.DictReader(handle))
    requests = []
    for row in rows:
        if row.get("doi"):
            requests.append({"doi": strip_doi_url(row["doi"].strip())})
        elif row.get("session_name"):
            requests.append({"name": strip_urn(row["session_name"].strip())})
    if not requests:
        raise DownloadListError(f"{csv_file} has no `session_name` or `doi` values; add a column of either")
    return requests


def frames_from_csv(csv_file: str) -> dict[str, dict[str, set[str]]]:
    """version DOI -> archive -> members, for the frames a CSV of `version_doi,relative_file_path` lists."""
    wanted: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with open(csv_file, newline="") as handle:
        for row in csv.DictReader(handle):
            if not row.get("version_doi") or not row.get("relative_file_path"):
                raise DownloadListError(f"{csv_file} needs `version_doi` and `relative_file_path` columns on every row")
            archive, member = locate_frame(row["relative_file_path"])
            wanted[strip_doi_url(row["version_doi"])][archive].add(member)
    return wanted
