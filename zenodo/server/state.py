"""The local Zenodo's persistent store: records with their draft and published sides, files, blobs.

Everything except file bytes lives in one JSON document rewritten atomically after each change;
bytes live in `blobs/`, one file per upload, shared by the drafts and versions that carry them.
Mutations take one asyncio lock; uploads stream to `tmp/` outside it and are committed inside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from zenodo_atlas.zenodo.server import metadata as md
from zenodo_atlas.zenodo.server.responses import ApiError, FieldErrors

State = Literal["unsubmitted", "inprogress", "done"]
QUOTA_MESSAGE = "Bucket quota exceeded."


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class StoredFile(BaseModel):
    id: str
    key: str
    size: int
    md5: str
    mimetype: str
    blob: str
    version_id: str
    created: str
    updated: str


class Draft(BaseModel):
    metadata: dict
    files: list[StoredFile] = []
    bucket_id: str
    created: str
    modified: str
    edited: bool = False


class Published(BaseModel):
    metadata: dict
    files: list[StoredFile]
    bucket_id: str
    created: str
    updated: str
    revision: int = 1


class StoredRecord(BaseModel):
    id: int
    conceptrecid: int
    owner: int
    created: str
    draft: Draft | None = None
    published: Published | None = None

    @property
    def state(self) -> State:
        if self.published is None:
            return "unsubmitted"
        return "inprogress" if self.draft is not None else "done"

    @property
    def modified(self) -> str:
        stamps = [s.modified for s in (self.draft,) if s] + [p.updated for p in (self.published,) if p]
        return max(stamps, default=self.created)

    @property
    def current_metadata(self) -> dict:
        """What the legacy deposit API shows: the open draft if any, else the published record."""
        side = self.draft or self.published
        return side.metadata if side else {}

    @property
    def current_files(self) -> list[StoredFile]:
        side = self.draft or self.published
        return side.files if side else []


class InclusionRequest(BaseModel):
    """A record's request to join a community it names but its owner does not curate."""

    id: str
    community: str
    conceptrecid: int
    record_id: int
    created: str
    status: Literal["submitted", "accepted", "declined"] = "submitted"


class _Document(BaseModel):
    next_id: int = 100
    records: dict[int, StoredRecord] = {}
    # community -> its owner (curator); a community is made, owned by the uploader, when first named.
    communities: dict[str, int] = {}
    # concept -> the communities it was accepted into (RDM keeps communities on the parent record).
    included: dict[int, list[str]] = {}
    requests: dict[str, InclusionRequest] = {}


class Quota(BaseModel):
    max_record_bytes: int
    max_record_files: int


class Store:
    """Records by id plus the operations of the deposit API; raises `ApiError` for refusals."""

    def __init__(self, data_dir: Path, quota: Quota, index_lag: float = 0.0):
        self.data_dir = data_dir
        self.quota = quota
        self.index_lag = index_lag
        self.blob_dir = data_dir / "blobs"
        self.tmp_dir = data_dir / "tmp"
        self._file = data_dir / "state.json"
        self._doc = _Document()
        self._lock = asyncio.Lock()
        # What search sees when it lags: (monotonic time written, state JSON, parsed on first use).
        self._snapshots: list[tuple[float, str, _Document | None]] = []

    # -- persistence ------------------------------------------------------------------------

    def load(self) -> None:
        """Read the saved document (if any) and drop half-finished uploads from a previous run."""
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        if self._file.exists():
            self._doc = _Document.model_validate_json(self._file.read_bytes())
        self._snapshots = [(-math.inf, self._doc.model_dump_json(), None)]

    def _write(self, payload: str) -> None:
        part = self._file.with_suffix(".json.part")
        with open(part, "w", encoding="utf-8") as handle:
            handle.write(payload)
        os.replace(part, self._file)

    def new_tmp_path(self) -> Path:
        return self.tmp_dir / f"{uuid.uuid4().hex}.part"

    def blob_path(self, blob: str) -> Path:
        return self.blob_dir / blob

    # -- reads (no lock: the event loop never interleaves inside them) ------------------------

    def records(self) -> list[StoredRecord]:
        return list(self._doc.records.values())

    def indexed_records(self) -> list[StoredRecord]:
        """Records as the search index has them: the state of `index_lag` seconds ago (copies)."""
        if not self.index_lag:
            return self.records()
        self._forget_hidden()
        stamp, payload, doc = self._snapshots[0]
        if doc is None:
            doc = _Document.model_validate_json(payload)
            self._snapshots[0] = (stamp, payload, doc)
        return list(doc.records.values())

    def _forget_hidden(self) -> None:
        """Drop snapshots older than the one search shows now (the first stays: it is that one)."""
        cutoff = time.monotonic() - self.index_lag
        visible = max(i for i, (stamp, _, _) in enumerate(self._snapshots) if stamp <= cutoff)
        del self._snapshots[:visible]

    def indexed_versions(self, conceptrecid: int) -> list[StoredRecord]:
        return _versions(self.indexed_records(), conceptrecid)

    def get(self, record_id: int) -> StoredRecord | None:
        return self._doc.records.get(record_id)

    def owned(self, user: int, record_id: int) -> StoredRecord:
        record = self._doc.records.get(record_id)
        if record is None:
            raise ApiError(404, "The persistent identifier does not exist.")
        if record.owner != user:
            raise ApiError(403, "You don't have the permission to access the requested resource.")
        return record

    def versions(self, conceptrecid: int) -> list[StoredRecord]:
        """Published versions of a concept, oldest first (their version index order)."""
        return _versions(self._doc.records.values(), conceptrecid)

    def latest(self, conceptrecid: int) -> StoredRecord | None:
        versions = self.versions(conceptrecid)
        return versions[-1] if versions else None

    def is_concept(self, some_id: int) -> bool:
        return any(r.conceptrecid == some_id for r in self._doc.records.values())

    def open_new_version(self, conceptrecid: int) -> StoredRecord | None:
        """The concept's never-published draft, of which Zenodo allows one at a time."""
        return next(
            (r for r in self._doc.records.values() if r.conceptrecid == conceptrecid and r.published is None),
            None,
        )

    def by_bucket(self, bucket_id: str) -> tuple[StoredRecord, Draft | Published]:
        for record in self._doc.records.values():
            for side in (record.draft, record.published):
                if side is not None and side.bucket_id == bucket_id:
                    return record, side
        raise ApiError(404, "Bucket does not exist.")

    # -- deposit operations -------------------------------------------------------------------

    async def create(self, user: int, metadata: dict) -> StoredRecord:
        async with self._lock:
            concept = self._doc.next_id
            stamp = now_iso()
            if metadata:
                metadata = md.with_publication_date(metadata, date.today())
            record = StoredRecord(
                id=concept + 1, conceptrecid=concept, owner=user, created=stamp,
                draft=Draft(metadata=metadata or {"access_right": "open"}, bucket_id=_new_id(),
                            created=stamp, modified=stamp, edited=bool(metadata)),
            )
            self._doc.next_id = concept + 2
            self._doc.records[record.id] = record
            await self._commit()
            return record

    async def update(self, user: int, record_id: int, metadata: dict) -> StoredRecord:
        async with self._lock:
            record = self.owned(user, record_id)
            if record.draft is None:
                raise ApiError(403, "The deposition is published; use the edit action before changing it.")
            record.draft.metadata = md.with_publication_date(metadata, date.today())
            record.draft.modified = now_iso()
            record.draft.edited = True
            await self._commit()
            return record

    async def delete(self, user: int, record_id: int) -> None:
        async with self._lock:
            record = self.owned(user, record_id)
            if record.draft is None:
                raise ApiError(403, "A published deposition cannot be deleted.")
            self._drop_draft(record)
            await self._commit()

    async def discard(self, user: int, record_id: int) -> None:
        async with self._lock:
            record = self.owned(user, record_id)
            if record.draft is None:
                raise ApiError(404, "The deposition has no draft to discard.")
            self._drop_draft(record)
            await self._commit()

    async def publish(self, user: int, record_id: int) -> StoredRecord:
        async with self._lock:
            record = self.owned(user, record_id)
            draft = record.draft
            if draft is None:
                raise ApiError(404, "The deposition is already published.")
            problems = md.publish_problems(draft.metadata, len(draft.files))
            if problems:
                raise FieldErrors(problems)
            stamp = now_iso()
            metadata = md.with_publication_date(draft.metadata, date.today())
            self._ask_inclusion(record, metadata, stamp)
            if record.published is None:
                record.published = Published(metadata=metadata, files=draft.files, bucket_id=draft.bucket_id,
                                             created=stamp, updated=stamp)
            else:
                record.published.metadata = metadata
                record.published.updated = stamp
                record.published.revision += 1
            record.draft = None
            await self._commit()
            return record

    async def edit(self, user: int, record_id: int) -> StoredRecord:
        async with self._lock:
            record = self.owned(user, record_id)
            if record.published is not None and record.draft is None:
                stamp = now_iso()
                record.draft = Draft(metadata=dict(record.published.metadata),
                                     files=list(record.published.files), bucket_id=_new_id(),
                                     created=stamp, modified=stamp, edited=True)
                await self._commit()
            return record

    async def new_version(self, user: int, record_id: int, *, import_files: bool = True) -> StoredRecord:
        """Get-or-create the concept's new-version draft (one per concept).

        Legacy `newversion` then imports the latest files and refuses a draft that already has
        files; RDM `POST /records/:id/versions` (import_files=False) just returns the draft.
        """
        async with self._lock:
            record = self.owned(user, record_id)
            if record.published is None:
                raise ApiError(404, "The persistent identifier is not registered.")
            latest = self.latest(record.conceptrecid)
            assert latest is not None and latest.published is not None
            draft_record = self.open_new_version(record.conceptrecid)
            if import_files and draft_record is not None and draft_record.draft and draft_record.draft.files:
                raise FieldErrors({"files.enabled": ["Please remove all files first."]})
            stamp = now_iso()
            if draft_record is None:
                metadata = {k: v for k, v in latest.published.metadata.items()
                            if k not in ("publication_date", "version", "doi")}
                draft_record = StoredRecord(
                    id=self._doc.next_id, conceptrecid=record.conceptrecid, owner=record.owner,
                    created=stamp,
                    draft=Draft(metadata=metadata, bucket_id=_new_id(), created=stamp, modified=stamp,
                                edited=True),
                )
                self._doc.next_id += 1
                self._doc.records[draft_record.id] = draft_record
            elif not import_files:
                return draft_record
            assert draft_record.draft is not None
            if import_files:
                draft_record.draft.files = [f.model_copy() for f in latest.published.files]
            draft_record.draft.modified = stamp
            await self._commit()
            return draft_record

    async def import_files(self, user: int, record_id: int) -> StoredRecord:
        """RDM `draft/actions/files-import`: link the previous version's files into an empty draft."""
        async with self._lock:
            record = self.owned(user, record_id)
            if record.draft is None or record.published is not None:
                raise ApiError(404, "The draft does not exist.")
            if record.draft.files:
                raise FieldErrors({"files.enabled": ["Please remove all files first."]})
            latest = self.latest(record.conceptrecid)
            if latest is None or latest.published is None:
                raise ApiError(404, "There is no previous version to import files from.")
            record.draft.files = [f.model_copy() for f in latest.published.files]
            record.draft.modified = now_iso()
            await self._commit()
            return record

    # -- communities ----------------------------------------------------------------------------

    def included(self, conceptrecid: int) -> list[str]:
        """The communities whose curators accepted this concept (what listings and records show)."""
        return self._doc.included.get(conceptrecid, [])

    def requests_for(self, user: int) -> list[InclusionRequest]:
        """Open inclusion requests of the communities `user` curates, oldest first."""
        return [r for r in self._doc.requests.values()
                if r.status == "submitted" and self._doc.communities.get(r.community) == user]

    async def decide(self, user: int, request_id: str, accept: bool) -> InclusionRequest:
        async with self._lock:
            found = self._doc.requests.get(request_id)
            if found is None:
                raise ApiError(404, "The request does not exist.")
            if self._doc.communities.get(found.community) != user:
                raise ApiError(403, "You don't have the permission to access the requested resource.")
            if found.status != "submitted":
                raise ApiError(400, f"The request is already {found.status}.")
            found.status = "accepted" if accept else "declined"
            if accept:
                self._include(found.conceptrecid, found.community)
            await self._commit()
            return found

    def _ask_inclusion(self, record: StoredRecord, metadata: dict, stamp: str) -> None:
        """Publishing names communities: the owner's own (or new) ones include it at once; others get a
        request a curator must accept. Failures never stop the publish, as on zenodo.org (legacy publish
        swallows inclusion errors: zenodo-rdm site/zenodo_rdm/legacy/services.py)."""
        for entry in metadata.get("communities") or []:
            slug = entry.get("identifier") if isinstance(entry, dict) else None
            if not slug or slug in self.included(record.conceptrecid):
                continue
            owner = self._doc.communities.setdefault(slug, record.owner)
            if owner == record.owner:
                self._include(record.conceptrecid, slug)
            elif not any(r.conceptrecid == record.conceptrecid and r.community == slug and r.status == "submitted"
                         for r in self._doc.requests.values()):
                request = InclusionRequest(id=_new_id(), community=slug, conceptrecid=record.conceptrecid,
                                           record_id=record.id, created=stamp)
                self._doc.requests[request.id] = request

    def _include(self, conceptrecid: int, slug: str) -> None:
        self._doc.included.setdefault(conceptrecid, []).append(slug)

    # -- files ----------------------------------------------------------------------------------

    def writable_draft(self, user: int, record: StoredRecord, side: Draft | Published | None = None) -> Draft:
        """The draft whose files may change: never-published drafts only (published files are locked)."""
        if record.owner != user:
            raise ApiError(403, "You don't have the permission to access the requested resource.")
        target = side if side is not None else record.draft
        if not isinstance(target, Draft) or record.published is not None:
            raise ApiError(403, "Files of a published record cannot be changed; create a new version.")
        return target

    def room_for(self, draft: Draft, key: str) -> int:
        """Bytes a new upload under `key` may take before the record's quota is exceeded."""
        used = sum(f.size for f in draft.files if f.key != key)
        if key not in {f.key for f in draft.files} and len(draft.files) >= self.quota.max_record_files:
            raise ApiError(400, f"{QUOTA_MESSAGE} A record holds at most {self.quota.max_record_files} files.")
        return self.quota.max_record_bytes - used

    async def add_file(self, user: int, bucket_id: str, key: str, tmp: Path, size: int, md5: str,
                       mimetype: str) -> StoredFile:
        """Move a fully received upload into place, replacing any file with the same key."""
        async with self._lock:
            try:
                record, side = self.by_bucket(bucket_id)
                draft = self.writable_draft(user, record, side)
                if size > self.room_for(draft, key):
                    raise ApiError(400, QUOTA_MESSAGE)
            except ApiError:
                tmp.unlink(missing_ok=True)
                raise
            stamp = now_iso()
            stored = StoredFile(id=str(uuid.uuid4()), key=key, size=size, md5=md5, mimetype=mimetype,
                                blob=uuid.uuid4().hex, version_id=str(uuid.uuid4()), created=stamp,
                                updated=stamp)
            os.replace(tmp, self.blob_path(stored.blob))
            old = [f for f in draft.files if f.key == key]
            draft.files = [f for f in draft.files if f.key != key] + [stored]
            draft.modified = stamp
            await self._commit()
            self._release([f.blob for f in old])
            return stored

    async def remove_file(self, user: int, *, record_id: int | None = None, bucket_id: str | None = None,
                          file_id: str | None = None, key: str | None = None) -> None:
        """Delete one draft file, addressed by deposition + file id or by bucket + key."""
        async with self._lock:
            if bucket_id is not None:
                record, side = self.by_bucket(bucket_id)
            else:
                record, side = self.owned(user, record_id or 0), None
            draft = self.writable_draft(user, record, side)
            gone = [f for f in draft.files if f.id == file_id or f.key == key]
            if not gone:
                raise ApiError(404, "The file does not exist.")
            draft.files = [f for f in draft.files if f not in gone]
            draft.modified = now_iso()
            await self._commit()
            self._release([f.blob for f in gone])

    # -- internals ------------------------------------------------------------------------------

    def _drop_draft(self, record: StoredRecord) -> None:
        blobs = [f.blob for f in record.draft.files] if record.draft else []
        if record.published is None:
            del self._doc.records[record.id]
        else:
            record.draft = None
        self._release(blobs)

    def _release(self, blobs: list[str]) -> None:
        """Delete blobs no draft or version refers to any more."""
        in_use = {
            f.blob
            for r in self._doc.records.values()
            for side in (r.draft, r.published)
            if side is not None
            for f in side.files
        }
        for blob in set(blobs) - in_use:
            with contextlib.suppress(FileNotFoundError):
                self.blob_path(blob).unlink()

    async def _commit(self) -> None:
        payload = self._doc.model_dump_json()
        if self.index_lag:
            self._snapshots.append((time.monotonic(), payload, None))
            self._forget_hidden()
        await asyncio.to_thread(self._write, payload)


def _new_id() -> str:
    return str(uuid.uuid4())


def _versions(records, conceptrecid: int) -> list[StoredRecord]:
    found = [r for r in records if r.conceptrecid == conceptrecid and r.published]
    return sorted(found, key=lambda r: (r.published.created, r.id))

