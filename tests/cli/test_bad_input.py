"""Careless and hostile input against the CLI, as a new user types it.

Every case must exit non-zero with ONE line on stderr that names what is wrong and how to fix it, no
traceback, and nothing written: no request reaches the local Zenodo, the Atlas keeps its checksum,
and no file under the workspace appears, changes or goes. The CLI runs in-process (CliRunner): these
mistakes are all caught before any flow, so no Prefect server is needed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.atlas import PopulatedAtlas
from tests.fixtures.zenodo_server import OTHER_TOKEN, TOKEN, ZenodoTestServer
from zenodo_atlas.cli import app
from zenodo_atlas.sessions.sample import write_sample_session

GOOD = "20231021_REU-ST-LEU_ASV-1_01"
NO_METADATA = "20231022_REU-ST-LEU_ASV-1_01"
BAD_CSV = "20231023_REU-ST-LEU_ASV-1_01"


@dataclass
class Workspace:
    root: Path
    atlas: Path
    server: ZenodoTestServer
    env: dict[str, str | None] = field(default_factory=dict)

    def __truediv__(self, rel: str) -> Path:
        return self.root / rel


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, populated_atlas: PopulatedAtlas) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("careless-user")
    sessions = root / "sessions"
    for name in (GOOD, NO_METADATA, BAD_CSV):
        write_sample_session(sessions, name=name, frames=6, dcim_mb=0.05)
    (sessions / NO_METADATA / "METADATA" / "metadata.csv").unlink()
    metadata = sessions / BAD_CSV / "METADATA" / "metadata.csv"
    metadata.write_text(metadata.read_text().replace("GPSLatitude", "Latitude", 1))
    (root / "not_a_session").mkdir()
    (root / "a_folder").mkdir()
    _write(root / "a_file.txt", "not a folder")
    _write(root / "not_duckdb.duckdb", "plain text, not a database")
    atlas = root / "atlas" / "atlas.duckdb"
    atlas.parent.mkdir()
    shutil.copyfile(populated_atlas.path, atlas)
    _write(root / "templates" / "broken.yaml", "project_name: [unclosed\n")
    _write(root / "templates" / "incomplete.yaml", "license: CC-BY-4.0\naccess_right: public\n"
           "people:\n  sessions_csv: nowhere.csv\n  contributors_csv: nobody.csv\n")
    _write(root / "lists" / "upload_columns.csv", "folder,name\n/data,x\n")
    _write(root / "lists" / "upload_semicolon.csv", f"root_folder;session_name\n{sessions};{GOOD}\n")
    _write(root / "lists" / "upload_header_only.csv", "root_folder,session_name\n")
    _write(root / "lists" / "upload_unknown_session.csv", f"root_folder,session_name\n{sessions},no_such_session\n")
    _write(root / "lists" / "download_columns.csv", "name\nx\n")
    _write(root / "lists" / "download_semicolon.csv", f"session_name;doi\n{GOOD};\n")
    _write(root / "lists" / "frames_columns.csv", "doi,path\n10.5072/zenodo.1,x.jpg\n")
    _write(root / "lists" / "frames_path.csv", "version_doi,relative_file_path\n10.5072/zenodo.1,x.jpg\n")
    _write(root / "lists" / "frames_half_row.csv", "version_doi,relative_file_path\n10.5072/zenodo.1,\n")
    _write(root / "area" / "not.geojson", "{not json")
    _write(root / "annotations" / "notes.csv", "FileName,Sand\nx.jpg,1\n")
    server = ZenodoTestServer(tokens={TOKEN: 1, OTHER_TOKEN: 2}, data_dir=root.parent / f"{root.name}-zenodo")
    with server:
        yield Workspace(root=root, atlas=atlas, server=server, env={
            "ZENODO_URL": server.api_url, "ZENODO_TOKEN": server.token,
            "ATLAS_TOKEN_FILE": str(root / "no-token-file"), "ATLAS_ATLAS_PATH": str(atlas),
            "ATLAS_WORK_DIR": str(root / "work"), "ATLAS_METADATA_TEMPLATE": None,
        })


def _snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file and folder under root: size, mtime and md5 (the Atlas checksum is among them)."""
    state = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file():
            state[rel] = (path.stat().st_size, path.stat().st_mtime_ns, hashlib.md5(path.read_bytes()).hexdigest())
        else:
            state[rel] = (0, 0, "dir")
    return state


S = f"{{root}}/sessions/{GOOD}"
A = "{root}/atlas/atlas.duckdb"
Q = ["atlas", "query", "--atlas", A, "--out", "{root}/out/q.csv"]

# (id, argv, extra env, exit code, fragments the one line must hold: what is wrong, then how to fix it)
CASES: list[tuple[str, list[str], dict[str, str | None], int, tuple[str, ...]]] = [
    # upload: flags, names, letters
    ("upload-nothing", ["upload"], {}, 2, ("give at least one session folder", "--csv")),
    ("upload-no-version", ["upload", S], {}, 2, ("nothing to upload", "--raw", "--processed")),
    ("upload-bad-letter", ["upload", S, "--processed", "fmx"], {}, 1, ("--processed 'fmx'", "letter 'x'", "valid")),
    ("upload-bad-custom-letter", ["upload", S, "--custom", "z"], {}, 1, ("--custom 'z'", "valid letters")),
    ("upload-empty-letters", ["upload", S, "--processed", " "], {}, 1, ("no folder letters", "choose among")),
    ("upload-bad-name", ["upload", "{root}/not_a_session", "--raw"], {}, 1,
     ("invalid session name 'not_a_session'", "expected YYYYMMDD")),
    ("upload-missing-folder", ["upload", "{root}/sessions/20231021_REU-ST-LEU_ASV-9_09", "--raw"], {}, 1,
     ("does not exist",)),
    ("upload-not-ready", ["upload", f"{{root}}/sessions/{NO_METADATA}", "--processed", "m"], {}, 1,
     ("missing METADATA/metadata.csv", "session check")),
    ("upload-bad-metadata-csv", ["upload", f"{{root}}/sessions/{BAD_CSV}", "--processed", "m"], {}, 1,
     ("GPSLatitude", "session check")),
    ("upload-batch-names-each", ["upload", S, f"{{root}}/sessions/{NO_METADATA}", "--processed", "m"], {}, 1,
     ("1 of 2 session(s)", NO_METADATA, "leave them out")),
    ("upload-last-only-alone", ["upload", S, "--raw", "--last-only"], {}, 2, ("--last-only", "--update-metadata")),
    ("upload-unknown-option", ["upload", S, "--raw", "--bogus"], {}, 2, ("No such option: --bogus", "--help")),
    # upload: templates and people files
    ("upload-template-problems", ["upload", S, "--raw", "--metadata", "{root}/templates/incomplete.yaml"], {}, 1,
     ("problem(s)", "project_name: Field required", "nowhere.csv does not exist", "nobody.csv does not exist")),
    ("upload-template-yaml", ["upload", S, "--raw", "--metadata", "{root}/templates/broken.yaml"], {}, 1,
     ("not valid YAML", "--metadata")),
    ("upload-template-missing", ["upload", S, "--raw", "--metadata", "{root}/templates/none.yaml"], {}, 1,
     ("cannot be read", "--metadata")),
    ("upload-template-from-env", ["upload", S, "--raw"],
     {"ATLAS_METADATA_TEMPLATE": "{root}/templates/incomplete.yaml"}, 1, ("problem(s)", "ATLAS_METADATA_TEMPLATE")),
    # upload: CSV lists
    ("upload-csv-columns", ["upload", "--csv", "{root}/lists/upload_columns.csv", "--raw"], {}, 1,
     ("needs column(s) root_folder and session_name", "found folder, name")),
    ("upload-csv-semicolon", ["upload", "--csv", "{root}/lists/upload_semicolon.csv", "--raw"], {}, 1,
     ("`;`-separated", "`,` as the delimiter")),
    ("upload-csv-header-only", ["upload", "--csv", "{root}/lists/upload_header_only.csv", "--raw"], {}, 1,
     ("no rows", "add one line")),
    ("upload-csv-missing", ["upload", "--csv", "{root}/lists/none.csv", "--raw"], {}, 1,
     ("no such file", "give the path")),
    ("upload-csv-unknown-session", ["upload", "--csv", "{root}/lists/upload_unknown_session.csv", "--raw"], {}, 1,
     ("no_such_session", "does not exist")),
    # upload: settings and token
    ("upload-bad-concurrency", ["upload", S, "--raw"], {"ATLAS_UPLOAD_CONCURRENCY": "abc"}, 1,
     ("ATLAS_UPLOAD_CONCURRENCY='abc'", "valid integer", "fix or unset")),
    ("upload-concurrency-range", ["upload", S, "--raw"], {"ATLAS_UPLOAD_CONCURRENCY": "99"}, 1,
     ("ATLAS_UPLOAD_CONCURRENCY='99'", "less than or equal to 32")),
    ("upload-bad-sandbox", ["upload", S, "--raw"], {"ZENODO_SANDBOX": "maybe"}, 1,
     ("ZENODO_SANDBOX='maybe'", "boolean")),
    ("upload-bad-list-setting", ["upload", S, "--raw"], {"ATLAS_COMMUNITIES": "seatizen"}, 1,
     ("ATLAS_COMMUNITIES", "JSON")),
    ("upload-bad-part-size", ["upload", S, "--raw"], {"ATLAS_DCIM_PART_GB": "-1"}, 1,
     ("ATLAS_DCIM_PART_GB='-1'", "greater than 0")),
    ("upload-no-token", ["upload", S, "--raw"], {"ZENODO_TOKEN": None}, 1, ("needs a Zenodo token", "ZENODO_TOKEN")),
    ("clean-drafts-no-token", ["upload", "--clean-drafts"], {"ZENODO_TOKEN": None}, 1,
     ("needs a Zenodo token", "ACCESS_TOKEN")),
    ("update-metadata-no-token", ["upload", S, "--update-metadata"], {"ZENODO_TOKEN": None}, 1,
     ("needs a Zenodo token",)),
    # download
    ("download-no-out", ["download", "--name", GOOD], {}, 2, ("Missing option '--out'", "--help")),
    ("download-nothing", ["download", "--out", "{root}/out"], {}, 2, ("exactly one of --name, --doi",)),
    ("download-two-sources", ["download", "--out", "{root}/out", "--name", GOOD, "--doi", "10.5072/zenodo.1"],
     {}, 2, ("exactly one of",)),
    ("download-bad-name", ["download", "--out", "{root}/out", "--name", "lagoon_2023"], {}, 1,
     ("--name 'lagoon_2023'", "invalid session name", "expected YYYYMMDD")),
    ("download-bad-doi", ["download", "--out", "{root}/out", "--doi", "zenodo 1234"], {}, 1,
     ("--doi 'zenodo 1234' is not a DOI", "10.5281/zenodo.1234567")),
    ("download-out-is-file", ["download", "--out", "{root}/a_file.txt", "--name", GOOD], {}, 1,
     ("is a file", "give a folder")),
    ("download-csv-columns", ["download", "--out", "{root}/out", "--csv", "{root}/lists/download_columns.csv"],
     {}, 1, ("needs column(s) session_name or doi", "found name")),
    ("download-csv-semicolon", ["download", "--out", "{root}/out", "--csv", "{root}/lists/download_semicolon.csv"],
     {}, 1, ("`;`-separated",)),
    ("download-csv-missing", ["download", "--out", "{root}/out", "--csv", "{root}/lists/none.csv"], {}, 1,
     ("no such file",)),
    ("download-frames-columns", ["download", "--out", "{root}/out", "--frames", "{root}/lists/frames_columns.csv"],
     {}, 1, ("--frames", "version_doi and relative_file_path")),
    ("download-frames-path", ["download", "--out", "{root}/out", "--frames", "{root}/lists/frames_path.csv"], {}, 1,
     ("relative_file_path 'x.jpg'", "should look like")),
    ("download-frames-half-row", ["download", "--out", "{root}/out", "--frames", "{root}/lists/frames_half_row.csv"],
     {}, 1, ("line 2", "needs both")),
    ("download-bad-setting", ["download", "--out", "{root}/out", "--name", GOOD],
     {"ATLAS_DOWNLOAD_CONCURRENCY": "0"}, 1, ("ATLAS_DOWNLOAD_CONCURRENCY='0'", "greater than or equal to 1")),
    # atlas
    ("export-atlas-folder", ["atlas", "export", "--atlas", "{root}/a_folder", "--out", "{root}/out"], {}, 1,
     ("--atlas", "is a folder", "a_folder/seatizen_atlas.duckdb")),
    ("export-no-atlas", ["atlas", "export", "--atlas", "{root}/none.duckdb", "--out", "{root}/out"], {}, 1,
     ("No Atlas at", "atlas migrate")),
    ("export-not-duckdb", ["atlas", "export", "--atlas", "{root}/not_duckdb.duckdb", "--out", "{root}/out"], {}, 1,
     ("not a DuckDB Atlas file", "--atlas")),
    ("export-out-is-file", ["atlas", "export", "--atlas", A, "--out", "{root}/a_file.txt"], {}, 1, ("is a file",)),
    ("query-bad-suffix", ["atlas", "query", "--atlas", A, "--out", "{root}/out/q.txt"], {}, 1,
     ("Cannot write q.txt", ".csv, .parquet or .geojson")),
    ("query-bad-date", [*Q, "--from", "yesterday"], {}, 1, ("--from 'yesterday' is not a date", "YYYY-MM-DD")),
    ("query-dates-reversed", [*Q, "--from", "2024-02-01", "--to", "2024-01-01"], {}, 1, ("after --to", "swap")),
    ("query-bad-polygon", [*Q, "--polygon", "POLYGON((0 0, 1 1))"], {}, 1, ("not a readable geometry", "WKT")),
    ("query-point-area", [*Q, "--polygon", "POINT (55 -21)"], {}, 1, ("must be a Polygon", "Point")),
    ("query-two-areas", [*Q, "--polygon", "POLYGON((0 0,1 0,1 1,0 0))", "--geojson", "{root}/area/not.geojson"],
     {}, 1, ("not JSON",)),
    ("query-geojson-not-json", [*Q, "--geojson", "{root}/area/not.geojson"], {}, 1, ("is not JSON", "GeoJSON")),
    ("query-unknown-class", [*Q, "--class", "Unicorn"], {}, 1, ("Unknown class(es) Unicorn", "known:")),
    ("query-unknown-model", [*Q, "--model", "NoSuchModel"], {}, 1, ("NoSuchModel",)),
    ("query-atlas-from-env-folder", ["atlas", "query", "--out", "{root}/out/q.csv"],
     {"ATLAS_ATLAS_PATH": "{root}/a_folder"}, 1, ("ATLAS_ATLAS_PATH", "is a folder")),
    ("map-bad-suffix", ["atlas", "map", "--atlas", A, "--out", "{root}/out/map.txt"], {}, 1,
     ("must end in .html", "atlas.html")),
    ("map-atlas-folder", ["atlas", "map", "--atlas", "{root}/a_folder", "--out", "{root}/out/map.html"], {}, 1,
     ("is a folder",)),
    ("migrate-atlas-folder", ["atlas", "migrate", "--atlas", "{root}/a_folder"], {}, 1, ("is a folder",)),
    ("annotations-bad-name", ["atlas", "annotations", "{root}/annotations/notes.csv", "--atlas", A], {}, 1,
     ("YYYYMMDD_HHMMSS__author__dataset", "Fix the file")),
    ("register-atlas-folder", ["atlas", "register", S, "--atlas", "{root}/a_folder"], {}, 1, ("is a folder",)),
    ("register-bad-item", ["atlas", "register", "lagoon_2023"], {}, 1,
     ("'lagoon_2023' is not a session folder, session name or DOI", "expected YYYYMMDD")),
    ("register-bad-folder-name", ["atlas", "register", "{root}/not_a_session"], {}, 1, ("invalid session name",)),
    ("publish-no-atlas", ["atlas", "publish", "--atlas", "{root}/none.duckdb"], {}, 1, ("no Atlas at", "register")),
    ("auto-update-atlas-folder", ["auto-update", "--atlas", "{root}/a_folder"], {}, 1, ("is a folder",)),
    # session
    ("check-bad-name", ["session", "check", "{root}/not_a_session"], {}, 1, ("have errors", "invalid session name")),
    ("check-bad-csv", ["session", "check", f"{{root}}/sessions/{BAD_CSV}"], {}, 1, ("have errors", "GPSLatitude")),
    ("plan-nothing", ["session", "plan", S], {}, 2, ("nothing to plan", "--raw")),
    ("plan-bad-letter", ["session", "plan", S, "--processed", "q"], {}, 1, ("--processed 'q'", "valid letters")),
    ("plan-missing", ["session", "plan", "{root}/sessions/20231021_REU-ST-LEU_ASV-9_09", "--raw"], {}, 1,
     ("does not exist",)),
    ("plan-zero-part", ["session", "plan", S, "--raw", "--dcim-part-gb", "0"], {}, 2,
     ("Invalid value for '--dcim-part-gb'",)),
    ("sample-zero-frames", ["session", "sample", "{root}/out", "--frames", "0"], {}, 2,
     ("Invalid value for '--frames'", "greater than or equal to 1")),
    ("sample-bad-name", ["session", "sample", "{root}/out", "--name", "my_session"], {}, 1,
     ("invalid session name 'my_session'",)),
    ("sample-bad-platform", ["session", "sample", "{root}/out", "--platform", "XYZ"], {}, 1, ("XYZ",)),
    # local Zenodo, demo, the command itself
    ("serve-no-token", ["zenodo", "serve"], {"ZENODO_TOKEN": " "}, 1, ("no token in ZENODO_TOKEN", "--token-file")),
    ("serve-token-file-missing", ["zenodo", "serve", "--token-file", "{root}/none.txt"], {}, 1,
     ("--token-file", "cannot be read")),
    ("serve-token-on-argv", ["zenodo", "serve", "--token", "secret"], {}, 2, ("No such option: --token",)),
    ("serve-bad-port", ["zenodo", "serve", "--port", "70000"], {}, 2, ("Invalid value for '--port'",)),
    ("demo-zero-frames", ["demo", "--out", "{root}/out", "--frames", "0"], {}, 2, ("Invalid value for '--frames'",)),
    ("unknown-command", ["uplaod", S], {}, 2, ("No such command 'uplaod'", "upload")),
]


def _fill(value: str | None, root: Path) -> str | None:
    return None if value is None else value.replace("{root}", str(root))


@pytest.mark.parametrize(("argv", "env", "code", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_in_one_line_and_writes_nothing(ws: Workspace, argv, env, code, fragments):
    before = _snapshot(ws.root)
    requests = len(ws.server.request_log)
    environment = {**ws.env, **{k: _fill(v, ws.root) for k, v in env.items()}}

    result = CliRunner().invoke(app, [_fill(a, ws.root) for a in argv], env=environment)

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == code, (result.exit_code, result.stderr, result.stdout)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert len(ws.server.request_log) == requests, "a request reached Zenodo"
    assert _snapshot(ws.root) == before, "something was written"


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) == len(CASES)


def test_verbose_adds_the_traceback(ws: Workspace):
    argv = ["--verbose", "atlas", "query", "--atlas", str(ws.atlas), "--out", str(ws.root / "out" / "q.csv"),
            "--class", "Unicorn"]
    result = CliRunner().invoke(app, argv, env=ws.env)
    assert result.exit_code == 1 and "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: Unknown class")


def test_check_warns_about_unknown_score_columns_and_escaping_links(ws: Workspace, tmp_path: Path):
    session = write_sample_session(tmp_path, name=GOOD, frames=6, dcim_mb=0.05)
    scores = next((session / "PROCESSED_DATA" / "IA").glob("*scores*.csv"))
    scores.write_text(scores.read_text().replace("Sand", "Sandy_bottom", 1))
    (session / "SENSORS" / "secret").symlink_to("/etc/hostname")
    result = CliRunner().invoke(app, ["session", "check", str(session), "--json"], env=ws.env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    messages = [p["message"] for p in report["sessions"][0]["problems"] if p["severity"] == "warning"]
    assert any("Sandy_bottom" in m and "match no class" in m for m in messages), messages
    assert any("leads outside the session" in m for m in messages), messages
    assert "never read nor published" in report["links"]
