"""Where zenodo.org answers differently from what one would guess, the local server answers like it.

Each test names its source: zenodo-rdm file, InvenioRDM library, or the public issue thread that
shows the behaviour (see shared/reference/zenodo-observed.md).
"""

from __future__ import annotations

import json

from tests.zenodo.server.support import METADATA, action, call, create, published, upload

NO_CONTENT_TYPE = {"skip_auto_headers": ("Content-Type",)}


async def test_json_bodies_without_content_type_are_read_as_json(zenodo_server, http):
    # flask-resources parsers/decorators.py request_body_parser falls back to default_content_type
    # (application/json); zenodo-rdm legacy/resources.py. zenodopy create_project/change_metadata.
    srv = zenodo_server
    status, dep = await call(http, "POST", f"{srv.api_url}/deposit/depositions", srv.token,
                             data=b"{}", **NO_CONTENT_TYPE)
    assert status == 201 and dep["state"] == "unsubmitted"
    body = json.dumps({"metadata": {"title": "t", "upload_type": "other", "description": "d"}}).encode()
    status, updated = await call(http, "PUT", dep["links"]["self"], srv.token, data=body, **NO_CONTENT_TYPE)
    assert status == 200 and updated["metadata"]["title"] == "t"


async def test_declared_non_json_content_type_is_still_415(zenodo_server, http):
    srv = zenodo_server
    status, _ = await call(http, "POST", f"{srv.api_url}/deposit/depositions", srv.token,
                           data=b"{}", headers={"Content-Type": "text/plain"})
    assert status == 415


async def test_quickstart_metadata_publishes_without_license_or_access_right(zenodo_server, http):
    # zenodo-rdm site/tests/legacy/test_quickstart.py: no license, no access_right -> 202
    # (legacy/deserializers/schemas.py sets no default licence; RDM rights are optional).
    quickstart = {"title": "My first upload", "upload_type": "poster",
                  "description": "This is my first upload", "creators": [{"name": "Doe, John"}]}
    done = await published(http, zenodo_server, quickstart)
    assert done["state"] == "done" and "license" not in done["metadata"]
    assert done["metadata"]["access_right"] == "open"


async def test_closed_access_reads_back_as_restricted(zenodo_server, http):
    # zenodo-rdm legacy/deserializers/schemas.py _access (closed -> files restricted) and
    # legacy/serializers/schemas/common.py dump_access_right (open/restricted/embargoed only).
    dep = await create(http, zenodo_server, {**METADATA, "access_right": "closed"})
    assert dep["metadata"]["access_right"] == "restricted"


async def test_related_identifiers_come_back_with_their_scheme(zenodo_server, http):
    # zenodo-rdm legacy/serializers/schemas/common.py dumps related_identifiers with `scheme`
    # (the predecessor's download reads it: predecessor-spec.md).
    related = [{"identifier": "urn:S1", "relation": "isAlternateIdentifier"},
               {"identifier": "10.5281/zenodo.5", "relation": "isPartOf"},
               {"identifier": "https://example.org/x", "relation": "references"}]
    dep = await create(http, zenodo_server, {**METADATA, "related_identifiers": related})
    assert [r["scheme"] for r in dep["metadata"]["related_identifiers"]] == ["urn", "doi", "url"]


async def test_null_communities_mean_none(zenodo_server, http):
    # The legacy deserializer's list fields allow None (zenodo-rdm legacy/deserializers/schemas.py).
    dep = await create(http, zenodo_server, {**METADATA, "communities": None})
    assert "communities" not in dep["metadata"]


async def test_slash_in_bucket_key_is_404(zenodo_server, http):
    # Files-REST route '/<bucket_id>/<key>' has no path converter
    # (zenodo-rdm legacy/resources.py LegacyFilesRESTResourceConfig.routes).
    dep = await create(http, zenodo_server)
    status, _ = await upload(http, zenodo_server, dep, "dir/file.txt", b"x")
    assert status == 404


async def test_unquoted_slash_in_doi_query_is_refused_and_quoted_works(zenodo_server, http):
    # '/' starts a Lucene regex: pyzenodo3 base.py ("zenodo can't handle / in search query").
    done = await published(http, zenodo_server)
    url = f"{zenodo_server.api_url}/records"
    status, _ = await call(http, "GET", url, params={"q": f"doi:{done['doi']}"})
    assert status == 400
    status, page = await call(http, "GET", url, params={"q": f'doi:"{done["doi"]}"'})
    assert status == 200 and [h["id"] for h in page["hits"]["hits"]] == [done["id"]]


async def test_latest_draft_of_published_deposition_points_to_itself(zenodo_server, http):
    # zenodo-rdm site/zenodo_rdm/legacy/services.py links_item; recorded zenodraft 131.json.
    done = await published(http, zenodo_server)
    status, draft = await action(http, zenodo_server, done["id"], "newversion")
    assert status == 201 and draft["id"] != done["id"]
    _, again = await call(http, "GET", f"{zenodo_server.api_url}/deposit/depositions/{done['id']}",
                          zenodo_server.token)
    assert again["links"]["latest_draft"].endswith(f"/deposit/depositions/{done['id']}")


async def test_community_inclusion_waits_for_the_curator(zenodo_server, http):
    # A community-submission request needs a curator's acceptance; legacy publish swallows inclusion
    # errors and still publishes (zenodo-rdm site/zenodo_rdm/legacy/services.py; zenodo-observed.md).
    srv = zenodo_server
    own = await published(http, srv)  # owner 1 names seatizen-data first: it is theirs, included at once
    theirs = await published(http, srv, {**METADATA, "title": "From someone else"}, token=srv.other_token)
    assert theirs["state"] == "done"
    listing = f"{srv.api_url}/communities/seatizen-data/records"

    async def listed() -> set[int]:
        _, page = await call(http, "GET", listing)
        return {h["id"] for h in page["hits"]["hits"]}

    assert await listed() == {own["id"]}
    _, record = await call(http, "GET", f"{srv.api_url}/records/{theirs['id']}")
    assert "communities" not in record["metadata"]
    assert (await call(http, "GET", f"{srv.api_url}/requests", srv.other_token))[1]["hits"]["total"] == 0
    _, open_requests = await call(http, "GET", f"{srv.api_url}/requests", srv.token)
    [pending] = open_requests["hits"]["hits"]
    assert pending["receiver"] == {"community": "seatizen-data"} and pending["topic"]["record"] == str(theirs["id"])
    assert (await call(http, "POST", pending["links"]["actions"]["accept"], srv.other_token))[0] == 403
    status, accepted = await call(http, "POST", pending["links"]["actions"]["accept"], srv.token)
    assert status == 200 and accepted["status"] == "accepted"
    assert await listed() == {own["id"], theirs["id"]}
    _, record = await call(http, "GET", f"{srv.api_url}/records/{theirs['id']}")
    assert record["metadata"]["communities"] == [{"id": "seatizen-data"}]
