"""The CSV lists users hand to the download commands: sessions or DOIs, or individual frames."""

from __future__ import annotations

from collections import defaultdict

from zenodo_atlas.sessions.extract import locate_frame
from zenodo_atlas.sessions.listing import ListingError, read_listing
from zenodo_atlas.sessions.zenodo_record import strip_urn

DOI_URL = "https://doi.org/"


class DownloadListError(ListingError):
    """A download list (CSV) without the columns or values it needs."""


def strip_doi_url(doi: str) -> str:
    """`https://doi.org/10.5281/zenodo.1` -> `10.5281/zenodo.1` (lists hold either form)."""
    return doi.removeprefix(DOI_URL)


def requests_from_csv(csv_file: str) -> list[dict[str, str]]:
    """Rows of `session_name` and/or `doi`; `urn:` and DOI URL prefixes are stripped."""
    rows = read_listing(csv_file, any_of=("session_name", "doi"), flag="--csv", error=DownloadListError)
    requests = []
    for row in rows:
        if row.get("doi"):
            requests.append({"doi": strip_doi_url(row["doi"])})
        elif row.get("session_name"):
            requests.append({"name": strip_urn(row["session_name"])})
    return requests


FRAMES_COLUMNS = ("version_doi", "relative_file_path")


def frames_from_csv(csv_file: str) -> dict[str, dict[str, set[str]]]:
    """version DOI -> archive -> members, for the frames a CSV of `version_doi,relative_file_path` lists."""
    wanted: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    rows = read_listing(csv_file, any_of=(), all_of=FRAMES_COLUMNS, flag="--frames", error=DownloadListError)
    for line, row in enumerate(rows, start=2):
        if not row.get("version_doi") or not row.get("relative_file_path"):
            raise DownloadListError(f"--frames {csv_file} line {line}: needs both version_doi and relative_file_path")
        archive, member = locate_frame(row["relative_file_path"])
        wanted[strip_doi_url(row["version_doi"])][archive].add(member)
    return wanted
