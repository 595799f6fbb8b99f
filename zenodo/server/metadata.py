"""Legacy deposit metadata: what a PUT may carry, how it is echoed back, and what publish requires."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from zenodo_atlas.zenodo.server.responses import ApiError, FieldErrors

UPLOAD_TYPES = frozenset(
    {"publication", "poster", "presentation", "dataset", "image", "video", "software", "lesson",
     "physicalobject", "other"}
)
ACCESS_RIGHTS = frozenset({"open", "embargoed", "restricted", "closed"})
KNOWN_FIELDS = frozenset(
    {
        "upload_type", "publication_type", "image_type", "publication_date", "title", "creators",
        "description", "access_right", "license", "embargo_date", "access_conditions", "doi",
        "prereserve_doi", "keywords", "notes", "related_identifiers", "contributors", "references",
        "communities", "grants", "subjects", "version", "language", "locations", "dates", "method",
        "custom", "journal_title", "journal_volume", "journal_issue", "journal_pages",
        "conference_title", "conference_acronym", "conference_dates", "conference_place",
        "conference_url", "conference_session", "conference_session_part", "imprint_publisher",
        "imprint_isbn", "imprint_place", "partof_title", "partof_pages", "thesis_supervisors",
        "thesis_university",
    }
)
_LIST_FIELDS = ("creators", "keywords", "related_identifiers", "contributors", "references",
                "communities", "grants", "subjects", "locations", "dates")
_DATE_FIELDS = ("publication_date", "embargo_date")
_REQUIRED = ("upload_type", "title", "creators", "description", "access_right")
_MISSING = "Missing data for required field."
_SERVER_FIELDS = ("prereserve_doi", "imprint_publisher", "doi")


def parse_body(body: object, *, allow_empty: bool) -> dict:
    """The `metadata` object of a create/update body, validated and normalised for storage."""
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    unknown = sorted(set(body) - {"metadata"})
    if unknown:
        raise FieldErrors({key: ["Unknown field."] for key in unknown})
    metadata = body.get("metadata")
    if metadata is None:
        if allow_empty:
            return {}
        raise FieldErrors({"metadata": [_MISSING]})
    return normalise(metadata)


def normalise(metadata: object) -> dict:
    """Check types of the fields a client sets and store them the way Zenodo echoes them."""
    if not isinstance(metadata, dict):
        raise FieldErrors({"metadata": ["Not a valid mapping type."]})
    problems: dict[str, list[str]] = {}
    for key in sorted(set(metadata) - KNOWN_FIELDS):
        problems[f"metadata.{key}"] = ["Unknown field."]
    # Nulls count as absent: the legacy deserializer clears them (zenodo-rdm legacy/deserializers/
    # schemas.py, invenio_records' clear_none); the predecessor sends `communities: null`.
    out = {k: v for k, v in metadata.items() if k in KNOWN_FIELDS and k not in _SERVER_FIELDS and v is not None}
    if isinstance(metadata.get("doi"), str) and metadata["doi"]:
        out["doi"] = metadata["doi"]
    for key in _LIST_FIELDS:
        if key in out and out[key] is None:
            # `communities: null` (and any null list) means "none": the legacy deserializer's
            # fields are allow_none (zenodo-rdm legacy/deserializers/schemas.py).
            del out[key]
        elif key in out and not isinstance(out[key], list):
            problems[f"metadata.{key}"] = ["Not a valid list."]
    if "upload_type" in out and out["upload_type"] not in UPLOAD_TYPES:
        problems["metadata.upload_type"] = [f"Invalid upload type {out['upload_type']!r}."]
    if "access_right" in out and out["access_right"] not in ACCESS_RIGHTS:
        problems["metadata.access_right"] = [f"Invalid access right {out['access_right']!r}."]
    for key in _DATE_FIELDS:
        if key in out and not _is_iso_date(out[key]):
            problems[f"metadata.{key}"] = ["Not a valid date (expected YYYY-MM-DD)."]
    for key in ("title", "description", "version", "notes", "license"):
        if key in out and not isinstance(out[key], str):
            problems[f"metadata.{key}"] = ["Not a valid string."]
    if isinstance(out.get("creators"), list):
        out["creators"] = _people(out["creators"], "creators", problems)
    if isinstance(out.get("contributors"), list):
        out["contributors"] = _people(out["contributors"], "contributors", problems)
    if isinstance(out.get("related_identifiers"), list):
        out["related_identifiers"] = [_with_scheme(r) for r in out["related_identifiers"]]
    if problems:
        raise FieldErrors(problems)
    out.setdefault("access_right", "open")
    if out["access_right"] == "closed":
        # RDM has no "closed": the deserializer maps it to restricted files and the serializer's
        # dump_access_right knows only open/restricted/embargoed (zenodo-rdm legacy/deserializers/
        # schemas.py _access; legacy/serializers/schemas/common.py), so it reads back "restricted".
        out["access_right"] = "restricted"
    if isinstance(out.get("license"), str):
        out["license"] = out["license"].lower()
    return out


def with_publication_date(metadata: dict, today: date) -> dict:
    """A legacy PUT without a publication date gets today's, as Zenodo's deserializer does."""
    return metadata if "publication_date" in metadata else {**metadata, "publication_date": today.isoformat()}


def publish_problems(metadata: dict, file_count: int) -> dict[str, list[str]]:
    """Every reason a draft cannot be published yet, keyed by RDM field path."""
    problems: dict[str, list[str]] = {}
    for key in _REQUIRED:
        if metadata.get(key) in (None, "", []):
            problems[f"metadata.{key}"] = [_MISSING]
    if metadata.get("access_right") == "embargoed" and not metadata.get("embargo_date"):
        problems["metadata.embargo_date"] = ["An embargo date is required for embargoed records."]
    if file_count == 0:
        problems["files.enabled"] = [
            "Missing uploaded files. To disable files for this record please mark it as metadata-only."
        ]
    return problems


def identifier_scheme(identifier: str) -> str:
    """The scheme zenodo.org detects (idutils) and returns in `related_identifiers[].scheme`."""
    text = identifier.strip()
    lowered = text.lower()
    if re.match(r"^(doi:|https?://(dx\.)?doi\.org/)?10\.\d{4,9}/\S+$", lowered):
        return "doi"
    if lowered.startswith("urn:"):
        return "urn"
    if lowered.startswith("arxiv:") or re.match(r"^\d{4}\.\d{4,5}(v\d+)?$", lowered):
        return "arxiv"
    if re.match(r"^(hdl:|https?://hdl\.handle\.net/)\S+$", lowered):
        return "handle"
    if re.match(r"^https?://\S+$", lowered):
        return "url"
    return "other"


def _with_scheme(related: object) -> object:
    """Related identifiers come back with a `scheme` (zenodo-rdm legacy serializer, common.py)."""
    if isinstance(related, dict) and isinstance(related.get("identifier"), str) and not related.get("scheme"):
        return {**related, "scheme": identifier_scheme(related["identifier"])}
    return related


def secure_filename(name: str) -> str:
    """The key Zenodo derives from an uploaded file name: ASCII, no separators, no spaces."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    for sep in ("/", "\\"):
        ascii_name = ascii_name.replace(sep, " ")
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "", "_".join(ascii_name.split()))
    return cleaned.strip("._")


def _people(people: list, field: str, problems: dict[str, list[str]]) -> list:
    out = []
    for index, person in enumerate(people):
        if not isinstance(person, dict) or not isinstance(person.get("name"), str) or not person["name"]:
            problems[f"metadata.{field}.{index}.name"] = [_MISSING]
            continue
        out.append({"name": person["name"], "affiliation": person.get("affiliation"),
                    **{k: v for k, v in person.items() if k not in ("name", "affiliation")}})
    return out


def _is_iso_date(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10
