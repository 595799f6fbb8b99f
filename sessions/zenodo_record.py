"""A session on Zenodo: how a session is identified, labelled and selected among a record's versions.

Every layer that talks about a session's Zenodo records (upload, download, register, auto-update,
the Atlas) reads these rules from here, so they cannot drift apart. Generic record facts (hidden
files, timestamps) live on `zenodo.models.Record`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from zenodo_atlas.zenodo.models import Record, RecordFile

URN_PREFIX = "urn:"
RAW_LABEL = "RAW_DATA"
PROCESSED_LABEL = "PROCESSED_DATA"
DEPRECATED_LABEL = "DEPRECATED"
"""The predecessor relabels superseded versions so (restricted, metadata_deprecated.json)."""
CUSTOM_LABEL = "CUSTOM"
"""The label of a custom version whose template names none."""
SESSION_LABELS = (RAW_LABEL, PROCESSED_LABEL)


def session_urn(session_name: str) -> str:
    """The alternate identifier that finds a session's Zenodo concept: `urn:<session name>`."""
    return f"{URN_PREFIX}{session_name}"


def strip_urn(identifier: str) -> str:
    """`urn:<name>` -> `<name>`; a bare name is returned as is (users paste either)."""
    return identifier.removeprefix(URN_PREFIX)


def names_a_record(item: str) -> bool:
    """Whether what a user typed is a DOI (`10.5281/zenodo.N`) or a record id rather than a session name."""
    return "/" in item or item.isdigit()


def session_name_in(identifier: str) -> str | None:
    """The session an identifier names: `urn:` followed by a name whose first token is 8 characters (a date)."""
    name = strip_urn(identifier)
    if identifier.startswith(URN_PREFIX) and len(name.split("_", 1)[0]) == 8:
        return name
    return None


def session_name_of(record: Record) -> str | None:
    """The session a record belongs to, from its alternate identifiers; None for a non-session record."""
    return next((n for n in map(session_name_in, record.alternate_identifiers) if n), None)


def folder_name_of(record: Record) -> str:
    """Where a downloaded record goes: its session's name, else `record_<id>` for a non-session record."""
    return session_name_of(record) or f"record_{record.id}"


def is_concept_doi(doi: str, record: Record) -> bool:
    """Whether `doi` (which resolved to `record`) names the whole concept rather than one version."""
    return doi.rstrip("/").rsplit(".", 1)[-1] == record.conceptrecid


def declares_urn(metadata: Mapping, urn: str) -> bool:
    """Whether deposit metadata declares `urn` among its related identifiers (drafts carry it from the start)."""
    identifiers = metadata.get("related_identifiers") or []
    return any(i.get("identifier") == urn for i in identifiers)


def normalise_label(label: str | None) -> str:
    """A version label as compared everywhere: `RAW DATA` and `RAW_DATA` are the same version kind."""
    return (label or "").replace(" ", "_")


def label_of(record: Record) -> str:
    return normalise_label(record.version_label)


def version_kinds(labels: Iterable[str | None]) -> tuple[bool, bool]:
    """Whether any label names raw data and whether any names processed data (case-insensitive)."""
    upper = [normalise_label(label).upper() for label in labels]
    return any(RAW_LABEL in u for u in upper), any(PROCESSED_LABEL in u for u in upper)


def is_session_version(record: Record) -> bool:
    """A RAW_DATA or PROCESSED_DATA version: what the Atlas registers (custom versions are not)."""
    return label_of(record) in SESSION_LABELS


def select_versions(versions: list[Record], *, raw: bool, processed: bool) -> list[Record]:
    """Every RAW_DATA part, and the latest PROCESSED_DATA version (oldest first)."""
    chosen = [v for v in versions if raw and label_of(v) == RAW_LABEL]
    processed_versions = [v for v in versions if label_of(v) == PROCESSED_LABEL]
    if processed and processed_versions:
        chosen.append(processed_versions[-1])
    return sorted(chosen, key=lambda r: r.id)


def is_deprecated(record: Record) -> bool:
    return DEPRECATED_LABEL in label_of(record).upper()


def deprecated_note(versions: list[Record], *, processed: bool) -> str | None:
    """Why no processed version is selected when the predecessor relabelled them DEPRECATED."""
    if not processed or any(label_of(v) == PROCESSED_LABEL for v in versions):
        return None
    old = [v.id for v in versions if is_deprecated(v)]
    if not old:
        return None
    return (f"no {PROCESSED_LABEL} version: version(s) {', '.join(map(str, old))} are {DEPRECATED_LABEL} "
            "(superseded by the predecessor); download one by its version DOI if you need it")


def raw_parts_published(labels: list[str]) -> int:
    """How many RAW_DATA parts are already published: part N is skipped on a re-run when N <= this."""
    return labels.count(RAW_LABEL)


def stacks_processed(label: str, published_labels: list[str]) -> bool:
    """Publishing `label` would add a second PROCESSED_DATA version, which needs explicit consent."""
    return label == PROCESSED_LABEL and PROCESSED_LABEL in published_labels


def files_to_fetch(versions: list[Record]) -> list[tuple[Record, RecordFile]]:
    """Each distinct file once, oldest version first.

    Processed versions carry raw files over (same key, same md5: fetched once), but may also hold a
    different file under a raw key (a UAV's useful frames in `DCIM.zip`): both are fetched.
    """
    seen: set[tuple[str, str]] = set()
    chosen: list[tuple[Record, RecordFile]] = []
    for record in sorted(versions, key=lambda r: r.id):
        for f in record.files:
            if (f.key, f.md5) not in seen:
                seen.add((f.key, f.md5))
                chosen.append((record, f))
    return chosen


def versions_by_concept(records: Iterable[Record]) -> dict[str, list[Record]]:
    """The versions seen of each concept, oldest first, each version once (a search may repeat one)."""
    found: dict[str, dict[int, Record]] = {}
    for record in records:
        found.setdefault(record.conceptrecid, {})[record.id] = record
    return {concept: sorted(versions.values(), key=lambda r: r.id) for concept, versions in found.items()}


def new_session_versions(versions: Iterable[Record], known_ids: set[int]) -> list[Record]:
    """The RAW_DATA/PROCESSED_DATA versions the Atlas does not hold yet."""
    return [v for v in versions if v.id not in known_ids and is_session_version(v)]
