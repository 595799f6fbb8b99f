"""The InvenioRDM draft API on the local Zenodo: the full lifecycle a client needs.

Sources: inveniordm docs reference/rest_api_drafts_records (statuses), zenodo-rdm
site/zenodo_rdm/legacy/resources.py (Zenodo-JSON unless the RDM media type is asked for),
pudl-archiver#231 (POST /records/:id/versions is get-or-create).
"""

from __future__ import annotations

import hashlib

from tests.zenodo.server.support import call, published

RDM = {"Accept": "application/vnd.inveniordm.v1+json"}
DRAFT = {
    "metadata": {
        "resource_type": {"id": "dataset"},
        "title": "RDM draft",
        "publication_date": "2026-11-30",
        "description": "<p>Made through the RDM API.</p>",
        "creators": [{"person_or_org": {"type": "personal", "family_name": "Doe", "given_name": "Jane"},
                      "affiliations": [{"name": "Ifremer"}]}],
        "rights": [{"id": "cc-by-4.0"}],
        "identifiers": [{"identifier": "urn:S1", "scheme": "urn"}],
    },
    "access": {"record": "public", "files": "public"},
    "files": {"enabled": True},
}


async def _upload(http, srv, rid: int, key: str, data: bytes) -> dict:
    base = f"{srv.api_url}/records/{rid}/draft/files"
    status, init = await call(http, "POST", base, srv.token, json=[{"key": key}])
    assert status == 201 and [e["status"] for e in init["entries"] if e["key"] == key] == ["pending"]
    status, _ = await call(http, "PUT", f"{base}/{key}/content", srv.token, data=data,
                           headers={"Content-Type": "application/octet-stream"})
    assert status == 200
    status, done = await call(http, "POST", f"{base}/{key}/commit", srv.token)
    assert status == 200
    return done


async def test_create_upload_publish_new_version_in_rdm_json(zenodo_server, http):
    srv = zenodo_server
    status, draft = await call(http, "POST", f"{srv.api_url}/records", srv.token, json=DRAFT, headers=RDM)
    assert status == 201 and draft["is_draft"] is True and draft["is_published"] is False
    rid = int(draft["id"])
    assert draft["metadata"]["creators"][0]["person_or_org"]["family_name"] == "Doe"
    assert draft["metadata"]["identifiers"] == [{"identifier": "urn:S1", "scheme": "urn"}]
    data = b"rdm bytes\n" * 100
    done = await _upload(http, srv, rid, "data.csv", data)
    assert done["status"] == "completed" and done["checksum"] == f"md5:{hashlib.md5(data).hexdigest()}"
    status, rec = await call(http, "POST", f"{srv.api_url}/records/{rid}/draft/actions/publish", srv.token,
                             headers=RDM)
    assert status == 202 and rec["is_published"] is True and rec["pids"]["doi"]["identifier"].endswith(str(rid))

    status, v2 = await call(http, "POST", f"{srv.api_url}/records/{rid}/versions", srv.token, headers=RDM)
    assert status == 201 and v2["files"]["entries"] == [] and v2["parent"]["id"] == rec["parent"]["id"]
    status, again = await call(http, "POST", f"{srv.api_url}/records/{rid}/versions", srv.token, headers=RDM)
    assert status == 201 and again["id"] == v2["id"], "versions is get-or-create"
    status, imported = await call(http, "POST", f"{srv.api_url}/records/{v2['id']}/draft/actions/files-import",
                                  srv.token)
    assert status == 201 and [e["key"] for e in imported["entries"]] == ["data.csv"]

    status, mine = await call(http, "GET", f"{srv.api_url}/user/records", srv.token)
    assert status == 200 and {h["id"] for h in mine["hits"]["hits"]} == {str(rid), v2["id"]}


async def test_default_accept_answers_zenodo_json_and_rdm_on_request(zenodo_server, http):
    srv = zenodo_server
    done = await published(http, srv)
    url = f"{srv.api_url}/records/{done['id']}"
    _, zenodo_json = await call(http, "GET", url)
    assert zenodo_json["conceptrecid"] == done["conceptrecid"] and "pids" not in zenodo_json
    _, rdm_json = await call(http, "GET", url, headers=RDM)
    assert rdm_json["id"] == str(done["id"]) and rdm_json["parent"]["id"] == done["conceptrecid"]
    assert rdm_json["access"]["files"] == "public" and rdm_json["metadata"]["resource_type"] == {"id": "dataset"}


async def test_versions_of_a_published_record_is_usable_after_a_legacy_newversion(zenodo_server, http):
    """Recovery path: the legacy newversion's draft (with imported files) is what versions returns."""
    srv = zenodo_server
    done = await published(http, srv)
    status, legacy = await call(http, "POST", f"{srv.api_url}/deposit/depositions/{done['id']}/actions/newversion",
                                srv.token)
    assert status == 201
    status, found = await call(http, "POST", f"{srv.api_url}/records/{done['id']}/versions", srv.token)
    assert status == 201 and found["id"] == legacy["id"] and len(found["files"]) == 1


async def test_edit_published_record_and_discard(zenodo_server, http):
    srv = zenodo_server
    done = await published(http, srv)
    url = f"{srv.api_url}/records/{done['id']}/draft"
    status, draft = await call(http, "POST", url, srv.token, headers=RDM)
    assert status == 201 and draft["status"] == "published_draft"
    body = {**DRAFT, "metadata": {**DRAFT["metadata"], "title": "Edited"}}
    status, updated = await call(http, "PUT", url, srv.token, json=body, headers=RDM)
    assert status == 200 and updated["metadata"]["title"] == "Edited"
    assert (await call(http, "DELETE", url, srv.token))[0] == 204
    assert (await call(http, "GET", url, srv.token))[0] == 404
