"""Realistic mode: the zenodo.org behaviours that are timing- or load-dependent, behind one switch.

Off by default so unit tests stay fast and deterministic; on for the e2e suite and for users'
dry runs (`zenodo-atlas zenodo serve --realistic`). Each knob names where zenodo.org shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

# Routes that go through the search index (and its own rate budget on zenodo.org).
SEARCH_KINDS = frozenset({"records_search", "record_versions", "community_records", "deposit_list", "user_records"})


@dataclass(frozen=True)
class Realism:
    """What realistic mode simulates.

    index_lag: seconds a write takes to show in search (InvenioRDM indexes without refresh:
        invenio-drafts-resources services/records/service.py; zenodo-rdm legacy services.py).
    guest_per_minute / token_per_minute: request budgets (developers.zenodo.org rate limits).
    search_per_minute: extra budget of search endpoints (blog.zenodo.org 2025-11-25; invenio.cfg
        "30 per minute"), per caller, on top of the request budget.
    guest_page_size / token_page_size / max_results: a larger `size` or `page*size` is a 400
        (same blog post; galaxyproject/galaxy#19121).
    timeout_after_commit_rate: share of create / newversion / publish / file PUT requests that are
        applied and then answered by an nginx 504 (zenodo/zenodo#2131, #2442).
    thumbnails: `links.thumbnails` as an object on records holding images or PDFs (zenodo/zenodo#2591).
    seed: seeds the 504 draws.
    """

    index_lag: float = 2.0
    guest_per_minute: int = 60
    token_per_minute: int = 100
    search_per_minute: int = 30
    guest_page_size: int = 25
    token_page_size: int = 100
    max_results: int = 10_000
    timeout_after_commit_rate: float = 0.2
    thumbnails: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.index_lag < 0:
            raise ValueError(f"Realism.index_lag must be 0 or more seconds, got {self.index_lag}.")
        if not 0.0 <= self.timeout_after_commit_rate <= 1.0:
            raise ValueError(f"Realism.timeout_after_commit_rate must be between 0 and 1, "
                             f"got {self.timeout_after_commit_rate}.")
        for name in ("guest_per_minute", "token_per_minute", "search_per_minute", "guest_page_size",
                     "token_page_size", "max_results"):
            if getattr(self, name) < 1:
                raise ValueError(f"Realism.{name} must be at least 1.")


THUMBNAIL_SIZES = (10, 50, 100, 250, 750, 1200)
THUMBNAIL_TYPES = ("image/", "application/pdf")


def thumbnails(record_api: str, keys_and_types: list[tuple[str, str]]) -> dict[str, str] | None:
    """zenodo.org's `links.thumbnails` (size -> IIIF URL) for the first image or PDF, else None."""
    for key, mimetype in keys_and_types:
        if mimetype.startswith(THUMBNAIL_TYPES):
            iiif = record_api.replace("/api/records/", "/api/iiif/record:") + f":{key}"
            return {str(n): f"{iiif}/full/^{n},/0/default.jpg" for n in THUMBNAIL_SIZES}
    return None
