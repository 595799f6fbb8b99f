"""A picture of the Atlas: one self-contained interactive HTML map and a static PNG overview.

The HTML embeds its data as GeoJSON in a `<script type="application/geo+json">` element and draws it
with a small hand-written canvas viewer, `data/map_viewer.html` (no library, no CDN: it opens offline):
session footprints and tracks coloured by platform, frames clustered on screen, popups with session,
date, DOI links and class presence, filters by platform, date and class. Platform colours come from
the QGIS style of the deposits layer, so the map, the PNG and the GeoPackage agree.
"""

from __future__ import annotations

import io
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import shapely

from zenodo_atlas.atlas.query import FRAME_COLUMNS, FrameQuery, run_query

MAP_HTML = "seatizen_atlas_map.html"
OVERVIEW_PNG = "seatizen_atlas_overview.png"
_OTHER = "#969696"


def _doi_url(doi: str | None) -> str | None:
    if not doi:
        return None
    return doi if doi.startswith("http") else f"https://doi.org/{doi}"


def platform_colours(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Platform -> hex colour, read from the deposits layer's QGIS style (categories -> symbols)."""
    row = con.execute("SELECT style_qml FROM layer_styles WHERE layer = 'deposits'").fetchone()
    qml = row[0] if row else ""
    symbols = {
        name: "#{:02x}{:02x}{:02x}".format(*map(int, colour.split(",")[:3]))
        for name, colour in re.findall(
            r'<symbol [^>]*name="(\d+)"[^>]*>.*?name="color" type="QString" value="([\d,]+)"', qml
        )
    }
    categories = re.findall(r'<category [^>]*symbol="(\d+)" value="([^"]*)"', qml)
    return {value or "other": symbols.get(symbol, _OTHER) for symbol, value in categories}


def _round(coords: Any) -> Any:
    """6 decimals (~0.1 m): the precision of an RTK fix, and a smaller file."""
    if isinstance(coords, (list, tuple)):
        return [_round(c) for c in coords]
    return round(coords, 6)


def _geometry(wkt: str | None) -> dict[str, Any] | None:
    if not wkt:
        return None
    geo = shapely.geometry.mapping(shapely.orient_polygons(shapely.from_wkt(wkt)))
    return {"type": geo["type"], "coordinates": _round(geo["coordinates"])}


def map_data(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The map's content: sessions (footprint, track, centroid) and frames with class presence, as GeoJSON."""
    colours = platform_colours(con)
    table = run_query(con, FrameQuery(mode="presence"))
    classes = table.column_names[len(FRAME_COLUMNS):]
    presence = table.to_pylist()
    sessions = con.execute(
        """
        SELECT d.session_name, d.session_date, d.platform, d.place, d.country, d.concept_doi, d.concept_recid,
               ST_AsText(d.footprint), ST_AsText(l.geom), ST_Y(ST_Centroid(d.footprint)),
               ST_X(ST_Centroid(d.footprint)),
               (SELECT list(v.doi ORDER BY v.record_id) FROM version AS v WHERE v.concept_recid = d.concept_recid)
        FROM deposit AS d LEFT JOIN footprint_linestring AS l ON l.concept_recid = d.concept_recid
        ORDER BY d.session_name
        """
    ).fetchall()
    present: dict[str, dict[str, int]] = {}
    counts: dict[str, int] = {}
    frames = []
    for row in presence:
        name = row["session_name"]
        counts[name] = counts.get(name, 0) + 1
        found = [c for c in classes if row.get(c)]
        for c in found:
            present.setdefault(name, {})[c] = present.setdefault(name, {}).get(c, 0) + 1
        if row["latitude"] is None or row["longitude"] is None:
            continue
        when = row["datetime_utc"]
        frames.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": _round([row["longitude"], row["latitude"]])},
            "properties": {
                "kind": "frame", "file_name": row["file_name"], "session_name": name, "platform": row["platform"],
                "datetime_utc": f"{when:%Y-%m-%dT%H:%M:%SZ}" if when else None,
                "frame_doi": _doi_url(row["frame_doi"]), "prediction_doi": _doi_url(row["prediction_doi"]),
                "classes": found,
            },
        })
    features = []
    for name, day, platform, place, country, concept_doi, recid, footprint, track, lat, lon, dois in sessions:
        properties = {
            "session_name": name, "date": day.isoformat() if day else None, "platform": platform,
            "place": place, "country": country, "colour": colours.get(platform or "other", _OTHER),
            "session_doi": _doi_url(concept_doi or f"10.5281/zenodo.{recid}"),
            "version_dois": [_doi_url(d) for d in dois or [] if d],
            "frames": counts.get(name, 0),
            "class_presence": dict(sorted(present.get(name, {}).items())),
            "centroid": _round([lon, lat]) if lat is not None else None,
        }
        for kind, wkt in (("footprint", footprint), ("track", track)):
            geometry = _geometry(wkt)
            if geometry:
                features.append({"type": "Feature", "geometry": geometry, "properties": {"kind": kind, **properties}})
    return {
        "type": "FeatureCollection", "features": features + frames,
        "classes": classes, "platforms": colours,
    }




def write_map_html(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """One HTML file that opens offline: data and viewer inline."""
    payload = json.dumps(map_data(con), separators=(",", ":"), sort_keys=True).replace("</", "<\\/")
    path.parent.mkdir(parents=True, exist_ok=True)
    viewer = resources.files("zenodo_atlas.atlas").joinpath("data/map_viewer.html").read_text(encoding="utf-8")
    path.write_text(viewer.replace("__DATA__", payload), encoding="utf-8")
    return path


def overview_png(con: duckdb.DuckDBPyConnection) -> bytes:
    """A static overview (footprints and tracks by platform, frames as dots), for exports and artifacts."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch

    data = map_data(con)
    fig, ax = plt.subplots(figsize=(8, 6), dpi=100)
    used: dict[str, str] = {}
    for feature in data["features"]:
        p, g = feature["properties"], feature["geometry"]
        colour = data["platforms"].get(p.get("platform") or "other", _OTHER)
        if p["kind"] == "footprint":
            for ring in ([g["coordinates"][0]] if g["type"] == "Polygon" else [c[0] for c in g["coordinates"]]):
                xs, ys = zip(*ring, strict=True)
                ax.fill(xs, ys, color=colour, alpha=0.35, linewidth=0.8, edgecolor=colour)
            used[p["platform"] or "other"] = colour
        elif p["kind"] == "track" and g["type"] == "LineString":
            xs, ys = zip(*g["coordinates"], strict=True)
            ax.plot(xs, ys, color=colour, linewidth=0.8)
        elif p["kind"] == "frame":
            ax.plot(*g["coordinates"], marker=".", markersize=2, color=colour)
    ax.set_aspect(1 / max(0.01, math.cos(math.radians(sum(ax.get_ylim()) / 2))))  # metres equal both ways
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_xlabel("longitude (°E, WGS 84)")
    ax.set_ylabel("latitude (°N, WGS 84)")
    ax.set_title(f"Seatizen Atlas: {sum(f['properties']['kind'] == 'footprint' for f in data['features'])} sessions")
    ax.legend(handles=[Patch(color=c, label=p, alpha=0.6) for p, c in sorted(used.items())], loc="best")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def write_overview_png(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(overview_png(con))
    return path


def session_centroids(con: duckdb.DuckDBPyConnection) -> list[tuple[str, float, float]]:
    """(session name, lat, lon) of every session with a footprint: the Atlas record's `locations`."""
    return [
        (name, round(lat, 5), round(lon, 5))
        for name, lat, lon in con.execute(
            "SELECT session_name, ST_Y(ST_Centroid(footprint)), ST_X(ST_Centroid(footprint)) FROM deposit"
            " WHERE footprint IS NOT NULL ORDER BY session_name"
        ).fetchall()
    ]
