"""An ISO 19115 metadata file (ISO 19139 XML) for a session, as the predecessor wrote before publishing.

Catalogues (GeoNetwork and the like) harvest ISO 19139 rather than Zenodo JSON, so the same
DepositMetadata is rendered here with the session's surveyed bounding box and collection period.
Only the standard library is used: ElementTree escapes every value.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.frames import summarize_frames
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.zenodo.models import DepositMetadata

__all__ = ["iso19115_path", "iso19115_xml", "write_iso19115"]

GMD = "http://www.isotc211.org/2005/gmd"
GCO = "http://www.isotc211.org/2005/gco"
GML = "http://www.opengis.net/gml/3.2"
_CODELISTS = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"

for _prefix, _uri in (("gmd", GMD), ("gco", GCO), ("gml", GML)):
    ET.register_namespace(_prefix, _uri)

# Zenodo contributor types -> CI_RoleCode; anything else is a plain contributor.
_CONTRIBUTOR_ROLES = {
    "ContactPerson": "pointOfContact",
    "DataCollector": "originator",
    "DataCurator": "custodian",
    "DataManager": "custodian",
    "Distributor": "distributor",
    "HostingInstitution": "resourceProvider",
    "Producer": "originator",
    "ProjectLeader": "principalInvestigator",
    "ProjectManager": "principalInvestigator",
    "RightsHolder": "owner",
    "Sponsor": "funder",
    "Supervisor": "principalInvestigator",
}
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def _el(parent: ET.Element, ns: str, tag: str, **attrib: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{ns}}}{tag}", attrib)


def _text(parent: ET.Element, tag: str, value: str, kind: str = "CharacterString") -> ET.Element:
    """`<gmd:tag><gco:kind>value</gco:kind></gmd:tag>`, the usual ISO 19139 wrapping."""
    wrapper = _el(parent, GMD, tag)
    _el(wrapper, GCO, kind).text = value
    return wrapper


def _code(parent: ET.Element, tag: str, code_list: str, value: str) -> None:
    wrapper = _el(parent, GMD, tag)
    _el(wrapper, GMD, code_list, codeList=f"{_CODELISTS}#{code_list}", codeListValue=value).text = value


def _date(parent: ET.Element, day: date, kind: str) -> None:
    ci_date = _el(_el(parent, GMD, "date"), GMD, "CI_Date")
    _text(ci_date, "date", day.isoformat(), "Date")
    _code(ci_date, "dateType", "CI_DateTypeCode", kind)


def _party(parent: ET.Element, tag: str, name: str, affiliation: str | None, role: str) -> None:
    party = _el(_el(parent, GMD, tag), GMD, "CI_ResponsibleParty")
    _text(party, "individualName", name)
    if affiliation:
        _text(party, "organisationName", affiliation)
    _code(party, "role", "CI_RoleCode", role)


def _parties(metadata: DepositMetadata) -> list[tuple[str, str | None, str]]:
    """(name, affiliation, role): creators are authors, contributors get a role from their Zenodo type."""
    parties = [(c.name, c.affiliation, "author") for c in metadata.creators]
    parties += [(c.name, c.affiliation, _CONTRIBUTOR_ROLES.get(c.type, "contributor"))
                for c in metadata.contributors or ()]
    return parties


def _plain(description: str) -> str:
    """The Zenodo description is HTML; ISO abstracts are plain text."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", description))).strip()


def _bbox(session: Session, metadata: DepositMetadata) -> tuple[float, float, float, float]:
    """(west, east, south, north) from the frames' GPS, else from the metadata's locations."""
    summary = summarize_frames(session)
    if None not in (summary.west, summary.east, summary.south, summary.north):
        return summary.west, summary.east, summary.south, summary.north  # type: ignore[return-value]
    points = [(loc.lat, loc.lon) for loc in metadata.locations or () if loc.lat is not None and loc.lon is not None]
    if points:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        return min(lons), max(lons), min(lats), max(lats)
    raise SessionError(
        f"session {session.name.raw} has no usable GPS position for an ISO 19115 bounding box: "
        f"{session.metadata_csv} has no valid GPSLatitude/GPSLongitude; add the frames' coordinates "
        "(or locations to the metadata) and try again"
    )


def _period(session: Session, metadata: DepositMetadata) -> tuple[date, date]:
    """The collection period: the metadata's `Collected` dates, else the frames' dates, else the name's."""
    collected = next((d for d in metadata.dates or () if d.type == "Collected"), None)
    if collected and (collected.start or collected.end):
        start = collected.start or collected.end
        return start, collected.end or start  # type: ignore[return-value]
    summary = summarize_frames(session)
    first = summary.first_day or session.name.date
    return first, summary.last_day or first


def iso19115_xml(session: Session, metadata: DepositMetadata, *, today: date | None = None) -> str:
    """The session's ISO 19139 `gmd:MD_Metadata` document; SessionError if it has no GPS bounding box."""
    west, east, south, north = _bbox(session, metadata)
    begin, end = _period(session, metadata)
    published = metadata.publication_date or today or date.today()
    parties = _parties(metadata)

    root = ET.Element(f"{{{GMD}}}MD_Metadata")
    _text(root, "fileIdentifier", session.name.urn)
    _code(root, "language", "LanguageCode", metadata.language or "eng")
    _code(root, "hierarchyLevel", "MD_ScopeCode", "dataset")
    for name, affiliation, role in parties:
        _party(root, "contact", name, affiliation, role)
    _text(root, "dateStamp", published.isoformat(), "Date")

    ident = _el(_el(root, GMD, "identificationInfo"), GMD, "MD_DataIdentification")
    citation = _el(_el(ident, GMD, "citation"), GMD, "CI_Citation")
    _text(citation, "title", metadata.title)
    _date(citation, published, "publication")
    if metadata.version:
        _text(citation, "edition", metadata.version)
    for name, affiliation, role in parties:
        _party(citation, "citedResponsibleParty", name, affiliation, "originator" if role == "author" else role)
    _text(ident, "abstract", _plain(metadata.description))
    if metadata.keywords:
        keywords = _el(_el(ident, GMD, "descriptiveKeywords"), GMD, "MD_Keywords")
        for word in metadata.keywords:
            _text(keywords, "keyword", word)
    constraints = _el(_el(ident, GMD, "resourceConstraints"), GMD, "MD_LegalConstraints")
    # ISO 19139 rules allow otherConstraints text only with the otherRestrictions code.
    _code(constraints, "accessConstraints", "MD_RestrictionCode", "otherRestrictions")
    other = [f"Access right: {metadata.access_right}"]
    if metadata.license:
        other.insert(0, f"License: {metadata.license}")
    if metadata.access_conditions:
        other.append(f"Access conditions: {_plain(metadata.access_conditions)}")
    for line in other:
        _text(constraints, "otherConstraints", line)
    _code(ident, "language", "LanguageCode", metadata.language or "eng")
    for topic in ("oceans", "environment"):
        _el(_el(ident, GMD, "topicCategory"), GMD, "MD_TopicCategoryCode").text = topic

    extent = _el(_el(ident, GMD, "extent"), GMD, "EX_Extent")
    box = _el(_el(extent, GMD, "geographicElement"), GMD, "EX_GeographicBoundingBox")
    for tag, value in (("westBoundLongitude", west), ("eastBoundLongitude", east),
                       ("southBoundLatitude", south), ("northBoundLatitude", north)):
        _text(box, tag, repr(float(value)), "Decimal")
    temporal = _el(_el(extent, GMD, "temporalElement"), GMD, "EX_TemporalExtent")
    period = _el(_el(temporal, GMD, "extent"), GML, "TimePeriod", **{f"{{{GML}}}id": "collection-period"})
    _el(period, GML, "beginPosition").text = begin.isoformat()
    _el(period, GML, "endPosition").text = end.isoformat()

    if metadata.doi:
        transfer = _el(_el(_el(root, GMD, "distributionInfo"), GMD, "MD_Distribution"), GMD, "transferOptions")
        online = _el(_el(_el(transfer, GMD, "MD_DigitalTransferOptions"), GMD, "onLine"), GMD, "CI_OnlineResource")
        _el(_el(online, GMD, "linkage"), GMD, "URL").text = f"https://doi.org/{metadata.doi}"
        _text(online, "name", "Zenodo record")

    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=False).join(
        ('<?xml version="1.0" encoding="UTF-8"?>\n', "\n"))


def iso19115_path(session: Session) -> Path:
    """Where the predecessor put the file, so existing readers of METADATA/ find it."""
    return session.path / "METADATA" / f"{session.name.raw}_iso_19115.xml"


def write_iso19115(session: Session, metadata: DepositMetadata, *, today: date | None = None) -> Path:
    """Writes METADATA/{session}_iso_19115.xml atomically, so a reader never sees half a file."""
    text = iso19115_xml(session, metadata, today=today)
    path = iso19115_path(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
