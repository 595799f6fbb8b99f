"""zenodopy 0.3.0 and zenodo_get 3.1.0, unchanged, against the local Zenodo: only the base URL differs.

zenodopy keeps its API root in `Client._endpoint`; zenodo_get hard-codes https://zenodo.org/api/records/,
so its HTTP transport is routed to the local server for that host (its own retry transport still runs).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx2
import pytest
import requests
import zenodo_get
import zenodopy
from zenodo_get import downloader

from tests.zenodo.server.support import METADATA

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

def _zenodopy(srv) -> zenodopy.Client:
    client = zenodopy.Client(token=srv.token)
    client._endpoint = srv.api_url
    return client

def test_zenodopy_create_upload_change_list_and_download(zenodo_server, tmp_path, capsys):

    srv = zenodo_server
    data = tmp_path / "survey.csv"
    data.write_bytes(b"lat,lon\n-21.1,55.2\n" * 200)
    z = _zenodopy(srv)
    z.create_project(title="zenodopy project", upload_type="dataset", description="made by zenodopy")
    assert z.deposition_id and z.bucket.startswith(srv.api_url)
    z.upload_file(str(data))
    assert z.change_metadata(dep_id=z.deposition_id, title="renamed by zenodopy", upload_type="dataset",
                             description="still zenodopy")["title"] == "renamed by zenodopy"
    z.list_projects  # noqa: B018 -- a property in zenodopy 0.3.0: prints the projects
    z.list_files  # noqa: B018 -- also a property: prints the current project's file names
    printed = capsys.readouterr().out
    assert f"renamed by zenodopy ----- {z.deposition_id}" in printed
    assert "survey.csv" in printed and "Oh no" not in printed

    # zenodopy 0.3.0 cannot publish nor set creators; its download_file re-fetches the bucket URL
    # anonymously (wget), which zenodo.org only serves once the record is public. Finish by hand.
    auth = {"Authorization": f"Bearer {srv.token}"}
    dep_url = f"{srv.api_url}/deposit/depositions/{z.deposition_id}"
    meta = {**METADATA, "title": "renamed by zenodopy"}
    assert requests.put(dep_url, json={"metadata": meta}, headers=auth, timeout=30).status_code == 200
    assert requests.post(f"{dep_url}/actions/publish", headers=auth, timeout=30).status_code == 202
    out = tmp_path / "out"
    out.mkdir()
    z.download_file("survey.csv", dst_path=str(out))
    assert (out / "survey.csv").read_bytes() == data.read_bytes()

class _ToLocal(httpx2.BaseTransport):
    """Sends what zenodo_get addresses to zenodo.org to the local server instead."""

    def __init__(self, inner: httpx2.BaseTransport, port: int):
        self.inner, self.port = inner, port

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "zenodo.org":
            request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
            request.headers["Host"] = f"127.0.0.1:{self.port}"
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

def test_zenodo_get_downloads_and_verifies_a_record(zenodo_server, tmp_path, monkeypatch):

    srv = zenodo_server
    files = {"a.csv": b"a,b\n1,2\n" * 100, "b.bin": bytes(range(256)) * 40}
    auth = {"Authorization": f"Bearer {srv.token}"}
    dep = requests.post(f"{srv.api_url}/deposit/depositions", json={"metadata": METADATA}, headers=auth,
                        timeout=30).json()
    for key, body in files.items():
        assert requests.put(f"{dep['links']['bucket']}/{key}", data=body, headers=auth, timeout=30).ok
    done = requests.post(f"{dep['links']['publish']}", headers=auth, timeout=30).json()

    real = downloader._create_client_transport
    monkeypatch.setattr(downloader, "_create_client_transport",
                        lambda **kw: _ToLocal(real(**kw), srv.port))
    out = tmp_path / "got"
    zenodo_get.download(record=str(done["id"]), output_dir=out, verbosity=0, no_proxy=True)
    for key, body in files.items():
        assert hashlib.md5((out / key).read_bytes()).digest() == hashlib.md5(body).digest()
    assert sorted(p.name for p in Path(out).iterdir() if p.name in files) == sorted(files)
