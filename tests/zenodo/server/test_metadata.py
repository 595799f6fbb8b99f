"""Metadata rules: normalisation on PUT, publish requirements, werkzeug-style file keys."""

from __future__ import annotations

from datetime import date

import pytest

from zenodo_atlas.zenodo.server import metadata as md
from zenodo_atlas.zenodo.server.responses import FieldErrors


@pytest.mark.parametrize(("name", "key"), [
    ("report.pdf", "report.pdf"),
    ("my file (1).csv", "my_file_1.csv"),
    ("../../etc/passwd", "etc_passwd"),
    ("Ünïcödé naïve.txt", "Unicode_naive.txt"),
    ("  .hidden ", "hidden"),
    ("日本", ""),
])
def test_secure_filename(name, key):
    assert md.secure_filename(name) == key


def test_normalise_lowercases_license_defaults_access_and_fills_affiliation():
    out = md.normalise({"license": "CC-BY-4.0", "creators": [{"name": "Doe, J", "orcid": "0000"}]})
    assert out == {"license": "cc-by-4.0", "access_right": "open",
                   "creators": [{"name": "Doe, J", "affiliation": None, "orcid": "0000"}]}


def test_normalise_drops_server_fields_but_keeps_external_doi():
    out = md.normalise({"prereserve_doi": True, "imprint_publisher": "X", "doi": "10.1/abc"})
    assert out == {"doi": "10.1/abc", "access_right": "open"}


def test_normalise_reports_every_bad_field():
    with pytest.raises(FieldErrors) as caught:
        md.normalise({"creators": [{"affiliation": "x"}], "keywords": "a,b", "access_right": "secret",
                      "embargo_date": "soon", "title": 3})
    assert {e["field"] for e in caught.value.errors} == {
        "metadata.creators.0.name", "metadata.keywords", "metadata.access_right", "metadata.embargo_date",
        "metadata.title"}


def test_publication_date_defaults_to_today_only_when_missing():
    today = date(2026, 1, 2)
    assert md.with_publication_date({}, today) == {"publication_date": "2026-01-02"}
    assert md.with_publication_date({"publication_date": "2020-01-01"}, today)["publication_date"] == "2020-01-01"


def test_publish_problems():
    assert set(md.publish_problems({"access_right": "embargoed"}, 0)) == {
        "metadata.upload_type", "metadata.title", "metadata.creators", "metadata.description",
        "metadata.embargo_date", "files.enabled"}
    complete = {"upload_type": "dataset", "title": "t", "creators": [{"name": "n"}], "description": "d",
                "access_right": "closed"}
    assert md.publish_problems(complete, 1) == {}
