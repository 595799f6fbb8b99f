"""Darwin Core archive of the human annotations: an Event core (one parent event per session, one
child event per annotated frame) with an Occurrence extension (one presence/absence per annotation
of a label that has a GBIF taxon key).

Fixes over the predecessor: meta.xml is generated from the very column lists that write the files,
so its 0-based indexes always match; parentEventID points at an event of the archive; extensions
are declared as extensions, not core files; values are quoted ('"') so WKT with commas stays one
field; countryCode is ISO alpha-2; occurrenceID is spelled right; frame events carry the frame's own
position; a frame without a time gets an empty eventDate instead of a crash; frame DOIs are URLs.
Taxa come from the labels' `id_gbif` (no network).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import duckdb

from zenodo_atlas.sessions.naming import country_alpha2

DWC = "http://rs.tdwg.org/dwc/terms/"
DCTERMS = "http://purl.org/dc/terms/"
LICENSE = "http://creativecommons.org/publicdomain/zero/1.0/legalcode"
ZIP_TIME = (2024, 1, 1, 0, 0, 0)

EVENT_TERMS: tuple[tuple[str, str], ...] = (
    ("eventID", DWC), ("parentEventID", DWC), ("eventDate", DWC), ("eventTime", DWC),
    ("samplingProtocol", DWC), ("habitat", DWC), ("decimalLatitude", DWC), ("decimalLongitude", DWC),
    ("geodeticDatum", DWC), ("coordinateUncertaintyInMeters", DWC), ("footprintWKT", DWC),
    ("country", DWC), ("countryCode", DWC), ("locality", DWC), ("license", DCTERMS),
)
OCCURRENCE_TERMS: tuple[tuple[str, str], ...] = (
    ("eventID", DWC), ("occurrenceID", DWC), ("basisOfRecord", DWC), ("occurrenceStatus", DWC),
    ("taxonID", DWC), ("scientificNameID", DWC), ("vernacularName", DWC), ("recordedBy", DWC),
    ("identifiedBy", DWC), ("dateIdentified", DWC), ("datasetName", DWC), ("associatedMedia", DWC),
    ("recordNumber", DWC),
)

_ROWS_SQL = """
SELECT f.id AS frame_id, f.file_name, f.relative_file_path, f.latitude, f.longitude, f.fix, f.datetime_utc,
       v.doi AS frame_doi, d.session_name, d.country, d.country_code, d.place, d.session_date,
       ST_AsText(d.footprint) AS footprint, ST_Y(ST_Centroid(d.footprint)) AS centre_lat,
       ST_X(ST_Centroid(d.footprint)) AS centre_lon,
       s.id AS session_id, s.author, s.dataset, s.annotation_date,
       l.name AS label, l.id_gbif, a.value
FROM annotation AS a
JOIN annotation_session AS s ON s.id = a.session_id
JOIN multilabel_label AS l ON l.id = a.label_id
JOIN frame AS f ON f.id = a.frame_id
JOIN version AS v ON v.record_id = f.record_id
JOIN deposit AS d ON d.concept_recid = v.concept_recid
WHERE a.value IN (0, 1) AND l.id_gbif IS NOT NULL
ORDER BY f.file_name, f.record_id, s.annotation_date, s.id, l.name
"""


def _doi_url(doi: str | None) -> str:
    if not doi:
        return ""
    return doi if doi.startswith("http") else f"https://doi.org/{doi}"


def _stem(file_name: str) -> str:
    return file_name.rsplit(".", 1)[0]


def _csv(header: Sequence[str], rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


def _fields(terms: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f'    <field index="{i}" term="{ns}{name}"/>' for i, (name, ns) in enumerate(terms))


def meta_xml() -> str:
    common = 'encoding="UTF-8" fieldsTerminatedBy="," linesTerminatedBy="\\n" fieldsEnclosedBy="&quot;" '
    common += 'ignoreHeaderLines="1"'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="eml.xml">\n'
        f'  <core {common} rowType="{DWC}Event">\n'
        "    <files><location>event.txt</location></files>\n"
        '    <id index="0"/>\n'
        f"{_fields(EVENT_TERMS)}\n"
        "  </core>\n"
        f'  <extension {common} rowType="{DWC}Occurrence">\n'
        "    <files><location>occurrence.txt</location></files>\n"
        '    <coreid index="0"/>\n'
        f"{_fields(OCCURRENCE_TERMS)}\n"
        "  </extension>\n"
        "</archive>\n"
    )


def eml_xml(title: str, pub_date: str, frame_dois: list[str]) -> str:
    citations = "\n".join(
        f"        <citation identifier={quoteattr(doi)}>{escape(doi)}</citation>" for doi in frame_dois
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<eml:eml xmlns:eml="https://eml.ecoinformatics.org/eml-2.2.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="https://eml.ecoinformatics.org/eml-2.2.0 '
        'https://eml.ecoinformatics.org/eml-2.2.0/eml.xsd" '
        'packageId="seatizen-atlas-annotations" system="zenodo-atlas" xml:lang="en">\n'
        "  <dataset>\n"
        f"    <title>{escape(title)}</title>\n"
        "    <creator><organizationName>Seatizen Atlas</organizationName></creator>\n"
        f"    <pubDate>{pub_date}</pubDate>\n"
        "    <language>en</language>\n"
        "    <abstract><para>Presence and absence of benthic taxa annotated by experts on georeferenced "
        "underwater and aerial images of the Seatizen Atlas.</para></abstract>\n"
        "    <intellectualRights><para>CC0 1.0</para></intellectualRights>\n"
        "    <contact><organizationName>Seatizen Atlas</organizationName></contact>\n"
        "  </dataset>\n"
        "  <additionalMetadata><metadata><frameSources>\n"
        f"{citations}\n"
        "  </frameSources></metadata></additionalMetadata>\n"
        "</eml:eml>\n"
    )


def build_rows(con: duckdb.DuckDBPyConnection) -> tuple[list[list[object]], list[list[object]], list[str], str]:
    """Event rows, occurrence rows, the frame DOIs cited, and the publication date."""
    cursor = con.execute(_ROWS_SQL)
    names = [d[0] for d in cursor.description]
    sessions: dict[str, list[object]] = {}
    events: dict[int, list[object]] = {}
    occurrences: list[list[object]] = []
    dois: set[str] = set()
    latest = None
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        event_id = _stem(row["file_name"])
        if row["session_name"] not in sessions:
            sessions[row["session_name"]] = [
                row["session_name"], None, row["session_date"].isoformat() if row["session_date"] else None, None,
                "Survey session (one platform, one place, one day)", "coral reef", row["centre_lat"],
                row["centre_lon"], "EPSG:4326", None, row["footprint"], row["country"],
                country_alpha2(row["country_code"]), row["place"], LICENSE,
            ]
        if row["frame_id"] not in events:
            when = row["datetime_utc"]
            has_point = row["latitude"] is not None and row["longitude"] is not None
            events[row["frame_id"]] = [
                event_id, row["session_name"], when.date().isoformat() if when else None,
                f"{when:%H:%M:%S}Z" if when else None,
                "Georeferenced imagery annotated by experts (multilabel, presence/absence)", "coral reef",
                row["latitude"], row["longitude"], "EPSG:4326",
                (0.1 if row["fix"] == 1 else 10) if has_point else None,
                f"POINT ({row['longitude']} {row['latitude']})" if has_point else None,
                row["country"], country_alpha2(row["country_code"]), row["place"], LICENSE,
            ]
        media = _doi_url(row["frame_doi"])
        dois.add(media)
        gbif = f"https://www.gbif.org/species/{row['id_gbif']}"
        occurrences.append([
            event_id, f"{event_id}_{row['session_id']}_{row['label']}", "HumanObservation",
            "present" if row["value"] == 1 else "absent", str(row["id_gbif"]), gbif, row["label"],
            row["author"], row["author"], row["annotation_date"].date().isoformat(), row["dataset"],
            f"{media} | {row['relative_file_path'] or row['file_name']}", str(row["session_id"]),
        ])
        latest = max(latest or row["annotation_date"], row["annotation_date"])
    pub_date = latest.date().isoformat() if latest else "1970-01-01"
    return list(sessions.values()) + list(events.values()), occurrences, sorted(d for d in dois if d), pub_date


def write_dwca(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Write the archive; unchanged annotations give byte-identical zips."""
    events, occurrences, dois, pub_date = build_rows(con)
    members = {
        "meta.xml": meta_xml().encode(),
        "eml.xml": eml_xml("Seatizen Atlas multilabel annotations", pub_date, dois).encode(),
        "event.txt": _csv([t for t, _ in EVENT_TERMS], events),
        "occurrence.txt": _csv([t for t, _ in OCCURRENCE_TERMS], occurrences),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED)
    return path
