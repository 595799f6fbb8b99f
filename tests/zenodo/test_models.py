"""Response models parse what zenodo.org really sends, including keys and types they do not use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zenodo_atlas.zenodo.models import BucketObject, Deposition, DepositionFile, Record, RecordFile

RECORDED = Path(__file__).parent / "server" / "recorded"
# zenodo/zenodo#2591 (2025 search hit JSON) and zenodo/zenodo-rdm#682: records holding images or
# PDFs carry `links.thumbnails` as an object of size -> URL, not a string.
THUMBNAILS = {str(n): f"https://zenodo.org/api/iiif/record:7:overview.png/full/^{n},/0/default.jpg"
              for n in (10, 50, 100, 250, 750, 1200)}


def _record_hit() -> dict:
    return {
        "id": 7, "recid": "7", "conceptrecid": "6", "doi": "10.5281/zenodo.7", "title": "A session",
        "created": "2025-01-01T00:00:00+00:00", "updated": "2025-01-01T00:00:00+00:00",
        "metadata": {"title": "A session", "version": "RAW_DATA"},
        "links": {"self": "https://zenodo.org/api/records/7", "thumbnails": THUMBNAILS,
                  "access_links": None, "reserve_doi": "https://zenodo.org/api/records/7/draft/pids/doi"},
        "files": [{"id": "f1", "key": "overview.png", "size": 3, "checksum": "md5:abc",
                   "links": {"self": "https://zenodo.org/api/records/7/files/overview.png/content",
                             "iiif_info": {"width": 100}},
                   "metadata": {"width": 100, "height": 50}, "future_field": [1, 2]}],
        "owners": [{"id": "1"}], "stats": {"downloads": 3}, "swh": {}, "pids": {"doi": {"provider": "datacite"}},
        "a_key_zenodo_adds_next_year": {"nested": [None, 1.5]},
    }


def test_record_with_thumbnails_object_and_unknown_keys_parses():
    record = Record.model_validate(_record_hit())
    assert record.links["self"] == "https://zenodo.org/api/records/7"
    assert "thumbnails" not in record.links
    assert record.file("overview.png").md5 == "abc"
    assert record.file("overview.png").links == {"self": "https://zenodo.org/api/records/7/files/overview.png/content"}
    assert record.model_extra["a_key_zenodo_adds_next_year"] == {"nested": [None, 1.5]}


@pytest.mark.parametrize("model", [Deposition, DepositionFile, BucketObject, RecordFile])
def test_every_response_model_ignores_non_string_links_and_extra_keys(model):
    base = {
        Deposition: {"id": 1},
        DepositionFile: {"id": "x", "filename": "a.zip", "filesize": 1, "checksum": "00"},
        BucketObject: {"key": "a.zip", "size": 1, "checksum": "md5:00"},
        RecordFile: {"key": "a.zip", "size": 1, "checksum": "md5:00"},
    }[model]
    parsed = model.model_validate({**base, "links": {"self": "u", "thumbnails": THUMBNAILS, "n": 3},
                                   "unheard_of": {"x": 1}})
    assert parsed.links == {"self": "u"}
    assert parsed.model_extra["unheard_of"] == {"x": 1}


@pytest.mark.parametrize("name", sorted(p.name for p in RECORDED.glob("*.json")))
def test_recorded_zenodo_responses_parse(name):
    payload = json.loads((RECORDED / name).read_text())
    items = payload if isinstance(payload, list) else [payload]
    for item in items:
        dep = Deposition.model_validate(item)
        assert dep.id == item["id"]
        assert len(dep.files) == len(item.get("files", []))
