"""`ZenodoClient`: the async Zenodo API as this project uses it (legacy deposit API + records API).

Actions that change state and are not idempotent (create, publish, edit, discard, newversion,
delete) are never blindly resent after a 5xx or a timeout: Zenodo often did the work before the
gateway gave up (zenodo#2131), so the client re-reads the deposition first and only resends when
the action visibly did not happen.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import re
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import SecretStr

from zenodo_atlas.zenodo.download import Sink, download, download_into
from zenodo_atlas.zenodo.errors import (
    ChecksumMismatchError,
    InvalidInputError,
    MissingTokenError,
    NotFoundError,
    RestrictedFilesError,
    ServerError,
)
from zenodo_atlas.zenodo.http import (
    DEFAULT_USER_AGENT,
    Backoff,
    Params,
    Response,
    Retry,
    Transport,
    is_retryable,
)
from zenodo_atlas.zenodo.models import (
    BucketObject,
    Deposition,
    DepositionFile,
    DepositMetadata,
    Record,
    SearchPage,
    UploadResult,
    hides_files,
)
from zenodo_atlas.zenodo.ratelimit import HostLimiter, shared_limiter
from zenodo_atlas.zenodo.streams import ByteSource, FileSource, HashingStream
from zenodo_atlas.zenodo.zipdir import (
    TAIL_BYTES,
    ZipEntry,
    directory_offset,
    entries_from_directory,
    infos_from_directory,
)

log = logging.getLogger("zenodo")
T = TypeVar("T")

DEFAULT_DEADLINE = 600.0
"""Seconds one API call may take, retries and backoff included (transfers are bounded by the stall)."""
DEFAULT_STALL = 120.0
"""Seconds without a byte (connecting, answering, or mid-transfer) before a connection counts as dead."""
_DOI_TAIL = re.compile(r"zenodo\.(\d+)$", re.IGNORECASE)
_RECORD_URL = re.compile(r"/(?:records?|deposit/depositions|uploads)/(\d+)(?:[/?#]|$)")
SEARCH_WINDOW = 10_000
Progress = Callable[[int], None]


def record_id_from(value: int | str) -> int:
    """A record id from an id, a numeric string, a Zenodo DOI (bare, doi:, https://doi.org/) or URL."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    text = str(value).strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    bare = re.sub(r"^(?:doi:|https?://(?:dx\.)?doi\.org/)", "", text, flags=re.IGNORECASE)
    for pattern in (_DOI_TAIL, _RECORD_URL):
        if match := pattern.search(bare):
            return int(match.group(1))
    raise InvalidInputError(
        f"Cannot read a Zenodo record id from {value!r}: give a record id (123), a Zenodo DOI "
        "(10.5281/zenodo.123 or https://doi.org/10.5281/zenodo.123) or a record URL."
    )


class ZenodoClient:
    """One aiohttp session to one Zenodo; use as `async with ZenodoClient(url, token) as zc:`.

    The token is only ever sent as `Authorization: Bearer` to `base_url`'s own origin. All clients
    of the same `base_url` in one event loop share one rate limiter (the lowest rate wins).
    """

    def __init__(
        self,
        base_url: str,
        token: SecretStr | str | None = None,
        *,
        rate_limit_per_minute: int = 100,
        max_retries: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        deadline: float | None = DEFAULT_DEADLINE,
        stall: float = DEFAULT_STALL,
        user_agent: str | None = None,
        search_lag: float = 5.0,
    ):
        if max_retries < 0:
            raise InvalidInputError(f"max_retries must be 0 or more, got {max_retries}.")
        if stall <= 0 or (deadline is not None and deadline <= 0):
            raise InvalidInputError(f"deadline and stall must be positive seconds, got {deadline!r} and {stall!r}.")
        if search_lag < 0:
            raise InvalidInputError(f"search_lag must be 0 or more seconds, got {search_lag}.")
        # How long zenodo.org's search may miss a write (InvenioRDM indexes without refresh): a
        # search that finds nothing is only trusted once this long has passed.
        self.search_lag = search_lag
        if isinstance(token, str):
            token = SecretStr(token) if token.strip() else None
        self.base_url = base_url.rstrip("/")
        self.rate_limit_per_minute = rate_limit_per_minute
        self._http = Transport(
            self.base_url,
            token,
            limiter_factory=lambda: shared_limiter(self.base_url, rate_limit_per_minute, guest=token is None),
            backoff=Backoff(max_retries=max_retries, base=backoff_base, cap=backoff_max),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=min(30.0, stall), sock_read=stall),
            deadline=deadline,
            user_agent=user_agent or DEFAULT_USER_AGENT,
        )

    def __repr__(self) -> str:
        auth = "token=***" if self._http.has_token else "anonymous"
        return f"ZenodoClient({self.base_url!r}, {auth})"

    async def __aenter__(self) -> ZenodoClient:
        await self._http.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.close()

    @property
    def authenticated(self) -> bool:
        return self._http.has_token

    @property
    def limiter(self) -> HostLimiter:
        """The request budget shared with every client of this base URL on this event loop."""
        return self._http.limiter

    def _require_token(self, action: str) -> None:
        if not self._http.has_token:
            raise MissingTokenError(
                f"{action} needs a Zenodo token: pass token=... to ZenodoClient (or set ZENODO_TOKEN)."
            )

    # -- depositions -------------------------------------------------------------------------

    async def list_depositions(
        self,
        q: str | None = None,
        status: str | None = None,
        sort: str | None = None,
        page: int | None = None,
        size: int | None = None,
        all_versions: bool = False,
    ) -> list[Deposition]:
        """One page of the user's depositions. Items carry no `links.bucket`: GET one to get it."""
        self._require_token("Listing depositions")
        if status not in (None, "draft", "published"):
            raise InvalidInputError(f"status must be 'draft' or 'published', got {status!r}.")
        params = _params(q=q, status=status, sort=sort, page=page, size=size)
        if all_versions:
            params["all_versions"] = "true"
        response = await self._http.request("GET", "deposit/depositions", params=params)
        return response.parse_list(Deposition)

    async def create_deposition(self, metadata: DepositMetadata | None = None) -> Deposition:
        """A new draft (a new concept).

        With metadata, a 5xx/timeout is settled by looking for a draft with the same title that
        did not exist before the POST; without it there is nothing to recognise, so it raises.
        """
        self._require_token("Creating a deposition")
        body = {"metadata": metadata.to_api()} if metadata is not None else {}
        known: set[int] | None = None
        if metadata is not None:
            known = {d.id for d in await self._recent_drafts()}

        async def settled() -> Deposition | None:
            assert known is not None and metadata is not None

            async def look() -> Deposition | None:
                fresh = [d for d in await self._recent_drafts() if d.id not in known and d.title == metadata.title]
                return await self.get_deposition(fresh[0].id) if len(fresh) == 1 else None

            return await self.until_indexed(look)

        outcome = await self._act("POST", "deposit/depositions", settled if metadata is not None else None, json=body)
        return outcome.parse(Deposition) if isinstance(outcome, Response) else outcome

    async def get_deposition(self, deposition_id: int) -> Deposition:
        self._require_token("Reading a deposition")
        response = await self._http.request("GET", f"deposit/depositions/{_id(deposition_id)}")
        return response.parse(Deposition)

    async def update_deposition(self, deposition_id: int, metadata: DepositMetadata) -> Deposition:
        """Full PUT: Zenodo replaces all metadata with what is sent (nothing is merged)."""
        self._require_token("Updating a deposition")
        response = await self._http.request(
            "PUT", f"deposit/depositions/{_id(deposition_id)}", json={"metadata": metadata.to_api()}
        )
        return response.parse(Deposition)

    async def delete_deposition(self, deposition_id: int) -> None:
        """Delete an unpublished draft (Zenodo refuses published records)."""
        self._require_token("Deleting a deposition")
        path = f"deposit/depositions/{_id(deposition_id)}"
        await self._act("DELETE", path, lambda: self._gone(deposition_id))

    async def list_files(self, deposition_id: int) -> list[DepositionFile]:
        self._require_token("Listing deposition files")
        response = await self._http.request("GET", f"deposit/depositions/{_id(deposition_id)}/files")
        return response.parse_list(DepositionFile)

    async def delete_file(self, deposition_id: int, file_id: str) -> None:
        self._require_token("Deleting a file")
        path = f"deposit/depositions/{_id(deposition_id)}/files/{quote(file_id, safe='')}"

        async def settled() -> bool | None:
            return True if all(f.id != file_id for f in await self.list_files(deposition_id)) else None

        await self._act("DELETE", path, settled)

    async def publish(self, deposition_id: int) -> Deposition:
        """Publish; after a 5xx/timeout a deposition found in state `done` counts as success."""
        self._require_token("Publishing")
        path = f"deposit/depositions/{_id(deposition_id)}/actions/publish"

        async def settled() -> Deposition | None:
            current = await self.get_deposition(deposition_id)
            return current if current.state == "done" else None

        outcome = await self._act("POST", path, settled)
        return outcome.parse(Deposition) if isinstance(outcome, Response) else outcome

    async def edit(self, deposition_id: int) -> Deposition:
        """Unlock a published deposition's metadata (state becomes `inprogress`)."""
        self._require_token("Editing")
        path = f"deposit/depositions/{_id(deposition_id)}/actions/edit"

        async def settled() -> Deposition | None:
            current = await self.get_deposition(deposition_id)
            return current if current.state == "inprogress" else None

        outcome = await self._act("POST", path, settled)
        return outcome.parse(Deposition) if isinstance(outcome, Response) else outcome

    async def discard(self, deposition_id: int) -> None:
        """Throw away a draft's changes (an edit) or the draft itself (never published)."""
        self._require_token("Discarding a draft")
        path = f"deposit/depositions/{_id(deposition_id)}/actions/discard"

        async def settled() -> bool | None:
            try:
                current = await self.get_deposition(deposition_id)
            except NotFoundError:
                return True
            return True if current.state == "done" else None

        await self._act("POST", path, settled)

    async def new_version(self, deposition_id: int) -> Deposition:
        """Open a new-version draft of a published deposition and return it (with `links.bucket`).

        Zenodo copies the previous files into the draft; delete them for a clean version. If a
        draft with files is already open, Zenodo refuses (DraftExistsError): reuse `version_draft()`.
        After a 5xx/timeout the draft is looked up with the RDM get-or-create `POST
        /records/:id/versions` (no search, no `links.latest_draft`, which on zenodo.org points at
        the published deposition itself); a draft found without files means the legacy action
        did not run, and resending it fills that same draft.
        """
        self._require_token("Making a new version")
        path = f"deposit/depositions/{_id(deposition_id)}/actions/newversion"

        async def settled() -> Deposition | None:
            draft = await self.version_draft(deposition_id)
            return draft if draft.files else None

        outcome = await self._act("POST", path, settled)
        if not isinstance(outcome, Response):
            return outcome
        return await self.get_deposition(_answer_id(outcome, "the new version's deposition"))

    async def version_draft(self, record_id: int) -> Deposition:
        """The concept's new-version draft, created (without files) if none is open: RDM `POST /records/:id/versions`.

        Get-or-create, so it is safe to resend (pudl-archiver#231).
        """
        self._require_token("Opening a new-version draft")
        response = await self._http.request("POST", f"records/{_id(record_id)}/versions")
        return await self.get_deposition(_answer_id(response, "the new-version draft"))

    async def open_draft(self, deposition_id: int) -> Deposition | None:
        """The open, never-published new-version draft of this deposition's concept, if any."""
        source = await self.get_deposition(deposition_id)
        if source.state == "unsubmitted":
            return source
        candidates: list[int] = []
        if source.conceptrecid:
            listed = await self.list_depositions(
                q=f"conceptrecid:{source.conceptrecid}", status="draft", all_versions=True
            )
            candidates += [d.id for d in listed if d.conceptrecid == source.conceptrecid]
        for candidate in dict.fromkeys(candidates):
            try:
                draft = await self.get_deposition(candidate)
            except NotFoundError:
                continue
            if draft.state == "unsubmitted" and draft.conceptrecid == source.conceptrecid:
                return draft
        return None

    # -- files -------------------------------------------------------------------------------

    async def upload(
        self,
        bucket_url: str | None,
        key: str,
        source: Path | str | ByteSource,
        *,
        progress: Progress | None = None,
    ) -> UploadResult:
        """One streamed `PUT {bucket}/{key}` with a known Content-Length, md5 checked afterwards.

        A retry (reset connection, 5xx, 429) restarts the source from byte 0; `progress` then gets
        a negative delta cancelling the bytes of the failed attempt, so the running sum of deltas
        is always the bytes of the current attempt.
        """
        self._require_token("Uploading")
        if not key or "/" in key or key in (".", ".."):
            raise InvalidInputError(f"Invalid file key {key!r}: use a plain file name without '/'.")
        if not bucket_url:
            raise InvalidInputError(
                "No bucket URL: GET the deposition (list items carry no links.bucket) and use "
                "deposition.bucket_url."
            )
        src = source if isinstance(source, ByteSource) else FileSource(source)
        size = src.size
        url = f"{bucket_url.rstrip('/')}/{quote(key, safe='')}"
        attempts: list[HashingStream] = []

        def body() -> AsyncIterator[bytes]:
            attempts.append(HashingStream(src, progress))
            return attempts[-1].__aiter__()

        async def settled() -> Response | None:
            """After a failure that came once the whole body was sent, the object may be stored
            already (zenodo#2442): compare the bucket's md5 before sending every byte again."""
            if not attempts or attempts[-1].sent < size:
                return None
            listing = await self._http.request("GET", bucket_url)
            for obj in listing.json_object("a bucket listing object").get("contents") or []:
                if isinstance(obj, dict) and obj.get("key") == key and obj.get("size") == size and \
                        str(obj.get("checksum", "")).removeprefix("md5:") == attempts[-1].md5:
                    return Response(200, listing.headers, jsonlib.dumps(obj).encode(), f"PUT {_path(url)}")
            return None

        response = await self._http.request(
            "PUT",
            url,
            body=body,
            headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
            on_retry=lambda: attempts[-1].rewind_progress() if attempts else None,
            abort=lambda: attempts[-1].failure if attempts else None,
            settled=settled,
        )
        sent = attempts[-1]
        stored = response.parse(BucketObject)
        if stored.md5.lower() != sent.md5 or stored.size != size:
            raise ChecksumMismatchError(
                f"PUT {_path(url)}: Zenodo stored md5 {stored.md5} / {stored.size} bytes but we sent "
                f"md5 {sent.md5} / {size} bytes; upload the file again."
            )
        return UploadResult(key=key, size=size, md5=sent.md5, server=stored)

    async def download(
        self,
        url: str,
        dest: Path,
        *,
        size: int | None = None,
        md5: str | None = None,
        progress: Progress | None = None,
        max_attempts: int = 5,
    ) -> Path:
        """Resumable, md5-verified download to `dest` (via `dest.part`; see zenodo.download)."""
        return await download(
            self._http, self._http.url(url), Path(dest),
            size=size, md5=md5, progress=progress, max_attempts=max_attempts,
        )

    async def download_into(
        self,
        url: str,
        sink: Sink,
        *,
        size: int | None = None,
        md5: str | None = None,
        progress: Progress | None = None,
        max_attempts: int = 5,
    ) -> None:
        """Resumable, md5-verified download into `sink` (e.g. one that unpacks as it receives)."""
        await download_into(
            self._http, self._http.url(url), sink, size=size, md5=md5, progress=progress, max_attempts=max_attempts
        )

    async def download_record_file(
        self,
        record: Record,
        key: str,
        dest_dir: Path,
        *,
        progress: Progress | None = None,
        max_attempts: int = 5,
    ) -> Path:
        """Download one file of a published record into `dest_dir/<key>` (skipped if already valid)."""
        entry = record.file(key)
        access = record.metadata.get("access_right")
        restricted = record.hides_files
        if entry is None and restricted and not record.files:
            raise RestrictedFilesError(
                f"Record {record.id} is {access}: its files (here {key!r}) are hidden from this client; "
                "downloading them needs the record owner's token (ZenodoClient(token=...) / ZENODO_TOKEN)."
            )
        if entry is None:
            have = ", ".join(f.key for f in record.files) or "no files"
            raise NotFoundError(f"Record {record.id} has no file {key!r} (it has: {have}).")
        url = entry.links.get("self") or entry.links.get("content")
        url = url or f"records/{record.id}/files/{quote(key, safe='')}/content"
        return await download(
            self._http, self._http.url(url), Path(dest_dir) / key,
            size=entry.size, md5=entry.md5, progress=progress, max_attempts=max_attempts,
            restricted_hint=restricted,
        )

    async def download_deposition_file(
        self,
        deposition: Deposition,
        filename: str,
        dest_dir: Path,
        *,
        progress: Progress | None = None,
        max_attempts: int = 5,
    ) -> Path:
        """Download a file of a deposition (draft files need the owner's token)."""
        entry = next((f for f in deposition.files if f.filename == filename), None)
        if entry is None:
            have = ", ".join(f.filename for f in deposition.files) or "no files"
            raise NotFoundError(f"Deposition {deposition.id} has no file {filename!r} (it has: {have}).")
        url = entry.links.get("download") or entry.links["self"]
        return await download(
            self._http, self._http.url(url), Path(dest_dir) / filename,
            size=entry.filesize, md5=entry.md5, progress=progress, max_attempts=max_attempts,
            restricted_hint=hides_files(deposition.metadata.get("access_right")),
        )

    async def zip_entries(self, url: str, size: int) -> list[ZipEntry]:
        """A remote zip's members (name, size, CRC-32) with at most two Range requests."""
        data, offset = await self._zip_directory(url, size)
        return entries_from_directory(data, offset, _path(url))

    async def zip_infos(self, url: str, size: int) -> list[zipfile.ZipInfo]:
        """A remote zip's central directory as `ZipInfo`s, header offsets counted from byte 0."""
        data, offset = await self._zip_directory(url, size)
        return infos_from_directory(data, offset, _path(url))

    async def _zip_directory(self, url: str, size: int) -> tuple[bytes, int]:
        """(bytes from the central directory to the end, where it starts), with one or two Ranges."""
        start = max(0, size - TAIL_BYTES)
        data = await self._byte_range(url, start, size - 1)
        offset = directory_offset(data, start, _path(url))
        if offset < start:
            data, start = await self._byte_range(url, offset, size - 1), offset
        return data[offset - start:], offset

    async def _byte_range(self, url: str, first: int, last: int) -> bytes:
        response = await self._http.request(
            "GET", url, headers={"Range": f"bytes={first}-{last}", "Accept": "*/*"}
        )
        # A server that ignores Range answers 200 with the whole file: still correct, only slower.
        return response.body if response.status == 206 else response.body[first:last + 1]

    # -- records -----------------------------------------------------------------------------

    async def get_record(self, id_or_doi: int | str) -> Record:
        """A published record by id, concept id (gives the latest version), DOI or record URL."""
        response = await self._http.request("GET", f"records/{record_id_from(id_or_doi)}")
        return response.parse(Record)

    async def search_records(
        self,
        q: str | None = None,
        *,
        all_versions: bool = False,
        sort: str | None = None,
        communities: str | list[str] | None = None,
        size: int = 100,
        max_pages: int | None = None,
    ) -> AsyncIterator[Record]:
        """Every hit of a records search, page by page along `links.next`.

        Zenodo caps pages at 25 hits for anonymous clients and 100 with a token; `size` is
        clamped to that cap.
        """
        params = list(_params(q=q, sort=sort, size=self._page_size(size)).items())
        if isinstance(communities, str):
            communities = [communities]
        params += [("communities", c) for c in communities or []]
        if all_versions:
            params.append(("all_versions", "true"))
        async for record in self._pages("records", params, max_pages):
            yield record

    async def record_versions(self, record_id: int | str) -> list[Record]:
        """All published versions of a record's concept, oldest first."""
        versions = [
            r async for r in self._pages(
                f"records/{record_id_from(record_id)}/versions",
                {"size": str(self._page_size(100)), "sort": "version"},
                None,
            )
        ]
        return sorted(await self._with_latest(versions, record_id_from(record_id)), key=_version_order)

    async def latest_version(self, record_id: int | str) -> Record:
        response = await self._http.request("GET", f"records/{record_id_from(record_id)}/versions/latest")
        return response.parse(Record)

    async def community_records(
        self,
        community: str,
        *,
        q: str | None = None,
        since: datetime | None = None,
        sort: str = "mostrecent",
        all_versions: bool = False,
    ) -> AsyncIterator[Record]:
        """A community's records (all versions with `all_versions`); with `since`, those updated since then."""
        if not community or "/" in community:
            raise InvalidInputError(f"Invalid community {community!r}: give its identifier, e.g. 'seatizen-data'.")
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        async for record in self.search_records(q, sort=sort, communities=community, all_versions=all_versions):
            updated = record.updated_at
            if since is None or updated is None or updated >= since:
                yield record

    async def records_by_identifier(self, urn: str, *, all_versions: bool = True) -> list[Record]:
        """Records whose alternate identifier is exactly `urn` (e.g. `urn:<session name>`)."""
        if not urn.strip():
            raise InvalidInputError("An identifier to look up cannot be empty (expected e.g. 'urn:<session>').")
        quoted = '"' + urn.replace("\\", "\\\\").replace('"', '\\"') + '"'
        q = f"metadata.identifiers.identifier:{quoted} metadata.related_identifiers.identifier:{quoted}"
        found = [r for r in [r async for r in self.search_records(q, all_versions=all_versions)]
                 if urn in r.alternate_identifiers]
        if all_versions and len({r.conceptrecid for r in found}) == 1:
            found = [r for r in await self._with_latest(found, found[0].id) if urn in r.alternate_identifiers]
        return sorted(found, key=lambda r: r.id)

    # -- internals ---------------------------------------------------------------------------

    async def _act(
        self,
        method: str,
        path: str,
        settled: Callable[[], Awaitable[T | None]] | None,
        *,
        json: Any = None,
    ) -> Response | T:
        """Send a non-idempotent action: Zenodo's response, or what `settled()` found already done.

        After a 5xx/timeout `settled()` is asked before resending.

        Without `settled` there is no way to tell, so the error is raised with that said.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._http.request(method, path, json=json, retry=Retry.UNSENT)
            except ServerError as exc:
                if settled is None:
                    exc.args = (f"{exc} (it may or may not have been applied: check before sending it again)",)
                    raise
                if not is_retryable(exc) or attempt > self._http.backoff.max_retries:
                    raise
                outcome = await settled()
                if outcome is not None:
                    log.info("%s /%s: already done by the failed attempt, not resending", method, path)
                    return outcome
                await self._http.wait_before_retry(method, path, exc, attempt)

    async def _with_latest(self, versions: list[Record], record_id: int) -> list[Record]:
        """`versions` (a search answer) plus the concept's latest version when the search missed it.

        zenodo.org's search shows a new version seconds after its publish; `versions/latest` is read
        from the database (invenio-drafts-resources read_latest), so it never lags.
        """
        try:
            latest = await self.latest_version(record_id)
        except NotFoundError:
            return versions
        return versions if any(v.id == latest.id for v in versions) else [*versions, latest]

    async def until_indexed(self, look: Callable[[], Awaitable[T | None]]) -> T | None:
        """`look()` (a search) until it finds something or `search_lag` seconds have passed.

        zenodo.org's search misses writes for a moment; an empty answer is final only after that.
        Looks are 1, 2, 2... s apart: each costs requests of the per-minute budget (a session's look
        is two), and looking every 0.25 s made a new session's wait 13 of its 21 requests, so that
        8 sessions at once ran into the budget (bench/upload_sessions.py) rather than into the lag.
        """
        deadline = asyncio.get_running_loop().time() + self.search_lag
        pause = 1.0
        while True:
            found = await look()
            if found is not None or asyncio.get_running_loop().time() >= deadline:
                return found
            await asyncio.sleep(min(pause, max(deadline - asyncio.get_running_loop().time(), 0)))
            pause = min(pause * 2, 2.0)

    def _page_size(self, wanted: int) -> int:
        if wanted < 1:
            raise InvalidInputError(f"A page size must be at least 1, got {wanted}.")
        return min(wanted, 100 if self._http.has_token else 25)

    async def _gone(self, deposition_id: int) -> bool | None:
        try:
            await self.get_deposition(deposition_id)
        except NotFoundError:
            return True
        return None

    async def _recent_drafts(self) -> list[Deposition]:
        return await self.list_depositions(status="draft", sort="mostrecent", size=100)

    async def _pages(self, path: str, params: Params, max_pages: int | None) -> AsyncIterator[Record]:
        """Every hit along `links.next`. An empty, malformed or short answer raises ServerError: a caller
        deciding "nothing new" or "does not exist yet" must never get that from a broken page."""
        url: str | None = path
        seen: set[str] = set()
        pages = yielded = 0
        expected = status = 0
        while url and url not in seen and (max_pages is None or pages < max_pages):
            seen.add(url)
            response = await self._http.request("GET", url, params=params if pages == 0 else None)
            page = response.shaped(SearchPage, response.json_object("a search page"))
            expected, status = (page.hits.total if pages == 0 else expected), response.status
            for hit in page.hits.hits:
                yield response.shaped(Record, hit)
            yielded += len(page.hits.hits)
            pages += 1
            url = page.links.get("next") if page.hits.hits else None
        # Zenodo serves at most 10,000 hits of one search (zenodo-observed.md: page*size > 10000 is a 400).
        if max_pages is None and yielded < min(expected, SEARCH_WINDOW):
            raise ServerError(
                f"GET /{path} announced {expected} hit(s) but its pages held {yielded}; the search answer was "
                "cut short, try again later.",
                status=status,
            )


def _answer_id(response: Response, what: str) -> int:
    """The `id` of the object an action answered with (a wrong shape is said, not a KeyError/TypeError)."""
    value = response.json_object(f"{what} (a JSON object with an id)").get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise response.wrong_shape(value, f"the id of {what}")
    return int(value)


def _id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInputError(f"A deposition id must be a positive integer, got {value!r}.")
    return value


def _params(**values: object) -> dict[str, str]:
    return {k: str(v) for k, v in values.items() if v is not None}


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?", 1)[0]


def _version_order(record: Record) -> tuple[int, int]:
    versions = (record.metadata.get("relations") or {}).get("version") or [{}]
    index = versions[0].get("index")
    return (index if isinstance(index, int) else record.id, record.id)
