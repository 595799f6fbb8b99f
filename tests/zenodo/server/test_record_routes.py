"""Records API: Zenodo-JSON records, search, versions, downloads with ranges, access rules."""

from __future__ import annotations

import hashlib

from tests.zenodo.server.support import METADATA, action, call, create, new_version, published, upload

URN = METADATA["related_identifiers"][0]["identifier"]
RECORD_KEYS = {"id", "recid", "conceptrecid", "doi", "conceptdoi", "doi_url", "created", "updated", "modified",
               "owners", "status", "state", "submitted", "title", "metadata", "links", "files", "revision"}


async def test_record_is_zenodo_json(zenodo_server, http):
    done = await published(http, zenodo_server)
    status, rec = await call(http, "GET", f"{zenodo_server.api_url}/records/{done['id']}")
    assert status == 200
    assert set(rec) >= RECORD_KEYS
    assert rec["id"] == done["id"] and rec["recid"] == str(done["id"])
    assert rec["conceptrecid"] == done["conceptrecid"] and rec["status"] == "published"
    assert rec["owners"] == [{"id": "1"}]
    meta = rec["metadata"]
    assert meta["license"] == {"id": "cc-by-4.0"}
    assert meta["resource_type"] == {"title": "Dataset", "type": "dataset"}
    assert meta["alternate_identifiers"] == [{"identifier": URN, "scheme": "urn"}]
    assert meta["communities"] == [{"id": "seatizen-data"}]
    assert meta["relations"]["version"] == [
        {"index": 0, "is_last": True, "parent": {"pid_type": "recid", "pid_value": done["conceptrecid"]}}
    ]
    assert {"self", "self_html", "doi", "parent", "parent_doi", "files", "latest", "latest_html",
            "versions"} <= set(rec["links"])
    [entry] = rec["files"]
    assert set(entry) == {"id", "key", "size", "checksum", "links"}
    assert entry["checksum"] == f"md5:{hashlib.md5(b'a,b' + bytes([10]) + b'1,2' + bytes([10])).hexdigest()}"
    assert entry["links"]["self"] == f"{zenodo_server.api_url}/records/{done['id']}/files/data.csv/content"


async def test_unknown_record_is_404_with_rdm_message(zenodo_server, http):
    status, body = await call(http, "GET", f"{zenodo_server.api_url}/records/999999")
    assert (status, body) == (404, {"status": 404, "message": "The persistent identifier does not exist."})


async def test_draft_is_not_a_record_yet(zenodo_server, http):
    dep = await create(http, zenodo_server)
    status, body = await call(http, "GET", f"{zenodo_server.api_url}/records/{dep['id']}", zenodo_server.token)
    assert status == 404 and body["message"] == "The persistent identifier is not registered."


async def test_concept_id_resolves_to_latest_and_versions_list_all(zenodo_server, http):
    srv = zenodo_server
    v1 = await published(http, srv)
    v2 = await new_version(http, srv, v1["id"], {**METADATA, "version": "PROCESSED_DATA"}, {"b.zip": b"B"})
    _, by_concept = await call(http, "GET", f"{srv.api_url}/records/{v1['conceptrecid']}")
    assert by_concept["id"] == v2["id"]
    status, versions = await call(http, "GET", f"{srv.api_url}/records/{v1['id']}/versions")
    assert status == 200 and versions["hits"]["total"] == 2
    assert [h["id"] for h in versions["hits"]["hits"]] == [v2["id"], v1["id"]]
    _, old = await call(http, "GET", f"{srv.api_url}/records/{v1['id']}")
    assert old["metadata"]["relations"]["version"][0] | {"parent": None} == {"index": 0, "is_last": False,
                                                                            "parent": None}


async def test_latest_redirects_302(zenodo_server, http):
    srv = zenodo_server
    v1 = await published(http, srv)
    v2 = await new_version(http, srv, v1["id"], METADATA, {"b.zip": b"B"})
    status, _ = await call(http, "GET", v1["links"]["latest"])
    assert status == 302
    async with http.get(v1["links"]["latest"], allow_redirects=False) as response:
        assert response.headers["Location"] == f"{srv.api_url}/records/{v2['id']}"
    async with http.get(v1["links"]["latest"]) as response:
        assert (await response.json())["id"] == v2["id"]


async def test_search_by_predecessor_identifier_query(zenodo_server, http):
    srv = zenodo_server
    done = await published(http, srv)
    await published(http, srv, {**METADATA, "title": "Other", "related_identifiers": [
        {"identifier": "urn:other", "relation": "isPartOf"}]})
    q = f'metadata.identifiers.identifier:"{URN}" metadata.related_identifiers.identifier:"{URN}"'
    status, page = await call(http, "GET", f"{srv.api_url}/records", params={"q": q})
    assert status == 200 and [h["id"] for h in page["hits"]["hits"]] == [done["id"]]
    _, related = await call(http, "GET", f"{srv.api_url}/records",
                            params={"q": 'metadata.related_identifiers.identifier:"urn:other"'})
    assert [h["title"] for h in related["hits"]["hits"]] == ["Other"]


async def test_search_fields_and_operators(zenodo_server, http):
    srv = zenodo_server
    a = await published(http, srv, {**METADATA, "title": "Reef survey Hermitage", "keywords": ["coral"]})
    b = await published(http, srv, {**METADATA, "title": "Lagoon survey", "keywords": ["seagrass"],
                                    "related_identifiers": []})

    async def ids(q: str) -> list[int]:
        status, page = await call(http, "GET", f"{srv.api_url}/records", params={"q": q, "sort": "oldest"})
        assert status == 200, page
        return [h["id"] for h in page["hits"]["hits"]]

    assert await ids("survey") == [a["id"], b["id"]]
    assert await ids('title:"Lagoon survey"') == [b["id"]]
    assert await ids("keywords:coral OR keywords:seagrass") == [a["id"], b["id"]]
    assert await ids("survey AND keywords:seagrass") == [b["id"]]
    assert await ids("survey AND NOT keywords:seagrass") == [a["id"]]
    assert await ids(f"recid:{a['id']}") == [a["id"]]
    assert await ids(f"conceptrecid:{b['conceptrecid']}") == [b["id"]]
    assert await ids(f'doi:"{b["doi"]}"') == [b["id"]]
    assert await ids(f'conceptdoi:"{a["conceptdoi"]}"') == [a["id"]]
    assert await ids("title:Lag*") == [b["id"]]
    assert await ids("(keywords:coral OR keywords:none) AND title:reef") == [a["id"]]


async def test_search_ranges_on_dates(zenodo_server, http):
    srv = zenodo_server
    old = await published(http, srv, {**METADATA, "publication_date": "2019-05-01"})
    new = await published(http, srv, {**METADATA, "publication_date": "2024-05-01"})
    _, page = await call(http, "GET", f"{srv.api_url}/records", params={"q": "publication_date:[2020-01-01 TO *]"})
    assert [h["id"] for h in page["hits"]["hits"]] == [new["id"]]
    _, page = await call(http, "GET", f"{srv.api_url}/records", params={"q": "publication_date:{* TO 2019-05-01]"})
    assert [h["id"] for h in page["hits"]["hits"]] == [old["id"]]
    _, page = await call(http, "GET", f"{srv.api_url}/records", params={"q": f"updated:[{new['created']} TO *]"})
    assert [h["id"] for h in page["hits"]["hits"]] == [new["id"]]


async def test_search_sorts_and_pagination_links(zenodo_server, http):
    srv = zenodo_server
    made = [await published(http, srv, {**METADATA, "title": f"T{i}"}) for i in range(3)]
    url = f"{srv.api_url}/records"
    _, newest = await call(http, "GET", url, params={"sort": "mostrecent"})
    assert [h["id"] for h in newest["hits"]["hits"]] == [m["id"] for m in reversed(made)]
    for sort in ("-mostrecent", "oldest"):
        _, oldest = await call(http, "GET", url, params={"sort": sort})
        assert [h["id"] for h in oldest["hits"]["hits"]] == [m["id"] for m in made]
    _, first = await call(http, "GET", url, params={"size": 2, "sort": "oldest", "q": "T0 OR T1 OR T2"})
    assert first["hits"]["total"] == 3 and len(first["hits"]["hits"]) == 2
    assert "next" in first["links"] and "prev" not in first["links"]
    async with http.get(first["links"]["next"]) as response:
        second = await response.json()
    assert [h["id"] for h in second["hits"]["hits"]] == [made[2]["id"]]
    assert "prev" in second["links"] and "next" not in second["links"]
    status, body = await call(http, "GET", url, params={"sort": "random"})
    assert status == 400 and "sort" in body["message"]
    status, body = await call(http, "GET", url, params={"q": 'title:"unclosed'})
    assert status == 400 and body["status"] == 400


async def test_search_without_all_versions_shows_latest_only(zenodo_server, http):
    srv = zenodo_server
    v1 = await published(http, srv)
    v2 = await new_version(http, srv, v1["id"], {**METADATA, "version": "PROCESSED_DATA"}, {"b.zip": b"B"})
    url = f"{srv.api_url}/records"
    _, latest = await call(http, "GET", url, params={"q": f"conceptrecid:{v1['conceptrecid']}"})
    assert [h["id"] for h in latest["hits"]["hits"]] == [v2["id"]]
    _, every = await call(http, "GET", url, params={"q": f"conceptrecid:{v1['conceptrecid']}",
                                                    "all_versions": "true", "sort": "-version"})
    assert [h["id"] for h in every["hits"]["hits"]] == [v1["id"], v2["id"]]
    _, by_version = await call(http, "GET", url, params={"all_versions": "1", "sort": "version"})
    assert [h["id"] for h in by_version["hits"]["hits"]] == [v2["id"], v1["id"]]


async def test_communities_filter_and_endpoint(zenodo_server, http):
    srv = zenodo_server
    inside = await published(http, srv)
    await published(http, srv, {**METADATA, "communities": [{"identifier": "elsewhere"}]})
    _, page = await call(http, "GET", f"{srv.api_url}/records", params={"communities": "seatizen-data"})
    assert [h["id"] for h in page["hits"]["hits"]] == [inside["id"]]
    status, page = await call(http, "GET", f"{srv.api_url}/communities/seatizen-data/records")
    assert status == 200 and [h["id"] for h in page["hits"]["hits"]] == [inside["id"]]
    _, empty = await call(http, "GET", f"{srv.api_url}/communities/nobody/records")
    assert empty["hits"] == {"hits": [], "total": 0}


async def test_files_list_and_entry(zenodo_server, http):
    done = await published(http, zenodo_server, files={"a.txt": b"AAA", "b.txt": b"BB"})
    status, files = await call(http, "GET", f"{zenodo_server.api_url}/records/{done['id']}/files")
    assert status == 200 and files["enabled"] is True
    assert [(e["key"], e["size"]) for e in files["entries"]] == [("a.txt", 3), ("b.txt", 2)]
    assert files["entries"][0]["checksum"] == f"md5:{hashlib.md5(b'AAA').hexdigest()}"
    status, entry = await call(http, "GET", files["entries"][1]["links"]["self"])
    assert status == 200 and entry["key"] == "b.txt"
    status, body = await call(http, "GET", f"{zenodo_server.api_url}/records/{done['id']}/files/zzz/content")
    assert status == 404 and body["status"] == 404


async def test_download_headers_and_range(zenodo_server, http):
    data = bytes(range(256)) * 40
    done = await published(http, zenodo_server, files={"blob.bin": data})
    url = f"{zenodo_server.api_url}/records/{done['id']}/files/blob.bin/content"
    md5 = hashlib.md5(data).hexdigest()
    async with http.get(url) as response:
        assert response.status == 200 and await response.read() == data
        assert response.headers["ETag"] == f'"md5:{md5}"' and response.headers["Content-MD5"] == md5
        assert response.headers["Content-Length"] == str(len(data))
    async with http.get(url, headers={"Range": "bytes=100-199"}) as response:
        assert response.status == 206 and await response.read() == data[100:200]
        assert response.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
        assert response.headers["Content-Length"] == "100"
    async with http.get(url, headers={"Range": "bytes=10000-"}) as response:
        assert response.status == 206 and await response.read() == data[10000:]
    async with http.get(url, headers={"Range": "bytes=-5"}) as response:
        assert response.status == 206 and await response.read() == data[-5:]
    async with http.get(url, headers={"Range": f"bytes={len(data)}-"}) as response:
        assert response.status == 416 and (await response.json())["status"] == 416


async def test_restricted_files_only_for_owner_metadata_public(zenodo_server, http):
    srv = zenodo_server
    meta = {**{k: v for k, v in METADATA.items() if k != "license"}, "access_right": "restricted",
            "access_conditions": "Ask the PI."}
    done = await published(http, srv, meta, {"secret.bin": b"s3cret"})
    url = f"{srv.api_url}/records/{done['id']}/files/secret.bin/content"
    _, public = await call(http, "GET", f"{srv.api_url}/records/{done['id']}")
    assert public["title"] == METADATA["title"] and public["files"] == []
    for token in (None, srv.other_token):
        status, body = await call(http, "GET", url, token)
        assert status == 403 and body["status"] == 403
    assert await call(http, "GET", url, srv.token) == (200, "s3cret")
    _, owned = await call(http, "GET", f"{srv.api_url}/records/{done['id']}", srv.token)
    assert [f["key"] for f in owned["files"]] == ["secret.bin"]


async def test_draft_file_content_only_for_owner(zenodo_server, http):
    srv = zenodo_server
    dep = await create(http, srv)
    await upload(http, srv, dep, "d.txt", b"draft")
    _, dep = await call(http, "GET", dep["links"]["self"], srv.token)
    link = dep["files"][0]["links"]["download"]
    assert await call(http, "GET", link, srv.token) == (200, "draft")
    assert (await call(http, "GET", link, srv.other_token))[0] == 403
    assert (await call(http, "GET", link))[0] == 403


async def test_edit_draft_metadata_does_not_leak_into_record(zenodo_server, http):
    srv = zenodo_server
    done = await published(http, srv)
    await action(http, srv, done["id"], "edit")
    await call(http, "PUT", f"{srv.api_url}/deposit/depositions/{done['id']}", srv.token,
               json={"metadata": {**METADATA, "title": "Not yet"}})
    _, page = await call(http, "GET", f"{srv.api_url}/records", params={"q": 'title:"Not yet"'})
    assert page["hits"]["total"] == 0


async def test_record_landing_page_is_html_so_record_links_work(zenodo_server, http):
    done = await published(http, zenodo_server)
    _, rec = await call(http, "GET", f"{zenodo_server.api_url}/records/{done['id']}")
    async with http.get(rec["links"]["self_html"]) as response:
        assert response.status == 200 and response.content_type == "text/html"
        page = await response.text()
    assert f"<h1>{rec['metadata']['title']}</h1>" in page and f"https://doi.org/{rec['doi']}" in page
    assert rec["files"][0]["links"]["self"] in page and rec["files"][0]["key"] in page
    async with http.get(f"{zenodo_server.api_url.removesuffix('/api')}/records/999999") as missing:
        assert missing.status == 404 and missing.content_type == "text/html"


async def test_predecessor_metadata_null_communities_and_identifier_schemes(zenodo_server, http):
    # The predecessor sends `communities: null` when its JSON names none, and reads `scheme` back.
    done = await published(http, zenodo_server, {
        **METADATA, "communities": None,
        "related_identifiers": [
            *METADATA["related_identifiers"],
            {"identifier": "https://zenodo.org/doi/10.5281/zenodo.11125847", "relation": "isMetadataFor",
             "resource_type": "dataset"},
        ],
    })
    _, rec = await call(http, "GET", f"{zenodo_server.api_url}/records/{done['id']}")
    assert "communities" not in rec["metadata"]
    assert rec["metadata"]["alternate_identifiers"] == [{"identifier": URN, "scheme": "urn"}]
    assert [r["scheme"] for r in rec["metadata"]["related_identifiers"]] == ["url"]
