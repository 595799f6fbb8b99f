"""The local server answers each recorded call with the same shape zenodo.org did.

For every recorded post-2023 response, the same call is made locally and compared: top-level
keys, the link set for that state, the metadata keys the call set (plus those Zenodo adds),
file-object keys, and the JSON type of every shared value. Two documented differences:
- `links.registerconceptdoi`: present in Jan 2024 recordings, gone in Dec 2025 ones; we follow 2025.
- a DOI reserved on an unpublished draft (`doi`, `doi_url`, `links.doi`, `metadata.doi` in one
  Dec 2025 draft): the local server only mints a DOI at publish, as in the Jan 2024 recordings.
"""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from tests.zenodo.server.support import action, call, create, upload

RECORDED = Path(__file__).parent / "recorded"
DROPPED_LINKS = {"registerconceptdoi"}
RESERVED_DOI = {"doi", "doi_url"}


def recorded(name: str) -> dict | list:
    return json.loads((RECORDED / name).read_text())


def json_type(value: object) -> str:
    return type(value).__name__


def assert_same_shape(local: dict, reference: dict, *, metadata_keys: set[str] | None = None,
                      optional: set[str] = frozenset()) -> None:
    assert set(local) == set(reference) - optional
    assert set(local["links"]) == set(reference["links"]) - DROPPED_LINKS - ({"doi"} & optional)
    meta_ref = reference["metadata"]
    wanted = set(meta_ref) - ({"doi"} & optional) if metadata_keys is None else metadata_keys
    assert set(local["metadata"]) == wanted
    for key in set(local) & set(reference):
        assert json_type(local[key]) == json_type(reference[key]), key
    for key in set(local["metadata"]) & set(meta_ref):
        assert json_type(local["metadata"][key]) == json_type(meta_ref[key]), f"metadata.{key}"
    assert set(local["metadata"]["prereserve_doi"]) == {"doi", "recid"}
    for mine, theirs in zip(local["files"], reference["files"], strict=False):
        assert set(mine) == set(theirs) and set(mine["links"]) == set(theirs["links"])
        assert {k: json_type(v) for k, v in mine.items()} == {k: json_type(v) for k, v in theirs.items()}
    assert len(local["files"]) == len(reference["files"])


def metadata_of(name: str) -> dict:
    """The client-settable part of a recorded metadata object (what the recorded call sent)."""
    server_added = {"prereserve_doi", "imprint_publisher", "doi"}
    found = recorded(name)
    item = found[0] if isinstance(found, list) else found
    return {k: v for k, v in item["metadata"].items() if k not in server_added}


ZENODRAFT_METADATA = {
    "title": "The title", "upload_type": "other", "description": "The description.",
    "creators": [{"name": "Family name, Given names"}], "license": "CC-BY-4.0", "access_right": "open",
}


@pytest.fixture
async def lifecycle(zenodo_server, http: aiohttp.ClientSession) -> dict[str, dict]:
    """The zenodraft sequence against the local server: create, PUT, upload, publish, edit, newversion."""
    srv = zenodo_server
    steps: dict[str, dict] = {"101": await create(http, srv)}
    dep_url = steps["101"]["links"]["self"]
    _, steps["111"] = await call(http, "PUT", dep_url, srv.token, json={"metadata": ZENODRAFT_METADATA})
    await upload(http, srv, steps["101"], "README.md", b"# README\n\nhi!\n")
    _, steps["121"] = await call(http, "GET", dep_url, srv.token)
    _, steps["131"] = await action(http, srv, steps["101"]["id"], "publish")
    _, steps["141"] = await action(http, srv, steps["101"]["id"], "edit")
    await action(http, srv, steps["101"]["id"], "discard")
    _, draft = await action(http, srv, steps["101"]["id"], "newversion")
    for stored in draft["files"]:
        await call(http, "DELETE", f"{draft['links']['files']}/{stored['id']}", srv.token)
    reset = {"title": "Untitled", "upload_type": "other", "description": "The description of the deposition.",
             "license": "cc-by-4.0", "access_right": "open"}
    _, steps["151"] = await call(http, "PUT", draft["links"]["self"], srv.token, json={"metadata": reset})
    _, steps["list"] = await call(http, "GET", f"{srv.api_url}/deposit/depositions", srv.token,
                                  params={"status": "published"})
    return steps


@pytest.mark.parametrize("step", ["101", "111", "121", "131", "141", "151"])
async def test_zenodraft_lifecycle_shapes(lifecycle, step):
    assert_same_shape(lifecycle[step], recorded(f"zenodraft_{step}.json"))


async def test_zenodraft_states_and_link_forms(lifecycle):
    assert [lifecycle[s]["state"] for s in ("101", "121", "131", "141", "151")] == [
        "unsubmitted", "unsubmitted", "done", "inprogress", "unsubmitted"]
    assert "/api/records/" in lifecycle["131"]["links"]["self"]
    assert "/api/records/" in lifecycle["131"]["files"][0]["links"]["self"]
    assert "/deposit/depositions/" in lifecycle["141"]["links"]["self"]
    assert lifecycle["131"]["links"]["latest"].endswith(f"/records/{lifecycle['131']['id']}/versions/latest")


async def test_zenodraft_list_item_shape(lifecycle):
    [reference] = recorded("zenodraft_depositions.json")
    [item] = lifecycle["list"]
    assert_same_shape(item, reference)
    assert "bucket" not in item["links"]


async def test_deposits_draft_without_files(zenodo_server, http):
    reference = recorded("deposits_GET_deposit_depositions_412011__draft_no_files.json")
    dep = await create(http, zenodo_server, metadata_of("deposits_GET_deposit_depositions_412011__draft_no_files.json"))
    _, local = await call(http, "GET", dep["links"]["self"], zenodo_server.token)
    assert_same_shape(local, reference)
    assert local["metadata"]["creators"] == reference["metadata"]["creators"]


async def test_deposits_draft_with_two_files(zenodo_server, http):
    name = "deposits_GET_deposit_depositions_412011__draft_two_files.json"
    reference = recorded(name)
    dep = await create(http, zenodo_server, metadata_of(name))
    for stored in reference["files"]:
        await upload(http, zenodo_server, dep, stored["filename"], b"x" * stored["filesize"])
    _, local = await call(http, "GET", dep["links"]["self"], zenodo_server.token)
    assert_same_shape(local, reference, optional=RESERVED_DOI)
    assert [f["links"]["download"].rsplit("/records/", 1)[1] for f in local["files"]] == [
        f"{dep['id']}/draft/files/data2.csv/content", f"{dep['id']}/draft/files/data.csv/content"]


async def test_deposits_list_has_no_bucket(zenodo_server, http):
    [reference] = recorded("deposits_GET_deposit_depositions__list.json")
    await create(http, zenodo_server, metadata_of("deposits_GET_deposit_depositions__list.json"))
    _, [local] = await call(http, "GET", f"{zenodo_server.api_url}/deposit/depositions", zenodo_server.token)
    assert_same_shape(local, reference)


@pytest.mark.parametrize("name", ["deposits_PUT_deposit_depositions_412011__metadata_update.json",
                                  "deposits_PUT_deposit_depositions_412011__embargo.json"])
async def test_deposits_put_responses(zenodo_server, http, name):
    reference = recorded(name)
    dep = await create(http, zenodo_server)
    status, local = await call(http, "PUT", dep["links"]["self"], zenodo_server.token,
                               json={"metadata": metadata_of(name)})
    assert status == 200
    assert_same_shape(local, reference, optional=RESERVED_DOI)
    if "license" in reference["metadata"]:
        assert local["metadata"]["license"] == reference["metadata"]["license"]
