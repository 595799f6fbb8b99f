import json
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
from PIL import Image

from zenodo_atlas.atlas.maps import platform_colours, session_centroids, write_map_html, write_overview_png


class _Scripts(HTMLParser):
    """Collects <script> bodies by type, and every URL the page would fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: dict[str, str] = {}
        self.fetches: list[str] = []
        self._type: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self._type = values.get("type") or "text/javascript"
            if values.get("src"):
                self.fetches.append(values["src"] or "")
        if tag == "link" and values.get("href"):
            self.fetches.append(values["href"] or "")

    def handle_data(self, data: str) -> None:
        if self._type:
            self.scripts[self._type] = self.scripts.get(self._type, "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._type = None


def test_map_html_is_self_contained_and_its_geojson_matches_the_atlas(
    populated_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    page = write_map_html(populated_con, tmp_path / "atlas.html").read_text(encoding="utf-8")
    parser = _Scripts()
    parser.feed(page)
    assert parser.fetches == [] and not re.search(r"https?://[^\"'` ]+\.(js|css)\b", page)  # opens offline
    data = json.loads(parser.scripts["application/geo+json"])
    assert data["type"] == "FeatureCollection" and "text/javascript" in parser.scripts
    by_kind: dict[str, list[dict]] = {}
    for feature in data["features"]:
        by_kind.setdefault(feature["properties"]["kind"], []).append(feature)
    sessions = populated_con.execute(
        "SELECT session_name, platform, session_date, concept_recid FROM deposit WHERE footprint IS NOT NULL"
        " ORDER BY 1"
    ).fetchall()
    footprints = sorted(by_kind["footprint"], key=lambda f: f["properties"]["session_name"])
    assert [f["properties"]["session_name"] for f in footprints] == [s[0] for s in sessions]
    colours = platform_colours(populated_con)
    for feature, (_, platform, day, recid) in zip(footprints, sessions, strict=True):
        p = feature["properties"]
        assert p["platform"] == platform and p["date"] == day.isoformat() and p["colour"] == colours[platform]
        assert p["session_doi"] == f"https://doi.org/10.5281/zenodo.{recid}"
        assert p["version_dois"] and all(d.startswith("https://doi.org/") for d in p["version_dois"])
        assert feature["geometry"]["type"] == "Polygon"
    assert len(by_kind["track"]) == populated_con.execute("SELECT count(*) FROM footprint_linestring").fetchone()[0]
    frames = populated_con.execute(
        "SELECT count(*) FROM frame WHERE latitude IS NOT NULL AND longitude IS NOT NULL").fetchone()[0]
    assert len(by_kind["frame"]) == frames
    frame = by_kind["frame"][0]["properties"]
    assert frame["datetime_utc"].endswith("Z") and frame["frame_doi"].startswith("https://doi.org/")
    sand = populated_con.execute(
        "SELECT count(*) FROM multilabel_prediction p JOIN multilabel_class c ON c.id = p.class_id "
        "WHERE c.name = 'Sand' AND p.score >= c.threshold").fetchone()[0]
    assert sum("Sand" in f["properties"]["classes"] for f in by_kind["frame"]) == sand
    assert sum(f["properties"]["class_presence"].get("Sand", 0) for f in footprints) == sand
    assert set(colours) >= {"ASV", "UAV"} and len(set(colours.values())) > 2


def test_overview_png_and_session_centroids(populated_con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_overview_png(populated_con, tmp_path / "overview.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 300 and image.height > 200
        colours = {c for _, c in image.convert("RGB").getcolors(1 << 20) or []}
    asv = platform_colours(populated_con)["ASV"]
    assert tuple(int(asv[i : i + 2], 16) for i in (1, 3, 5)) in colours  # ASV tracks drawn in their colour
    centroids = session_centroids(populated_con)
    assert [c[0] for c in centroids] == ["20231021_REU-ST-LEU_ASV-1_01", "20240301_MUS-Le-Morne_UAV-1_01"]
    assert all(-90 <= lat <= 90 and -180 <= lon <= 180 for _, lat, lon in centroids)
