"""A zenodopy-style facade so zenodopy users can switch: one "current project", async methods.

Differences from zenodopy, on purpose: errors raise instead of printing; metadata changes keep the
fields you do not pass (zenodopy's full PUT silently dropped them); a new version removes the
files Zenodo carried over before uploading the new ones; deleting a project needs `confirm=True`;
directories are zipped as a stream (no temporary copy) and tarred into a temporary file.
"""

from __future__ import annotations

import asyncio
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import zipstream

from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import ConfirmationRequiredError, InvalidInputError, NotFoundError
from zenodo_atlas.zenodo.models import Creator, Deposition, DepositMetadata, UploadResult, UploadType
from zenodo_atlas.zenodo.streams import IterableSource

_METADATA_FIELDS = frozenset(DepositMetadata.model_fields) - {"prereserve_doi"}


class ZenodoProject:
    """zenodopy's `Client` over a `ZenodoClient` (which the caller opens and closes)."""

    def __init__(self, client: ZenodoClient, deposition_id: int | None = None):
        self.client = client
        self._deposition_id = deposition_id

    def __repr__(self) -> str:
        return f"ZenodoProject({self.client!r}, deposition_id={self._deposition_id})"

    @property
    def deposition_id(self) -> int:
        if self._deposition_id is None:
            raise InvalidInputError(
                "No current project: call create_project(...) or set_project(deposition_id) first."
            )
        return self._deposition_id

    async def create_project(
        self,
        title: str,
        upload_type: UploadType = "other",
        description: str = "",
        creators: list[Creator | str] | None = None,
    ) -> Deposition:
        """A new draft that becomes the current project."""
        metadata = DepositMetadata(
            title=title,
            upload_type=upload_type,
            description=description or title,
            creators=_creators(creators or []),
        )
        deposition = await self.client.create_deposition(metadata)
        self._deposition_id = deposition.id
        return deposition

    async def list_projects(self) -> list[Deposition]:
        return await self.client.list_depositions(size=100)

    async def set_project(self, deposition_id: int) -> Deposition:
        deposition = await self.client.get_deposition(deposition_id)
        self._deposition_id = deposition.id
        return deposition

    async def current(self) -> Deposition:
        return await self.client.get_deposition(self.deposition_id)

    async def list_files(self) -> list[str]:
        return [f.filename for f in await self.client.list_files(self.deposition_id)]

    async def upload_file(self, path: Path | str, *, key: str | None = None, publish: bool = False) -> UploadResult:
        path = Path(path)
        result = await self.client.upload(await self._bucket(), key or path.name, path)
        if publish:
            await self.publish()
        return result

    async def upload_zip(
        self, source_dir: Path | str, output_file: str | None = None, *, publish: bool = False
    ) -> UploadResult:
        """Zip a directory (stored, streamed straight to Zenodo) as `output_file` or `<dir>.zip`."""
        source_dir = _directory(source_dir)
        size = await asyncio.to_thread(lambda: len(_zip(source_dir)))
        source = IterableSource(size, lambda: _zip(source_dir))
        result = await self.client.upload(await self._bucket(), output_file or f"{source_dir.name}.zip", source)
        if publish:
            await self.publish()
        return result

    async def upload_tar(
        self, source_dir: Path | str, output_file: str | None = None, *, publish: bool = False
    ) -> UploadResult:
        """Tar+gzip a directory into a temporary file, upload it as `output_file` or `<dir>.tar.gz`."""
        source_dir = _directory(source_dir)
        name = output_file or f"{source_dir.name}.tar.gz"
        with tempfile.TemporaryDirectory(prefix="zenodo-tar-") as scratch:
            archive = Path(scratch) / name
            await asyncio.to_thread(_tar, source_dir, archive)
            result = await self.client.upload(await self._bucket(), name, archive)
        if publish:
            await self.publish()
        return result

    async def change_metadata(
        self,
        *,
        title: str | None = None,
        upload_type: UploadType | None = None,
        description: str | None = None,
        creators: list[Creator | str] | None = None,
        **fields: Any,
    ) -> Deposition:
        """Change the given fields and keep the rest (Zenodo itself replaces everything on PUT)."""
        unknown = set(fields) - _METADATA_FIELDS
        if unknown:
            raise InvalidInputError(
                f"Unknown metadata field(s) {sorted(unknown)}; allowed: {sorted(_METADATA_FIELDS)}."
            )
        current = await self.current()
        merged = {k: v for k, v in current.metadata.items() if k in _METADATA_FIELDS}
        given = {"title": title, "upload_type": upload_type, "description": description, **fields}
        merged.update({k: v for k, v in given.items() if v is not None})
        if creators is not None:
            merged["creators"] = _creators(creators)
        merged.setdefault("title", current.title or "Untitled")
        merged.setdefault("description", merged["title"])
        merged.setdefault("creators", [])
        return await self.client.update_deposition(self.deposition_id, DepositMetadata.model_validate(merged))

    async def publish(self) -> Deposition:
        return await self.client.publish(self.deposition_id)

    async def update(self, sources: list[Path | str] | Path | str, *, publish: bool = False) -> Deposition:
        """A new version holding exactly `sources` (files; directories are zipped); it becomes current."""
        paths = [Path(p) for p in (sources if isinstance(sources, list) else [sources])]
        for path in paths:
            if not path.exists():
                raise InvalidInputError(f"Cannot add {path} to the new version: it does not exist.")
        draft = await self.client.new_version(self.deposition_id)
        self._deposition_id = draft.id
        for carried in await self.client.list_files(draft.id):
            await self.client.delete_file(draft.id, carried.id)
        for path in paths:
            if path.is_dir():
                await self.upload_zip(path)
            else:
                await self.upload_file(path)
        return await (self.publish() if publish else self.current())

    async def download_file(self, filename: str, dest_dir: Path | str = Path(".")) -> Path:
        """A file of the current project (drafts included, with the owner's token)."""
        return await self.client.download_deposition_file(await self.current(), filename, Path(dest_dir))

    async def download_from_doi(
        self, doi: str | int, dest_dir: Path | str = Path("."), *, key: str | None = None
    ) -> list[Path]:
        """One file (`key`) or every file of any published record, by DOI or record id."""
        record = await self.client.get_record(doi)
        keys = [key] if key is not None else [f.key for f in record.files]
        return [await self.client.download_record_file(record, k, Path(dest_dir)) for k in keys]

    async def file_urls(self, doi: str | int) -> list[str]:
        """zenodopy's `get_urls_from_doi`: the content URLs of a record's files."""
        record = await self.client.get_record(doi)
        return [f.links.get("self", "") for f in record.files]

    async def delete_file(self, filename: str) -> None:
        files = await self.client.list_files(self.deposition_id)
        entry = next((f for f in files if f.filename == filename), None)
        if entry is None:
            have = ", ".join(f.filename for f in files) or "no files"
            raise NotFoundError(f"Project {self.deposition_id} has no file {filename!r} (it has: {have}).")
        await self.client.delete_file(self.deposition_id, entry.id)

    async def delete_project(self, deposition_id: int | None = None, *, confirm: bool = False) -> None:
        """Delete an unpublished project; refuses unless `confirm=True` is passed."""
        target = deposition_id if deposition_id is not None else self.deposition_id
        if confirm is not True:
            raise ConfirmationRequiredError(
                f"Deleting project {target} cannot be undone: call delete_project({target}, confirm=True)."
            )
        await self.client.delete_deposition(target)
        if target == self._deposition_id:
            self._deposition_id = None

    async def _bucket(self) -> str:
        current = await self.current()
        bucket = current.bucket_url
        if current.state == "done" or not bucket:
            raise InvalidInputError(
                f"Project {self.deposition_id} has no upload bucket (it is published): call update(...) "
                "to upload into a new version."
            )
        return bucket


def _creators(creators: list[Creator | str]) -> list[Creator]:
    return [c if isinstance(c, Creator) else Creator(name=c) for c in creators]


def _directory(path: Path | str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise InvalidInputError(f"{path} is not a directory: give the folder to archive.")
    return path


def _zip(source_dir: Path) -> zipstream.ZipStream:
    return zipstream.ZipStream.from_path(source_dir, compress_type=zipstream.ZIP_STORED, sized=True)


def _tar(source_dir: Path, archive: Path) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source_dir, arcname=source_dir.name)
