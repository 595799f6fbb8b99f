"""Persistence: a restarted server on the same data_dir sees the same records, drafts and bytes."""

from __future__ import annotations

import json

from tests.fixtures.zenodo_server import OTHER_TOKEN, TOKEN, ZenodoTestServer
from tests.zenodo.server.support import METADATA, call, create, published, upload


def _server(data_dir) -> ZenodoTestServer:
    return ZenodoTestServer(tokens={TOKEN: 1, OTHER_TOKEN: 2}, data_dir=data_dir)


async def test_state_survives_restart(tmp_path, http):
    data_dir = tmp_path / "zenodo"
    with _server(data_dir) as srv:
        done = await published(http, srv, files={"keep.bin": b"kept bytes"})
        draft = await create(http, srv, METADATA)
        await upload(http, srv, draft, "draft.bin", b"draft bytes")
    assert json.loads((data_dir / "state.json").read_text())["next_id"] > draft["id"]

    with _server(data_dir) as srv:
        _, record = await call(http, "GET", f"{srv.api_url}/records/{done['id']}")
        assert record["doi"] == done["doi"] and record["files"][0]["key"] == "keep.bin"
        assert await call(http, "GET", record["files"][0]["links"]["self"]) == (200, "kept bytes")
        _, again = await call(http, "GET", f"{srv.api_url}/deposit/depositions/{draft['id']}", srv.token)
        assert again["state"] == "unsubmitted" and again["files"][0]["filename"] == "draft.bin"
        assert again["links"]["bucket"].rsplit("/", 1)[1] == draft["links"]["bucket"].rsplit("/", 1)[1]
        newer = await create(http, srv)
        assert int(newer["conceptrecid"]) > draft["id"]


async def test_leftover_partial_uploads_are_cleared_on_start(tmp_path, http):
    data_dir = tmp_path / "zenodo"
    (data_dir / "tmp").mkdir(parents=True)
    (data_dir / "tmp" / "stale.part").write_bytes(b"half an upload")
    with _server(data_dir) as srv:
        assert list((srv.data_dir / "tmp").iterdir()) == []


async def test_state_file_is_replaced_atomically(tmp_path, http):
    data_dir = tmp_path / "zenodo"
    with _server(data_dir) as srv:
        await create(http, srv)
        await create(http, srv)
    assert sorted(p.name for p in data_dir.iterdir()) == ["blobs", "state.json", "tmp"]
    assert len(json.loads((data_dir / "state.json").read_text())["records"]) == 2
