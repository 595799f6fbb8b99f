"""Typed shapes of what Zenodo sends and accepts (legacy deposit API and Zenodo-JSON records).

Inputs are strict about what we send; outputs tolerate unknown keys, because Zenodo adds fields
without notice and a client that breaks on a new key is worse than one that ignores it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

UploadType = Literal[
    "publication", "poster", "presentation", "dataset", "image", "video",
    "software", "lesson", "physicalobject", "other",
]
AccessRight = Literal["open", "embargoed", "restricted", "closed"]
HIDDEN_FILES_ACCESS: frozenset[str] = frozenset({"embargoed", "restricted", "closed"})
"""Access rights under which Zenodo lists no files to anyone but the owner."""


def hides_files(access_right: object) -> bool:
    """Whether a record or draft with this `access_right` hides its files from other clients."""
    return access_right in HIDDEN_FILES_ACCESS


def parse_timestamp(stamp: str | None) -> datetime | None:
    """A Zenodo timestamp as an aware datetime: naive ones are UTC, unreadable or missing ones None."""
    try:
        parsed = datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed


def _string_links(value: object) -> object:
    """Keep the URL-valued links; drop the others (zenodo.org sends `links.thumbnails` as an object
    of size -> URL on records holding images or PDFs, zenodo/zenodo#2591), which nothing here reads."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if isinstance(v, str)}
    return value


Links = Annotated[dict[str, str], BeforeValidator(_string_links)]


class _Out(BaseModel):
    """A response shape: extra keys are kept, not rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _In(BaseModel):
    """A request shape: a typo in a field name is an error, not a silently dropped value."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Creator(_In):
    name: str = Field(description='"Family, Given"')
    affiliation: str | None = None
    orcid: str | None = None
    gnd: str | None = None


class Contributor(Creator):
    type: str = Field(description="DataCollector, ContactPerson, DataManager, ProjectMember, ...")


class RelatedIdentifier(_In):
    identifier: str
    relation: str
    resource_type: str | None = None
    scheme: str | None = None


class Community(_In):
    identifier: str


class Location(_In):
    lat: float | None = None
    lon: float | None = None
    place: str
    description: str | None = None


class DateInterval(_In):
    start: date | None = None
    end: date | None = None
    type: Literal["Collected", "Valid", "Withdrawn"]
    description: str | None = None


class Subject(_In):
    term: str
    identifier: str
    scheme: str | None = None


class DepositMetadata(_In):
    """The legacy deposit `metadata` object (see Zenodo's §1.9): what a PUT replaces wholesale."""

    upload_type: UploadType = "dataset"
    title: str
    creators: list[Creator]
    description: str
    access_right: AccessRight = "open"
    license: str | None = None
    publication_date: date | None = None
    embargo_date: date | None = None
    access_conditions: str | None = None
    doi: str | None = None
    prereserve_doi: bool | None = None
    keywords: list[str] | None = None
    notes: str | None = None
    related_identifiers: list[RelatedIdentifier] | None = None
    contributors: list[Contributor] | None = None
    references: list[str] | None = None
    communities: list[Community] | None = None
    grants: list[dict[str, str]] | None = None
    subjects: list[Subject] | None = None
    version: str | None = None
    language: str | None = None
    locations: list[Location] | None = None
    dates: list[DateInterval] | None = None
    method: str | None = None
    custom: dict[str, list[str] | list[float] | str] | None = None

    def to_api(self) -> dict:
        """The JSON body Zenodo expects under `metadata` (no nulls, ISO dates)."""
        return self.model_dump(mode="json", exclude_none=True)


class DepositionFile(_Out):
    """A legacy deposition file: bare-hex md5 in `checksum`."""

    id: str
    filename: str
    filesize: int
    checksum: str
    links: Links = {}

    @property
    def md5(self) -> str:
        return self.checksum.removeprefix("md5:")


class Deposition(_Out):
    id: int
    record_id: int | None = None
    conceptrecid: str | None = None
    conceptdoi: str | None = None
    doi: str | None = None
    doi_url: str | None = None
    created: str | None = None
    modified: str | None = None
    owner: int | None = None
    title: str = ""
    state: Literal["unsubmitted", "inprogress", "done"] = "unsubmitted"
    submitted: bool = False
    metadata: dict = {}
    files: list[DepositionFile] = []
    links: Links = {}

    @property
    def is_draft(self) -> bool:
        """An open draft: never published, or published and being edited."""
        return self.state != "done"

    @property
    def bucket_url(self) -> str | None:
        return self.links.get("bucket")

    @property
    def version_label(self) -> str | None:
        return self.metadata.get("version")


class BucketObject(_Out):
    """Answer to `PUT {bucket}/{key}`: `checksum` is `md5:<hex>`."""

    key: str
    size: int
    checksum: str
    mimetype: str | None = None
    version_id: str | None = None
    links: Links = {}

    @property
    def md5(self) -> str:
        return self.checksum.removeprefix("md5:")


class RecordFile(_Out):
    """A published record's file (Zenodo-JSON): `key`/`size`, `checksum` is `md5:<hex>`."""

    id: str | None = None
    key: str
    size: int
    checksum: str
    links: Links = {}

    @property
    def md5(self) -> str:
        return self.checksum.removeprefix("md5:")


class Record(_Out):
    """A published record in Zenodo-JSON (`GET /api/records/:id`)."""

    id: int
    recid: str | None = None
    conceptrecid: str
    doi: str | None = None
    conceptdoi: str | None = None
    doi_url: str | None = None
    created: str | None = None
    updated: str | None = None
    modified: str | None = None
    title: str = ""
    status: str | None = None
    metadata: dict = {}
    files: list[RecordFile] = []
    links: Links = {}

    @field_validator("conceptrecid", mode="before")
    @classmethod
    def _conceptrecid_as_str(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @property
    def version_label(self) -> str | None:
        return self.metadata.get("version")

    @property
    def hides_files(self) -> bool:
        """Restricted, closed or embargoed: its file list is hidden from this client."""
        return hides_files(self.metadata.get("access_right"))

    @property
    def updated_at(self) -> datetime | None:
        """When the record last changed (updated, else modified, else created), timezone-aware."""
        return parse_timestamp(self.updated or self.modified or self.created)

    @property
    def alternate_identifiers(self) -> list[str]:
        """Every `urn:`-style identifier the record declares, from either place Zenodo keeps them."""
        found = [a.get("identifier", "") for a in self.metadata.get("alternate_identifiers", [])]
        found += [
            r.get("identifier", "")
            for r in self.metadata.get("related_identifiers", [])
            if r.get("relation") in ("isAlternateIdentifier", "isIdenticalTo")
        ]
        return [i for i in found if i]

    def file(self, key: str) -> RecordFile | None:
        return next((f for f in self.files if f.key == key), None)


class SearchHits(_Out):
    hits: list[dict[str, Any]]
    total: int = Field(ge=0)


class SearchPage(_Out):
    """One page of a records search: `{"hits": {"hits": [...], "total": N}, "links": {"next"?: ...}}`.

    Both keys are required: an empty or half answer must never read as "no records".
    """

    hits: SearchHits
    links: dict[str, Any] = Field(default_factory=dict)


class UploadResult(BaseModel):
    """What `ZenodoClient.upload` sent (`md5` computed while streaming) and what Zenodo stored."""

    key: str
    size: int
    md5: str
    server: BucketObject
