"""Legacy deposit API: statuses, bodies and the zenodo-rdm quirks clients depend on."""

from __future__ import annotations

import hashlib
from datetime import date

import aiohttp

from tests.zenodo.server.support import METADATA, action, call, create, new_version, published, upload


async def test_create_empty_gives_draft_with_bucket_and_concept_plus_one(zenodo_server, http):
    dep = await create(http, zenodo_server)
    assert dep["state"] == "unsubmitted" and dep["submitted"] is False
    assert isinstance(dep["conceptrecid"], str)
    assert dep["id"] == int(dep["conceptrecid"]) + 1 == dep["record_id"]
    assert dep["links"]["bucket"].startswith(f"{zenodo_server.api_url}/files/")
    assert dep["metadata"] == {
        "access_right": "open",
        "prereserve_doi": {"doi": f"10.5072/zenodo.{dep['id']}", "recid": dep["id"]},
    }
    assert dep["title"] == "" and dep["owner"] == 1 and dep["files"] == []


async def test_ids_increase_across_depositions(zenodo_server, http):
    first, second = await create(http, zenodo_server), await create(http, zenodo_server)
    assert int(second["conceptrecid"]) > first["id"]
    assert second["id"] == int(second["conceptrecid"]) + 1


async def test_create_with_metadata_echoes_it_normalised(zenodo_server, http):
    dep = await create(http, zenodo_server, METADATA)
    meta = dep["metadata"]
    assert meta["license"] == "cc-by-4.0"
    assert meta["imprint_publisher"] == "Zenodo"
    assert meta["publication_date"] == date.today().isoformat()
    assert meta["creators"] == [{"name": "Doe, Jane", "affiliation": "Ifremer"}]
    assert dep["title"] == METADATA["title"]


async def test_create_rejects_unknown_top_level_key(zenodo_server, http):
    status, body = await call(http, "POST", f"{zenodo_server.api_url}/deposit/depositions",
                              zenodo_server.token, json={"metadata": {}, "files": []})
    assert status == 400
    assert body["message"] == "A validation error occurred."
    assert body["errors"] == [{"field": "files", "messages": ["Unknown field."]}]


async def test_create_rejects_unknown_metadata_field_and_bad_values(zenodo_server, http):
    bad = {"title": "x", "colour": "blue", "upload_type": "novel", "publication_date": "22/11/2026"}
    status, body = await call(http, "POST", f"{zenodo_server.api_url}/deposit/depositions",
                              zenodo_server.token, json={"metadata": bad})
    assert status == 400
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"metadata.colour", "metadata.upload_type", "metadata.publication_date"}


async def test_create_with_wrong_content_type_is_415(zenodo_server, http):
    status, body = await call(http, "POST", f"{zenodo_server.api_url}/deposit/depositions",
                              zenodo_server.token, data="{}", headers={"Content-Type": "text/plain"})
    assert status == 415
    assert body["status"] == 415 and "application/json" in body["message"]


async def test_create_with_invalid_json_is_400(zenodo_server, http):
    status, body = await call(http, "POST", f"{zenodo_server.api_url}/deposit/depositions",
                              zenodo_server.token, data="{nope", headers={"Content-Type": "application/json"})
    assert status == 400 and "not valid JSON" in body["message"]


async def test_get_one_has_bucket_and_list_has_none(zenodo_server, http):
    dep = await create(http, zenodo_server, METADATA)
    status, one = await call(http, "GET", dep["links"]["self"], zenodo_server.token)
    assert status == 200 and "bucket" in one["links"]
    status, listed = await call(http, "GET", f"{zenodo_server.api_url}/deposit/depositions", zenodo_server.token)
    assert status == 200 and isinstance(listed, list)
    assert [d["id"] for d in listed] == [dep["id"]]
    assert "bucket" not in listed[0]["links"]


async def test_list_filters_by_query_status_and_versions(zenodo_server, http):
    srv = zenodo_server
    done = await published(http, srv)
    other = await create(http, srv, {**METADATA, "title": "Another survey", "related_identifiers": []})
    v2 = await new_version(http, srv, done["id"], {**METADATA, "version": "PROCESSED_DATA"}, {"p.zip": b"p"})
    url = f"{srv.api_url}/deposit/depositions"

    _, found = await call(http, "GET", url, srv.token, params={"q": f"conceptrecid:{done['conceptrecid']}",
                                                               "all_versions": "true"})
    assert sorted(d["id"] for d in found) == sorted([done["id"], v2["id"]])
    _, latest = await call(http, "GET", url, srv.token, params={"q": f"conceptrecid:{done['conceptrecid']}"})
    assert [d["id"] for d in latest] == [v2["id"]]
    _, drafts = await call(http, "GET", url, srv.token, params={"status": "draft"})
    assert [d["id"] for d in drafts] == [other["id"]]
    _, titled = await call(http, "GET", url, srv.token, params={"q": 'title:"Another survey"'})
    assert [d["id"] for d in titled] == [other["id"]]
    _, oldest_first = await call(http, "GET", url, srv.token, params={"sort": "-mostrecent", "all_versions": 1})
    assert [d["id"] for d in oldest_first] == [done["id"], other["id"], v2["id"]]
    _, one = await call(http, "GET", url, srv.token, params={"size": 1, "page": 2, "all_versions": 1})
    assert [d["id"] for d in one] == [other["id"]]


async def test_list_rejects_bad_parameters(zenodo_server, http):
    url = f"{zenodo_server.api_url}/deposit/depositions"
    for params in ({"size": 101}, {"status": "gone"}, {"sort": "alphabetical"}, {"page": "x"}):
        status, body = await call(http, "GET", url, zenodo_server.token, params=params)
        assert status == 400, params
        assert body["status"] == 400 and body["message"]


async def test_list_shows_only_own_depositions(zenodo_server, http):
    await create(http, zenodo_server)
    _, listed = await call(http, "GET", f"{zenodo_server.api_url}/deposit/depositions", zenodo_server.other_token)
    assert listed == []


async def test_put_replaces_all_metadata_and_defaults_publication_date(zenodo_server, http):
    dep = await create(http, zenodo_server, METADATA)
    status, updated = await call(http, "PUT", dep["links"]["self"], zenodo_server.token,
                                 json={"metadata": {"title": "Only a title"}})
    assert status == 200
    meta = updated["metadata"]
    assert meta["title"] == "Only a title"
    assert "keywords" not in meta and "creators" not in meta
    assert meta["publication_date"] == date.today().isoformat()
    assert meta["access_right"] == "open"


async def test_put_keeps_given_publication_date_and_needs_metadata(zenodo_server, http):
    dep = await create(http, zenodo_server)
    _, updated = await call(http, "PUT", dep["links"]["self"], zenodo_server.token,
                            json={"metadata": {**METADATA, "publication_date": "2020-02-02"}})
    assert updated["metadata"]["publication_date"] == "2020-02-02"
    status, body = await call(http, "PUT", dep["links"]["self"], zenodo_server.token, json={})
    assert status == 400 and body["errors"][0]["field"] == "metadata"


async def test_delete_draft_then_again_404_and_published_403(zenodo_server, http):
    dep = await create(http, zenodo_server)
    assert (await call(http, "DELETE", dep["links"]["self"], zenodo_server.token)) == (204, None)
    status, body = await call(http, "DELETE", dep["links"]["self"], zenodo_server.token)
    assert status == 404 and body["status"] == 404
    done = await published(http, zenodo_server)
    status, body = await call(http, "DELETE", f"{zenodo_server.api_url}/deposit/depositions/{done['id']}",
                              zenodo_server.token)
    assert status == 403 and body["status"] == 403


async def test_legacy_file_upload_list_get_delete(zenodo_server, http):
    srv = zenodo_server
    dep = await create(http, srv, METADATA)
    form = aiohttp.FormData()
    form.add_field("name", "my data/é file.csv")
    form.add_field("file", b"x,y\n", filename="ignored.csv", content_type="text/csv")
    status, stored = await call(http, "POST", dep["links"]["files"], srv.token, data=form)
    assert status == 201
    assert stored["filename"] == "my_data_e_file.csv"
    assert stored["filesize"] == 4 and stored["checksum"] == hashlib.md5(b"x,y\n").hexdigest()
    assert set(stored) == {"id", "filename", "filesize", "checksum", "links"}
    assert set(stored["links"]) == {"self", "download"}

    status, listed = await call(http, "GET", dep["links"]["files"], srv.token)
    assert status == 200 and [f["id"] for f in listed] == [stored["id"]]
    status, one = await call(http, "GET", stored["links"]["self"], srv.token)
    assert status == 200 and one == stored
    status, data = await call(http, "GET", stored["links"]["download"], srv.token)
    assert status == 200 and data == "x,y\n"
    assert (await call(http, "DELETE", stored["links"]["self"], srv.token)) == (204, None)
    status, _ = await call(http, "GET", stored["links"]["self"], srv.token)
    assert status == 404


async def test_legacy_upload_without_file_part_is_400(zenodo_server, http):
    dep = await create(http, zenodo_server)
    form = aiohttp.FormData()
    form.add_field("name", "x.csv")
    form.add_field("other", b"1", filename="x.bin")
    status, body = await call(http, "POST", dep["links"]["files"], zenodo_server.token, data=form)
    assert status == 400 and "'file'" in body["message"]


async def test_sort_and_rename_files_are_405(zenodo_server, http):
    dep = await create(http, zenodo_server)
    status, body = await call(http, "PUT", dep["links"]["files"], zenodo_server.token, json=[])
    assert status == 405 and body["status"] == 405
    status, _ = await call(http, "PUT", f"{dep['links']['files']}/abc", zenodo_server.token, json={})
    assert status == 405


async def test_publish_gives_202_done_with_dois_then_404(zenodo_server, http):
    done = await published(http, zenodo_server)
    assert done["state"] == "done" and done["submitted"] is True
    assert done["doi"] == f"10.5072/zenodo.{done['id']}"
    assert done["doi_url"] == f"https://doi.org/{done['doi']}"
    assert done["conceptdoi"] == f"10.5072/zenodo.{done['conceptrecid']}"
    assert done["metadata"]["doi"] == done["doi"]
    assert done["links"]["self"] == f"{zenodo_server.api_url}/records/{done['id']}"
    status, body = await action(http, zenodo_server, done["id"], "publish")
    assert status == 404 and body["status"] == 404


async def test_publish_lists_every_problem(zenodo_server, http):
    dep = await create(http, zenodo_server)
    status, body = await action(http, zenodo_server, dep["id"], "publish")
    assert status == 400
    assert body["message"] == "A validation error occurred."
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"metadata.upload_type", "metadata.title", "metadata.creators", "metadata.description",
                      "files.enabled"}
    assert all(isinstance(e["messages"], list) and e["messages"] for e in body["errors"])


async def test_publish_restricted_needs_no_license(zenodo_server, http):
    meta = {k: v for k, v in METADATA.items() if k != "license"} | {"access_right": "restricted"}
    done = await published(http, zenodo_server, meta)
    assert done["metadata"]["access_right"] == "restricted"


async def test_edit_then_publish_updates_record_in_place(zenodo_server, http):
    srv = zenodo_server
    done = await published(http, srv)
    status, editing = await action(http, srv, done["id"], "edit")
    assert status == 201 and editing["state"] == "inprogress" and editing["submitted"] is True
    assert editing["links"]["self"].endswith(f"/deposit/depositions/{done['id']}")
    assert editing["links"]["bucket"] != done["links"]["bucket"]
    await call(http, "PUT", editing["links"]["self"], srv.token, json={"metadata": {**METADATA, "title": "Fixed"}})
    _, record = await call(http, "GET", f"{srv.api_url}/records/{done['id']}")
    assert record["title"] == METADATA["title"]
    status, again = await action(http, srv, done["id"], "publish")
    assert status == 202 and again["state"] == "done" and again["id"] == done["id"]
    _, record = await call(http, "GET", f"{srv.api_url}/records/{done['id']}")
    assert record["title"] == "Fixed" and record["revision"] == 2


async def test_files_of_edited_record_are_locked(zenodo_server, http):
    done = await published(http, zenodo_server)
    _, editing = await action(http, zenodo_server, done["id"], "edit")
    status, body = await upload(http, zenodo_server, editing, "new.txt", b"new")
    assert status == 403 and "new version" in body["message"]


async def test_discard_edit_gives_204_and_done_again(zenodo_server, http):
    done = await published(http, zenodo_server)
    await action(http, zenodo_server, done["id"], "edit")
    assert (await action(http, zenodo_server, done["id"], "discard")) == (204, None)
    _, dep = await call(http, "GET", f"{zenodo_server.api_url}/deposit/depositions/{done['id']}",
                        zenodo_server.token)
    assert dep["state"] == "done"
    status, _ = await action(http, zenodo_server, done["id"], "discard")
    assert status == 404


async def test_discard_unpublished_draft_removes_it(zenodo_server, http):
    dep = await create(http, zenodo_server)
    assert (await action(http, zenodo_server, dep["id"], "discard")) == (204, None)
    status, _ = await call(http, "GET", dep["links"]["self"], zenodo_server.token)
    assert status == 404


async def test_newversion_returns_new_draft_with_files_and_cleared_fields(zenodo_server, http):
    srv = zenodo_server
    done = await published(http, srv, {**METADATA, "publication_date": "2021-01-01"}, {"a.txt": b"A"})
    status, draft = await action(http, srv, done["id"], "newversion")
    assert status == 201
    assert draft["id"] > done["id"] and draft["conceptrecid"] == done["conceptrecid"]
    assert draft["state"] == "unsubmitted" and "doi" not in draft
    assert draft["links"]["latest_draft"] == draft["links"]["self"]
    assert [f["filename"] for f in draft["files"]] == ["a.txt"]
    assert "publication_date" not in draft["metadata"] and "version" not in draft["metadata"]
    assert draft["metadata"]["title"] == METADATA["title"]
    _, original = await call(http, "GET", f"{srv.api_url}/deposit/depositions/{done['id']}", srv.token)
    # zenodo.org: the published deposition's latest_draft still points at itself while the new
    # version is open (zenodo-rdm site/zenodo_rdm/legacy/services.py links_item; zenodraft 131.json).
    assert original["links"]["latest_draft"] == f"{srv.api_url}/deposit/depositions/{done['id']}"


async def test_second_newversion_with_files_is_400_and_without_files_reuses_draft(zenodo_server, http):
    srv = zenodo_server
    done = await published(http, srv)
    _, draft = await action(http, srv, done["id"], "newversion")
    status, body = await action(http, srv, done["id"], "newversion")
    assert status == 400
    assert body == {"status": 400, "message": "A validation error occurred.",
                    "errors": [{"field": "files.enabled", "messages": ["Please remove all files first."]}]}
    for stored in draft["files"]:
        await call(http, "DELETE", f"{draft['links']['files']}/{stored['id']}", srv.token)
    status, again = await action(http, srv, done["id"], "newversion")
    assert status == 201 and again["id"] == draft["id"]
    assert len(again["files"]) == len(draft["files"])


async def test_newversion_of_unpublished_draft_is_404(zenodo_server, http):
    dep = await create(http, zenodo_server)
    status, body = await action(http, zenodo_server, dep["id"], "newversion")
    assert status == 404 and body["message"] == "The persistent identifier is not registered."


async def test_new_version_publish_makes_it_latest(zenodo_server, http):
    srv = zenodo_server
    done = await published(http, srv)
    v2 = await new_version(http, srv, done["id"], {**METADATA, "version": "PROCESSED_DATA"}, {"b.zip": b"B"})
    assert v2["conceptrecid"] == done["conceptrecid"] and v2["id"] > done["id"]
    _, latest = await call(http, "GET", f"{srv.api_url}/records/{done['conceptrecid']}")
    assert latest["id"] == v2["id"] and latest["metadata"]["version"] == "PROCESSED_DATA"


async def test_other_user_cannot_see_or_change_a_draft(zenodo_server, http):
    srv = zenodo_server
    dep = await create(http, srv, METADATA)
    other = srv.other_token
    for method, url, kwargs in (
        ("GET", dep["links"]["self"], {}),
        ("PUT", dep["links"]["self"], {"json": {"metadata": METADATA}}),
        ("DELETE", dep["links"]["self"], {}),
        ("GET", dep["links"]["files"], {}),
        ("POST", dep["links"]["publish"], {}),
        ("PUT", f"{dep['links']['bucket']}/x.txt", {"data": b"x"}),
        ("GET", dep["links"]["bucket"], {}),
    ):
        status, body = await call(http, method, url, other, **kwargs)
        assert status == 403, (method, url)
        assert body["status"] == 403
    _, still = await call(http, "GET", dep["links"]["self"], srv.token)
    assert still["metadata"]["title"] == METADATA["title"]


async def test_other_user_cannot_version_someone_elses_record(zenodo_server, http):
    done = await published(http, zenodo_server)
    status, _ = await action(http, zenodo_server, done["id"], "newversion", zenodo_server.other_token)
    assert status == 403


async def test_deposit_endpoints_need_a_token(zenodo_server, http):
    url = f"{zenodo_server.api_url}/deposit/depositions"
    for method in ("GET", "POST"):
        status, body = await call(http, method, url, json={} if method == "POST" else None)
        assert status == 403 and body["status"] == 403
