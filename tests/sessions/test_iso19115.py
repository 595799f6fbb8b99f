from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from tests.sessions.helpers import gps_columns
from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.iso19115 import iso19115_xml, write_iso19115
from zenodo_atlas.sessions.metadata import build_processed_metadata
from zenodo_atlas.sessions.session import Session

NS = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco",
      "gml": "http://www.opengis.net/gml/3.2"}





def _document(sample_session: Path, template, people) -> tuple[Session, ET.Element, str]:
    session = Session.open(sample_session)
    meta = build_processed_metadata(session, template, people, today=date(2026, 11, 22))
    text = iso19115_xml(session, meta)
    return session, ET.fromstring(text.encode("utf-8")), text


def test_document_identifies_the_session(sample_session: Path, template, people):
    session, root, text = _document(sample_session, template, people)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert root.tag == f"{{{NS['gmd']}}}MD_Metadata"
    assert root.findtext("gmd:fileIdentifier/gco:CharacterString", namespaces=NS) == f"urn:{session.name.raw}"
    assert root.find("gmd:hierarchyLevel/gmd:MD_ScopeCode", NS).get("codeListValue") == "dataset"
    ident = root.find("gmd:identificationInfo/gmd:MD_DataIdentification", NS)
    title = ident.findtext("gmd:citation/gmd:CI_Citation/gmd:title/gco:CharacterString", namespaces=NS)
    assert title == "Underwater images collected by an Autonomous Surface Vehicle in St-Leu, Réunion - 2023-10-21"
    keywords = [k.text for k in ident.findall(".//gmd:keyword/gco:CharacterString", NS)]
    assert {"Réunion", "Seatizen", "ASV"} <= set(keywords)
    abstract = ident.findtext("gmd:abstract/gco:CharacterString", namespaces=NS)
    assert session.name.raw in abstract and "<" not in abstract
    roles = [r.get("codeListValue") for r in root.findall("gmd:contact//gmd:role/gmd:CI_RoleCode", NS)]
    assert roles[:2] == ["author", "author"]
    assert [t.text for t in ident.findall("gmd:topicCategory/gmd:MD_TopicCategoryCode", NS)] == [
        "oceans", "environment"]


def test_extent_matches_the_frames(sample_session: Path, template, people):
    _, root, _ = _document(sample_session, template, people)
    lats, lons = gps_columns(sample_session)
    box = root.find(".//gmd:EX_GeographicBoundingBox", NS)

    def bound(tag: str) -> float:
        return float(box.findtext(f"gmd:{tag}/gco:Decimal", namespaces=NS))

    assert bound("westBoundLongitude") == pytest.approx(min(lons), abs=1e-6)
    assert bound("eastBoundLongitude") == pytest.approx(max(lons), abs=1e-6)
    assert bound("southBoundLatitude") == pytest.approx(min(lats), abs=1e-6)
    assert bound("northBoundLatitude") == pytest.approx(max(lats), abs=1e-6)
    begin = root.findtext(".//gml:TimePeriod/gml:beginPosition", namespaces=NS)
    end = root.findtext(".//gml:TimePeriod/gml:endPosition", namespaces=NS)
    assert date.fromisoformat(begin) <= date.fromisoformat(end)
    assert begin == "2023-10-21"


def test_write_creates_then_replaces_the_file(sample_session: Path, template, people):
    session = Session.open(sample_session)
    meta = build_processed_metadata(session, template, people)
    path = write_iso19115(session, meta)
    assert path == sample_session / "METADATA" / f"{session.name.raw}_iso_19115.xml"
    path.write_text("stale", encoding="utf-8")
    assert write_iso19115(session, meta.model_copy(update={"title": "New & <title>"})) == path
    root = ET.parse(path).getroot()
    assert root.findtext(".//gmd:CI_Citation/gmd:title/gco:CharacterString", namespaces=NS) == "New & <title>"
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_session_without_gps_is_refused(sample_session: Path, template, people):
    csv_path = sample_session / "METADATA" / "metadata.csv"
    with csv_path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)
    for row in rows:
        row["GPSLatitude"], row["GPSLongitude"] = "", "nan"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    session = Session.open(sample_session)
    meta = build_processed_metadata(session, template, people)
    with pytest.raises(SessionError, match="no usable GPS"):
        write_iso19115(session, meta)
    assert not (sample_session / "METADATA" / f"{session.name.raw}_iso_19115.xml").exists()
