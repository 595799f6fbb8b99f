"""Zenodo deposit metadata for a session's RAW_DATA, PROCESSED_DATA and custom versions.

Every call builds its values afresh from the template (the predecessor extended the template's
keyword list in place, so countries of earlier sessions leaked into later ones).
"""

from __future__ import annotations

import csv
import html
import os
from datetime import date
from pathlib import Path

from zenodo_atlas.sessions.errors import TemplateError
from zenodo_atlas.sessions.frames import FrameSummary, summarize_frames
from zenodo_atlas.sessions.ia import JACQUES_MODEL_NAME, MULTILABEL_MODEL_NAME, jacques_csv_name
from zenodo_atlas.sessions.layout import KNOWN_FOLDERS
from zenodo_atlas.sessions.links import inside
from zenodo_atlas.sessions.plan import human_size
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.sessions.template import (
    MetadataTemplate,
    People,
    default_template,
    load_people,
    load_template,
    template_people,
)
from zenodo_atlas.sessions.zenodo_record import PROCESSED_LABEL, RAW_LABEL
from zenodo_atlas.zenodo.models import (
    Community,
    DateInterval,
    DepositMetadata,
    Location,
    RelatedIdentifier,
)

__all__ = [
    "MetadataTemplate",
    "People",
    "build_custom_metadata",
    "build_processed_metadata",
    "build_raw_metadata",
    "default_template",
    "load_people",
    "load_template",
    "session_title",
    "template_people",
]

def _human_platform(session: Session, template: MetadataTemplate) -> str:
    return template.platforms.get(session.name.platform, session.rules.human_name)


def session_title(session: Session, template: MetadataTemplate) -> str:
    """`Underwater images collected by an Autonomous Surface Vehicle in St-Leu, Réunion - 2023-10-21`."""
    if template.title:
        return template.title
    image_type = template.image_type or session.rules.image_type
    by = f"{session.rules.article} {_human_platform(session, template)}".strip()
    n = session.name
    return f"{image_type} images collected by {by} in {n.place}, {n.country_name} - {n.date.isoformat()}"


def _keywords(session: Session, template: MetadataTemplate) -> list[str]:
    words = {*template.keywords, session.name.country_name, template.project_name,
             session.name.platform, _human_platform(session, template)}
    return sorted(w for w in words if w)


def _folder_sizes(session: Session) -> list[tuple[str, int, int]]:
    """(folder, files, bytes) for the known folders present; stat only, no reads; links follow
    `sessions.links` (one leading outside the session, or broken, is not counted)."""
    sizes = []
    for folder in KNOWN_FOLDERS:
        files = total = 0
        for dirpath, _, filenames in os.walk(session.path / folder):
            for path in (Path(dirpath) / f for f in filenames):
                if inside(path, session.path) and path.is_file():
                    files += 1
                    total += path.stat().st_size
        if files:
            sizes.append((folder, files, total))
    return sizes


def _useful_count(session: Session) -> int | None:
    path = session.ia_dir / jacques_csv_name(session.name.raw)
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8-sig") as f:
        return sum(1 for row in csv.DictReader(f) if (row.get("Useless") or "").strip() == "0")


def _li(label: str, value: str) -> str:
    return f"<li><strong>{html.escape(label)}:</strong> {html.escape(value)}</li>"


def _link(label: str, url: str | None) -> str:
    return f'<li>{html.escape(label)}: <a href="{html.escape(url)}">{html.escape(url)}</a></li>' if url else ""


def _description(session: Session, template: MetadataTemplate, summary: FrameSummary, kind: str) -> str:
    n = session.name
    facts = [
        _li("Session", n.raw),
        _li("Date", n.date.isoformat()),
        _li("Place", f"{n.place}, {n.country_name} ({n.country_code})"),
        _li("Platform", f"{_human_platform(session, template)} ({n.platform})"),
    ]
    if summary.frames:
        facts.append(_li("Frames", str(summary.frames)))
        useful = _useful_count(session)
        if useful is not None:
            facts.append(_li("Useful frames", f"{useful} ({100 * useful / summary.frames:.1f} %)"))
        facts.append(_li("Frames with GPS", f"{summary.with_gps} ({100 * summary.with_gps / summary.frames:.1f} %)"))
        if summary.fix_counts:
            shares = ", ".join(f"Q{q}: {summary.fix_percent(q):.1f} %" for q in sorted(summary.fix_counts))
            facts.append(_li("GPS fix quality", shares))
        if summary.duration is not None:
            facts.append(_li("Duration", str(summary.duration)))
        if summary.median_altitude is not None and session.rules.image_type == "Aerial":
            facts.append(_li("Median altitude", f"{summary.median_altitude:.1f} m"))
        if summary.max_depth is not None:
            facts.append(_li("Maximum depth", f"{summary.max_depth:.1f} m"))
        if summary.cameras:
            facts.append(_li("Camera", ", ".join(summary.cameras)))
    folders = "".join(
        _li(folder, f"{files} files, {human_size(size)}") for folder, files, size in _folder_sizes(session)
    )
    links = "".join([
        _link("Acquisition workflow", template.links.workflow),
        _link("Inference", template.links.inference),
        _link("Publication tools", template.links.zenodo),
        _link("Software", template.links.software),
    ])
    parts = [
        f"<p>{html.escape(session_title(session, template))}.</p>",
        f"<p>This version holds the {kind} of the session, part of the "
        f"{html.escape(template.project_name)} project.</p>",
        f"<ul>{''.join(facts)}</ul>",
    ]
    if kind == "processed data":
        parts.append(
            "<p>Frames were sorted by the usefulness model "
            f"{html.escape(JACQUES_MODEL_NAME)} and annotated by the multilabel model "
            f"{html.escape(MULTILABEL_MODEL_NAME)}.</p>"
        )
    if folders:
        parts.append(f"<p>Content of the session folder:</p><ul>{folders}</ul>")
    if template.description:
        parts.append(f"<p>{html.escape(template.description)}</p>")
    if links:
        parts.append(f"<p>Software:</p><ul>{links}</ul>")
    return "".join(parts)


def _common(session: Session, template: MetadataTemplate, people: People) -> dict:
    creators, contributors = people.credits_for(session.name.raw)
    return {
        "upload_type": "dataset",
        "title": session_title(session, template),
        "creators": creators,
        "contributors": contributors,
        "keywords": _keywords(session, template),
        "related_identifiers": [
            RelatedIdentifier(identifier=session.name.urn, relation="isAlternateIdentifier"),
            *(r.model_copy() for r in template.related_identifiers),
        ],
        "language": "eng",
        "license": template.license,
        "communities": [Community(identifier=c) for c in template.communities] or None,
        "notes": "<br>".join(template.fundings) or None,
    }


def build_raw_metadata(session: Session, template: MetadataTemplate, people: People) -> DepositMetadata:
    access = session.rules.raw_access_right
    return DepositMetadata(
        **_common(session, template, people),
        description=_description(session, template, summarize_frames(session), "raw data"),
        access_right=access,
        access_conditions=template.access_conditions if access == "restricted" else None,
        version=RAW_LABEL,
    )


def _locations(session: Session, summary: FrameSummary) -> list[Location] | None:
    if summary.south is None or summary.west is None or summary.north is None or summary.east is None:
        return None
    place = f"{session.name.place}, {session.name.country_name}"
    return [
        Location(lat=summary.south, lon=summary.west, place=place,
                 description="South-west corner of the surveyed area"),
        Location(lat=summary.north, lon=summary.east, place=place,
                 description="North-east corner of the surveyed area"),
    ]


def build_processed_metadata(
    session: Session, template: MetadataTemplate, people: People, *, today: date | None = None
) -> DepositMetadata:
    """Adds the surveyed bounding box and the Collected/Valid dates to the raw fields."""
    summary = summarize_frames(session)
    today = today or date.today()
    first = summary.first_day or session.name.date
    last = summary.last_day or first
    return DepositMetadata(
        **_common(session, template, people),
        description=_description(session, template, summary, "processed data"),
        access_right=session.rules.processed_access_right,
        version=PROCESSED_LABEL,
        locations=_locations(session, summary),
        dates=[
            DateInterval(start=first, end=last, type="Collected"),
            DateInterval(start=today, end=today, type="Valid"),
        ],
    )


def build_custom_metadata(session: Session, template: MetadataTemplate, people: People) -> DepositMetadata:
    """A custom record: the template must say its description and version; its access applies."""
    missing = [f for f in ("description", "version") if not getattr(template, f)]
    if missing:
        raise TemplateError(
            f"a custom record needs {' and '.join(missing)} in the metadata template; add them"
        )
    access = template.access_right
    return DepositMetadata(
        **_common(session, template, people),
        description=_description(session, template, summarize_frames(session), "custom selection"),
        access_right=access,
        access_conditions=template.access_conditions if access == "restricted" else None,
        version=template.version,
    )
