"""The zenodopy-style facade does what a zenodopy user expects, against the local Zenodo."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

import pytest

from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import ConfirmationRequiredError, InvalidInputError, NotFoundError
from zenodo_atlas.zenodo.models import Creator
from zenodo_atlas.zenodo.project import ZenodoProject


@pytest.fixture
async def project(zenodo_server):
    client = ZenodoClient(
        zenodo_server.api_url, zenodo_server.token, backoff_base=0.01, rate_limit_per_minute=100_000
    )
    async with client:
        yield ZenodoProject(client)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "session"
    (root / "GPS").mkdir(parents=True)
    (root / "GPS" / "track.csv").write_text("lat,lon\n1,2\n")
    (root / "notes.txt").write_text("calm sea")
    return root


async def _ready(project: ZenodoProject, title: str = "Survey"):
    await project.create_project(title, "dataset", "A survey.", creators=["Doe, Jane", Creator(name="Roe, Ann")])
    await project.change_metadata(license="cc-by-4.0")


async def test_create_list_set_and_change_metadata(project):
    created = await project.create_project("First", "dataset", "Desc.", creators=["Doe, Jane"])
    assert project.deposition_id == created.id
    second = await project.create_project("Second")
    assert {d.id for d in await project.list_projects()} == {created.id, second.id}
    await project.set_project(created.id)
    changed = await project.change_metadata(title="First, renamed", keywords=["reef"])
    assert changed.title == "First, renamed"
    assert changed.metadata["keywords"] == ["reef"]
    assert changed.metadata["description"] == "Desc."  # kept, although Zenodo's PUT replaces everything
    assert changed.metadata["creators"][0]["name"] == "Doe, Jane"
    with pytest.raises(InvalidInputError, match="Unknown metadata field"):
        await project.change_metadata(colour="blue")


async def test_no_current_project_is_a_clear_error(project):
    with pytest.raises(InvalidInputError, match="create_project"):
        await project.list_files()


async def test_upload_file_zip_and_tar_then_publish(project, folder, tmp_path):
    await _ready(project)
    single = tmp_path / "single.bin"
    single.write_bytes(b"x" * 1000)
    await project.upload_file(single)
    zipped = await project.upload_zip(folder)
    tarred = await project.upload_tar(folder, "bundle.tar.gz", publish=True)
    assert sorted(await project.list_files()) == ["bundle.tar.gz", "session.zip", "single.bin"]
    assert (await project.current()).state == "done"

    zip_back = await project.download_file("session.zip", tmp_path / "back")
    assert hashlib.md5(zip_back.read_bytes()).hexdigest() == zipped.md5
    with zipfile.ZipFile(zip_back) as archive:
        assert sorted(archive.namelist()) == ["session/GPS/track.csv", "session/notes.txt"]
        assert archive.read("session/notes.txt") == b"calm sea"
    tar_back = await project.download_file("bundle.tar.gz", tmp_path / "back")
    assert hashlib.md5(tar_back.read_bytes()).hexdigest() == tarred.md5
    with tarfile.open(fileobj=io.BytesIO(tar_back.read_bytes())) as archive:
        assert "session/GPS/track.csv" in archive.getnames()


async def test_update_makes_a_clean_new_version(project, tmp_path):
    await _ready(project)
    old = tmp_path / "old.txt"
    old.write_text("v1")
    await project.upload_file(old, publish=True)
    first_id = project.deposition_id
    new = tmp_path / "new.txt"
    new.write_text("v2")
    published = await project.update([new], publish=True)
    assert published.id != first_id and project.deposition_id == published.id
    assert await project.list_files() == ["new.txt"]
    assert published.conceptrecid == (await project.client.get_deposition(first_id)).conceptrecid
    with pytest.raises(InvalidInputError, match="does not exist"):
        await project.update([tmp_path / "missing.txt"])


async def test_download_from_doi_and_file_urls(project, tmp_path):
    await _ready(project)
    data = tmp_path / "data.csv"
    data.write_text("a,b\n")
    published = await project.upload_file(data, publish=True)
    record = await project.current()
    urls = await project.file_urls(record.doi)
    assert len(urls) == 1 and urls[0].endswith("/files/data.csv/content")
    paths = await project.download_from_doi(f"https://doi.org/{record.doi}", tmp_path / "doi")
    assert [p.read_text() for p in paths] == ["a,b\n"]
    assert published.md5 == hashlib.md5(b"a,b\n").hexdigest()


async def test_delete_file_and_project_need_confirmation(project, tmp_path):
    await _ready(project)
    path = tmp_path / "a.txt"
    path.write_text("a")
    await project.upload_file(path)
    await project.delete_file("a.txt")
    assert await project.list_files() == []
    with pytest.raises(NotFoundError, match=r"no file 'a\.txt'"):
        await project.delete_file("a.txt")
    target = project.deposition_id
    with pytest.raises(ConfirmationRequiredError, match="confirm=True"):
        await project.delete_project()
    await project.delete_project(confirm=True)
    with pytest.raises(NotFoundError):
        await project.client.get_deposition(target)
    with pytest.raises(InvalidInputError):
        _ = project.deposition_id


async def test_uploading_into_a_published_project_points_to_update(project, tmp_path):
    await _ready(project)
    path = tmp_path / "a.txt"
    path.write_text("a")
    await project.upload_file(path, publish=True)
    with pytest.raises(InvalidInputError, match="update"):
        await project.upload_file(path)
    with pytest.raises(InvalidInputError, match="not a directory"):
        await project.upload_zip(path)
