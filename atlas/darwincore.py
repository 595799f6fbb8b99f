"""Darwin Core archive of the human annotations, shaped for GBIF and OBIS sampling-event datasets.

An Event core (one parent event per session, one child event per annotated image) with an Occurrence
extension: one occurrence per image and taxon, present when any label of that taxon is present in the
image's latest annotation (several labels map to one taxon, e.g. the Acropora morphotypes).

Taxa come from the labels' GBIF keys and `data/taxa.csv` (name, rank, kingdom, WoRMS AphiaID); the
EML comes from `data/atlas_metadata.yaml` plus coverage computed from the data. Identifiers are built
from session names, image names and GBIF keys, never from Atlas row ids, so they survive a rebuild of
the Atlas and a label rename. meta.xml is generated from the column lists that write the files.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import duckdb
import shapely
import yaml
from pydantic import BaseModel, Field

from zenodo_atlas.atlas.annotations import LATEST_ANNOTATION_SQL
from zenodo_atlas.sessions.naming import country_alpha2
from zenodo_atlas.sessions.plan import frame_archive_member

DWC = "http://rs.tdwg.org/dwc/terms/"
DCTERMS = "http://purl.org/dc/terms/"
ZIP_TIME = (2024, 1, 1, 0, 0, 0)
ZIP_MODE = 0o100644  # regular file, rw-r--r--: readable once unpacked (rule 11)
GBIF_SPECIES = "https://www.gbif.org/species/"
WORMS_LSID = "urn:lsid:marinespecies.org:taxname:"

EVENT_TERMS: tuple[tuple[str, str], ...] = (
    ("eventID", DWC), ("parentEventID", DWC), ("eventType", DWC), ("eventDate", DWC),
    ("samplingProtocol", DWC), ("sampleSizeValue", DWC), ("sampleSizeUnit", DWC), ("samplingEffort", DWC),
    ("habitat", DWC), ("decimalLatitude", DWC), ("decimalLongitude", DWC), ("geodeticDatum", DWC),
    ("coordinateUncertaintyInMeters", DWC), ("coordinatePrecision", DWC), ("footprintWKT", DWC),
    ("footprintSRS", DWC), ("minimumDepthInMeters", DWC), ("maximumDepthInMeters", DWC), ("country", DWC),
    ("countryCode", DWC), ("locality", DWC), ("license", DCTERMS), ("rightsHolder", DCTERMS),
)
OCCURRENCE_TERMS: tuple[tuple[str, str], ...] = (
    ("eventID", DWC), ("occurrenceID", DWC), ("basisOfRecord", DWC), ("occurrenceStatus", DWC),
    ("scientificName", DWC), ("scientificNameID", DWC), ("taxonID", DWC), ("kingdom", DWC), ("taxonRank", DWC),
    ("verbatimIdentification", DWC), ("recordedBy", DWC), ("identifiedBy", DWC), ("dateIdentified", DWC),
    ("associatedMedia", DWC),
)

# Position uncertainty by GNSS fix quality (plancha GPS files: 1 = RTK fixed, 2 = RTK float, 5 = single):
# fixed RTK is centimetric, float decimetric to metric, a single receiver a few metres.
FIX_UNCERTAINTY_M = {1: 0.1, 2: 1.0}
SINGLE_FIX_UNCERTAINTY_M = 10.0
_METRES_PER_DEGREE = 111_320.0

MediaLocator = Callable[[str], tuple[str, str] | None]
"""relative_file_path of a frame -> (archive file key on Zenodo, path inside that archive), or None."""


class Licence(BaseModel):
    id: str
    name: str
    url: str


class Party(BaseModel):
    given_name: str | None = None
    sur_name: str | None = None
    organization: str | None = None
    position: str | None = None
    email: str | None = None
    url: str | None = None


class Keywords(BaseModel):
    thesaurus: str
    words: list[str]


class Methods(BaseModel):
    steps: list[str] = Field(min_length=1)
    study_extent: str
    sampling_description: str


class AtlasMetadataTemplate(BaseModel):
    """`data/atlas_metadata.yaml`: what the Atlas says about itself, edited as data, not code."""

    title: str
    atlas_doi: str
    language: str = "en"
    abstract: str
    licence: Licence
    creator: Party
    contact: Party
    metadata_provider: Party
    keywords: Keywords
    extra_keywords: list[str] = Field(default_factory=list)
    methods: Methods

    @property
    def doi_url(self) -> str:
        return f"https://doi.org/{self.atlas_doi}"

    @property
    def namespace(self) -> str:
        """Prefix of every identifier in the archive: the Atlas concept DOI, so IDs are globally unique."""
        return f"{self.doi_url}#"


def load_template(path: Path | None = None) -> AtlasMetadataTemplate:
    source = path or resources.files("zenodo_atlas.atlas").joinpath("data/atlas_metadata.yaml")
    return AtlasMetadataTemplate.model_validate(yaml.safe_load(source.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Taxon:
    gbif_key: int
    scientific_name: str
    rank: str
    kingdom: str
    aphia_id: int | None

    @property
    def gbif_url(self) -> str:
        return f"{GBIF_SPECIES}{self.gbif_key}"

    @property
    def name_id(self) -> str:
        """WoRMS LSID when known (what OBIS resolves), else the GBIF backbone URL."""
        return f"{WORMS_LSID}{self.aphia_id}" if self.aphia_id else self.gbif_url


def load_taxa() -> dict[int, Taxon]:
    """The GBIF key -> taxon reference table shipped in `data/taxa.csv`."""
    text = resources.files("zenodo_atlas.atlas").joinpath("data/taxa.csv").read_text(encoding="utf-8")
    return {
        int(r["gbif_key"]): Taxon(int(r["gbif_key"]), r["scientific_name"], r["taxon_rank"], r["kingdom"],
                                  int(r["aphia_id"]) if r["aphia_id"] else None)
        for r in csv.DictReader(io.StringIO(text))
    }


_ROWS_SQL = f"""
WITH latest AS ({LATEST_ANNOTATION_SQL}),
taxon_values AS (
    SELECT l.frame_id, lab.id_gbif AS gbif_key, max(l.value) AS present, max(l.annotation_date) AS identified,
           string_agg(DISTINCT l.author, ' | ' ORDER BY l.author) AS identified_by,
           string_agg(lab.name, ' | ' ORDER BY lab.name) FILTER (WHERE l.value = 1) AS labels_present
    FROM latest AS l JOIN multilabel_label AS lab ON lab.id = l.label_id
    WHERE l.value IN (0, 1) AND lab.id_gbif IS NOT NULL
    GROUP BY l.frame_id, lab.id_gbif
),
habitats AS (
    -- a label with a GCRMN benthic code but no taxon is a cover category (sand, rock, rubble, turf...)
    SELECT l.frame_id, string_agg(lab.name, ' | ' ORDER BY lab.name) AS habitat
    FROM latest AS l JOIN multilabel_label AS lab ON lab.id = l.label_id
    WHERE l.value = 1 AND lab.id_gbif IS NULL AND lab.code_gcrmn IS NOT NULL
    GROUP BY l.frame_id
)
SELECT f.file_name, f.relative_file_path, f.latitude, f.longitude, f.depth, f.fix, f.datetime_utc,
       d.concept_recid, d.session_name, d.country, d.country_code, d.place, d.session_date, d.platform,
       d.recorded_by,
       ST_AsText(d.footprint) AS footprint, h.habitat,
       t.gbif_key, t.present, t.identified, t.identified_by, t.labels_present
FROM taxon_values AS t
JOIN frame AS f ON f.id = t.frame_id
JOIN version AS v ON v.record_id = f.record_id
JOIN deposit AS d ON d.concept_recid = v.concept_recid
LEFT JOIN habitats AS h ON h.frame_id = t.frame_id
ORDER BY d.session_name, f.file_name, t.gbif_key
"""

# The latest version of each deposit holding an archive key (its record id is in the file URL).
_ARCHIVES_SQL = """
SELECT v.concept_recid, vf.file_key, arg_max(v.record_id, v.record_id) AS record_id
FROM version_file AS vf JOIN version AS v ON v.record_id = vf.record_id
GROUP BY v.concept_recid, vf.file_key
"""


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


def _utc(moment: datetime) -> str:
    """Atlas times are naive UTC; Darwin Core wants ISO 8601 with the zone."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _decimals(uncertainty_m: float) -> int:
    """Coordinate decimals whose rounding step stays below the position uncertainty."""
    return max(0, min(7, math.ceil(-math.log10(uncertainty_m / _METRES_PER_DEGREE))))


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


@dataclass
class _Session:
    row: dict[str, Any]
    frames: set[str] = field(default_factory=set)
    times: list[datetime] = field(default_factory=list)
    habitats: set[str] = field(default_factory=set)
    annotators: set[str] = field(default_factory=set)


@dataclass
class Archive:
    """The archive's content before it is written: rows, and the coverage the EML states."""

    events: list[list[object]]
    occurrences: list[list[object]]
    taxa: list[Taxon]
    bbox: tuple[float, float, float, float] | None  # west, east, south, north
    period: tuple[date, date] | None
    pub_date: str


def _session_event(ns: str, s: _Session, protocol: str, rights: tuple[str, str]) -> list[object]:
    row = s.row
    lat = lon = uncertainty = precision = None
    if row["footprint"]:
        shape = shapely.from_wkt(str(row["footprint"]))
        centre = shape.centroid
        uncertainty = math.ceil(max(
            _haversine_m(centre.y, centre.x, y, x) for x, y in shapely.get_coordinates(shape)
        )) or 1
        digits = _decimals(uncertainty)
        lat, lon, precision = round(centre.y, digits), round(centre.x, digits), 10.0**-digits
    times = sorted(s.times)
    when: str | None
    if times:
        when = _utc(times[0]) if times[0] == times[-1] else f"{_utc(times[0])}/{_utc(times[-1])}"
    else:
        when = row["session_date"].isoformat() if row["session_date"] else None
    return [
        f"{ns}{row['session_name']}", None, "Survey", when, protocol, len(s.frames), "image",
        f"{len(s.frames)} images identified by {len(s.annotators)} expert(s)",
        " | ".join(sorted(s.habitats)) or None, lat, lon, "EPSG:4326", uncertainty, precision,
        row["footprint"], "EPSG:4326" if row["footprint"] else None, None, None, row["country"],
        country_alpha2(row["country_code"]), row["place"], *rights,
    ]


def _frame_event(ns: str, row: dict[str, Any], identified_by: set[str], protocol: str,
                 rights: tuple[str, str]) -> list[object]:
    lat, lon = row["latitude"], row["longitude"]
    has_point = lat is not None and lon is not None
    uncertainty = FIX_UNCERTAINTY_M.get(row["fix"], SINGLE_FIX_UNCERTAINTY_M)
    digits = _decimals(uncertainty)
    when = row["datetime_utc"]
    depth = round(float(row["depth"]), 1) if row["depth"] is not None else None
    return [
        f"{ns}{Path(str(row['file_name'])).stem}", f"{ns}{row['session_name']}", "Sample",
        _utc(when) if isinstance(when, datetime) else None, protocol, 1, "image",
        f"1 image identified by {len(identified_by)} expert(s)", row["habitat"],
        round(float(lat), digits) if has_point else None, round(float(lon), digits) if has_point else None,
        "EPSG:4326", uncertainty if has_point else None, 10.0**-digits if has_point else None,
        f"POINT ({round(float(lon), digits)} {round(float(lat), digits)})" if has_point else None,
        "EPSG:4326" if has_point else None, depth, depth, row["country"], country_alpha2(row["country_code"]),
        row["place"], *rights,
    ]


def build_archive(
    con: duckdb.DuckDBPyConnection, template: AtlasMetadataTemplate, *,
    media: MediaLocator | None = None, zenodo_url: str = "https://zenodo.org",
) -> Archive:
    """Events, occurrences and coverage of every image with at least one identified taxon."""
    taxa = load_taxa()
    ns = template.namespace
    rights = (template.licence.url, template.creator.organization or "")
    protocol = template.methods.sampling_description
    archives = {(c, k): r for c, k, r in con.execute(_ARCHIVES_SQL).fetchall()}
    cursor = con.execute(_ROWS_SQL)
    names = [d[0] for d in cursor.description]
    sessions: dict[str, _Session] = {}
    frames: dict[str, dict[str, Any]] = {}
    frame_annotators: dict[str, set[str]] = {}
    occurrences: list[list[object]] = []
    used: dict[int, Taxon] = {}
    latest: datetime | None = None
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        taxon = taxa.get(int(row["gbif_key"]))
        if taxon is None:
            continue  # a GBIF key the reference table does not name: no scientificName, so no record
        used[taxon.gbif_key] = taxon
        session = sessions.setdefault(str(row["session_name"]), _Session(row))
        event_id = f"{ns}{Path(str(row['file_name'])).stem}"
        annotators = frame_annotators.setdefault(event_id, set())
        annotators.update(str(row["identified_by"]).split(" | "))
        session.annotators.update(annotators)
        if event_id not in frames:
            frames[event_id] = row
            session.frames.add(event_id)
            if row["datetime_utc"]:
                session.times.append(row["datetime_utc"])
            if row["habitat"]:
                session.habitats.update(str(row["habitat"]).split(" | "))
        occurrences.append([
            event_id, f"{event_id}:gbif-{taxon.gbif_key}", "HumanObservation",
            "present" if row["present"] == 1 else "absent", taxon.scientific_name, taxon.name_id, taxon.gbif_url,
            taxon.kingdom, taxon.rank, row["labels_present"], row["recorded_by"], row["identified_by"],
            row["identified"].date().isoformat(),
            _media_url(media, archives, zenodo_url, row),
        ])
        latest = max(latest or row["identified"], row["identified"])
    events = [_session_event(ns, s, protocol, rights) for s in sessions.values()]
    events += [_frame_event(ns, row, frame_annotators[eid], protocol, rights) for eid, row in frames.items()]
    return Archive(
        events=events, occurrences=occurrences, taxa=sorted(used.values(), key=lambda t: t.scientific_name),
        bbox=_bbox(con), period=_period(sessions.values()),
        pub_date=latest.date().isoformat() if latest else "1970-01-01",
    )


def _media_url(media: MediaLocator | None, archives: dict[tuple[str, str], int], zenodo_url: str,
               row: dict[str, Any]) -> str | None:
    """The image's own URL: the Zenodo file URL of its archive plus the path inside it (InvenioRDM
    serves archive members at `<record>/files/<key>/container/<path>`, inveniosoftware/rfcs#106)."""
    located = media(str(row["relative_file_path"] or "")) if media else None
    if located is None:
        return None
    key, member = located
    record_id = archives.get((str(row["concept_recid"]), key))
    if record_id is None or (key == "DCIM.zip" and (str(row["concept_recid"]), "DCIM_p02.zip") in archives):
        return None  # not published, or DCIM split in parts without a listing of which part holds it
    return f"{zenodo_url.rstrip('/')}/records/{record_id}/files/{key}/container/{member}"


def _bbox(con: duckdb.DuckDBPyConnection) -> tuple[float, float, float, float] | None:
    box = con.execute(
        "SELECT min(ST_XMin(footprint)), max(ST_XMax(footprint)), min(ST_YMin(footprint)), max(ST_YMax(footprint))"
        " FROM deposit WHERE footprint IS NOT NULL"
    ).fetchone()
    if not box or box[0] is None:
        return None
    west, east, south, north = (round(float(v), 5) for v in box)
    return west, east, south, north


def _period(sessions: Collection[_Session]) -> tuple[date, date] | None:
    days = [t.date() for s in sessions for t in s.times]
    days += [s.row["session_date"] for s in sessions if not s.times and s.row["session_date"]]
    return (min(days), max(days)) if days else None


def _party(tag: str, party: Party) -> str:
    parts = []
    if party.given_name or party.sur_name:
        name = f"<givenName>{escape(party.given_name or '')}</givenName>" if party.given_name else ""
        parts.append(f"<individualName>{name}<surName>{escape(party.sur_name or '')}</surName></individualName>")
    if party.organization:
        parts.append(f"<organizationName>{escape(party.organization)}</organizationName>")
    if party.position:
        parts.append(f"<positionName>{escape(party.position)}</positionName>")
    if party.email:
        parts.append(f"<electronicMailAddress>{escape(party.email)}</electronicMailAddress>")
    if party.url:
        parts.append(f"<onlineUrl>{escape(party.url)}</onlineUrl>")
    return f"    <{tag}>{''.join(parts)}</{tag}>\n"


def eml_xml(template: AtlasMetadataTemplate, archive: Archive) -> str:
    """EML 2.2.0 as GBIF's IPT profile reads it; every sentence comes from the template."""
    t = template
    coverage = ""
    if archive.bbox:
        west, east, south, north = archive.bbox
        coverage += (
            "      <geographicCoverage><geographicDescription>Bounding box of the Atlas session footprints"
            "</geographicDescription><boundingCoordinates>"
            f"<westBoundingCoordinate>{west}</westBoundingCoordinate><eastBoundingCoordinate>{east}"
            f"</eastBoundingCoordinate><northBoundingCoordinate>{north}</northBoundingCoordinate>"
            f"<southBoundingCoordinate>{south}</southBoundingCoordinate></boundingCoordinates>"
            "</geographicCoverage>\n"
        )
    if archive.period:
        start, end = archive.period
        coverage += (
            "      <temporalCoverage><rangeOfDates>"
            f"<beginDate><calendarDate>{start.isoformat()}</calendarDate></beginDate>"
            f"<endDate><calendarDate>{end.isoformat()}</calendarDate></endDate>"
            "</rangeOfDates></temporalCoverage>\n"
        )
    if archive.taxa:
        classifications = "".join(
            f"<taxonomicClassification><taxonRankName>{escape(x.rank)}</taxonRankName>"
            f"<taxonRankValue>{escape(x.scientific_name)}</taxonRankValue></taxonomicClassification>"
            for x in archive.taxa
        )
        coverage += f"      <taxonomicCoverage>{classifications}</taxonomicCoverage>\n"
    keywords = "".join(f"<keyword>{escape(k)}</keyword>" for k in t.keywords.words)
    extra = "".join(f"<keyword>{escape(k)}</keyword>" for k in t.extra_keywords)
    steps = "".join(f"<methodStep><description><para>{escape(s)}</para></description></methodStep>"
                    for s in t.methods.steps)
    citation = f"{t.creator.organization or t.title} ({archive.pub_date[:4]}). {t.title}. {t.doi_url}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<eml:eml xmlns:eml="https://eml.ecoinformatics.org/eml-2.2.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="https://eml.ecoinformatics.org/eml-2.2.0 '
        'https://eml.ecoinformatics.org/eml-2.2.0/eml.xsd" '
        f'packageId={quoteattr(t.doi_url)} system="https://doi.org" xml:lang={quoteattr(t.language)}>\n'
        "  <dataset>\n"
        f"    <alternateIdentifier>{escape(t.doi_url)}</alternateIdentifier>\n"
        f"    <title xml:lang={quoteattr(t.language)}>{escape(t.title)}</title>\n"
        f"{_party('creator', t.creator)}"
        f"{_party('metadataProvider', t.metadata_provider)}"
        f"    <pubDate>{archive.pub_date}</pubDate>\n"
        f"    <language>{escape(t.language)}</language>\n"
        f"    <abstract><para>{escape(t.abstract)}</para></abstract>\n"
        f"    <keywordSet>{keywords}<keywordThesaurus>{escape(t.keywords.thesaurus)}</keywordThesaurus></keywordSet>\n"
        f"    <keywordSet>{extra}<keywordThesaurus>N/A</keywordThesaurus></keywordSet>\n"
        "    <intellectualRights><para>This work is licensed under a "
        f"<ulink url={quoteattr(t.licence.url)}><citetitle>{escape(t.licence.name)}</citetitle></ulink>."
        "</para></intellectualRights>\n"
        f"    <coverage>\n{coverage}    </coverage>\n"
        f"{_party('contact', t.contact)}"
        f"    <methods>{steps}<sampling><studyExtent><description><para>{escape(t.methods.study_extent)}"
        "</para></description></studyExtent><samplingDescription><para>"
        f"{escape(t.methods.sampling_description)}</para></samplingDescription></sampling></methods>\n"
        "  </dataset>\n"
        "  <additionalMetadata><metadata><gbif>"
        f"<citation identifier={quoteattr(t.doi_url)}>{escape(citation)}</citation>"
        "</gbif></metadata></additionalMetadata>\n"
        "</eml:eml>\n"
    )


def write_dwca(
    con: duckdb.DuckDBPyConnection, path: Path, *, template: AtlasMetadataTemplate | None = None,
    media: MediaLocator | None = frame_archive_member, zenodo_url: str = "https://zenodo.org",
) -> Path:
    """Write the archive; unchanged annotations give byte-identical zips."""
    template = template or load_template()
    archive = build_archive(con, template, media=media, zenodo_url=zenodo_url)
    members = {
        "meta.xml": meta_xml().encode(),
        "eml.xml": eml_xml(template, archive).encode(),
        "event.txt": _csv([t for t, _ in EVENT_TERMS], archive.events),
        "occurrence.txt": _csv([t for t, _ in OCCURRENCE_TERMS], archive.occurrences),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = ZIP_MODE << 16
            info.create_system = 3  # Unix, so unzip applies the mode
            zipped.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return path
