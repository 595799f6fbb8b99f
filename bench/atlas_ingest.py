"""Bench: what registering a session costs, in an empty Atlas and in a full one, and against the
predecessor's loading loop, alternated round by round in one run.

The timed path is what a `register` run pays for the Atlas once the archives are on disk:
`write_committed` per session (Atlas file lock, connect + LOAD spatial + schema check, the
registration's transaction, CHECKPOINT, close); only Prefect's writer slot is left out. Writers
no longer copy the Atlas for readers; the copy the first reader after a write makes is timed apart.

1. Flat in Atlas size: a session of `--frames` frames x `--classes` scored classes registered into
   an empty (migrated) Atlas (session #1), into an Atlas holding one such session (#2) and into an
   Atlas already holding `--full-sessions` such sessions (session #1000 by default, filled in SQL by
   `synthetic_atlas.fill`). ratio_1000_vs_1 must stay <= 1.2; ratio_1000_vs_2 separates growth with
   the Atlas's size from what any append to a table that already holds rows costs a fresh process.
2. `--sessions` sessions registered into a fresh Atlas, against the predecessor's loop on SQLite
   over the same files, as SeatizenDOI/zenodo-tools does it (src/seatizen_atlas/sa_importer.py
   `import_seatizen_session` / `frames_importer` / `multilabel_prediction_importer`, src/models/frame_model.py and
   ml_predictions_model.py, src/sql_connector/sc_connector.py `_executemany`, indexes from
   src/sql_connector/00_base_database.sql): the deposit with its footprint and track (`get_footprint`),
   then frames not yet in the version, each read with
   `metadata_csv.loc`, its time converted to UTC and made a FrameDTO (position as shapely WKT); then
   per useful frame one query for its row (read back into a FrameDTO, WKT parsed by shapely) and one
   for the predictions it already has, the scores read with `scores_csv.loc` into one
   MultilabelPredictionDTO per class; each table's rows through one executemany and one commit per
   table and session. Its geometry is WKT text (no spatialite here), which spares it the GeoPackage
   spatial functions and R-tree the predecessor's file has. speedup_vs_predecessor_loop
   must be >= 2. The tool runs them one at a time, and `--together` at once as register-sessions
   does: registrations that wait for the writer together share one visit (WriterQueue).

Each line prints wall and CPU seconds (this process, all threads: robust when the machine is shared)
as min/median/max over the rounds (`--probe-rounds` single registrations for 1., `--rounds` for 2.);
ratios compare medians.

    python bench/atlas_ingest.py [--sessions 50] [--frames 1000] [--classes 20] [--full-sessions 999]
                                  [--rounds 3] [--probe-rounds 9] [--together 4]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from shapely import wkt
from shapely.geometry import LineString, MultiPoint, Point, Polygon
from synthetic_atlas import fill

from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.ingest import DepositRef, VersionRef, prepare_session, register_prepared
from zenodo_atlas.atlas.snapshot import WriterQueue, current_snapshot, write_committed
from zenodo_atlas.sessions.ia import OLD_CLASS_COLUMNS, multilabel_csv_name


def write_session(root: Path, index: int, frames: int, classes: int, rng: np.random.Generator) -> Path:
    """A session with only what registration reads: metadata, useful frames, multilabel scores."""
    name = f"2024{1 + index % 12:02d}{1 + index % 28:02d}_REU-Bench{index:03d}_ASV-1_01"
    session = root / name
    (session / "METADATA").mkdir(parents=True)
    (session / "PROCESSED_DATA" / "IA").mkdir(parents=True)
    files = [f"{name}_1_{i:05d}.jpeg" for i in range(frames)]
    lat = -21.2 + 0.01 * index + np.cumsum(rng.normal(0, 2e-5, frames))
    lon = 55.28 + np.cumsum(rng.normal(0, 2e-5, frames))
    times = pd.date_range(f"2024-{1 + index % 12:02d}-{1 + index % 28:02d} 09:00", periods=frames, freq="5s")
    pd.DataFrame({
        "FileName": files,
        "relative_file_path": [f"{name}/PROCESSED_DATA/FRAMES/{f}" for f in files],
        "OriginalFileName": [f"G{i:07d}.JPG" for i in range(frames)],
        "GPSLatitude": lat.round(8), "GPSLongitude": lon.round(8),
        "GPSAltitude": rng.uniform(-0.4, 0.1, frames).round(3),
        "GPSPitch": rng.normal(0, 2, frames).round(2), "GPSRoll": rng.normal(0, 2, frames).round(2),
        "GPSTrack": rng.uniform(0, 360, frames).round(2), "GPSfix": rng.choice([1, 2, 5], frames),
        "SubSecDateTimeOriginal": times.strftime("%Y:%m:%d %H:%M:%S.000+04:00"),
        "DateTimeOriginal": times.strftime("%Y:%m:%d %H:%M:%S"),
        "GPSDateTime": (times - pd.Timedelta(hours=4)).strftime("%Y:%m:%d %H:%M:%SZ"),
    }).to_csv(session / "METADATA" / "metadata.csv", index=False)
    pd.DataFrame({"FileName": files}).to_csv(session / "METADATA" / "predictions_gps.csv", index=False)
    scores = pd.DataFrame(rng.random((frames, classes)).round(4), columns=list(OLD_CLASS_COLUMNS[:classes]))
    scores.insert(0, "FileName", files)
    scores.to_csv(session / "PROCESSED_DATA" / "IA" / multilabel_csv_name(name, scores=True), index=False)
    return session


def deposit_of(session: Path, index: int) -> tuple[DepositRef, dict[str, str]]:
    md5s = {
        "METADATA.zip": hashlib.md5((session / "METADATA" / "metadata.csv").read_bytes()).hexdigest(),
        "PROCESSED_DATA_IA.zip": hashlib.md5(session.name.encode() + b"ia").hexdigest(),
    }
    concept = 100_000 + 10 * index
    version = VersionRef(record_id=concept + 1, doi=f"10.5281/zenodo.{concept + 1}", label="PROCESSED_DATA",
                         publication_date=date(2024, 6, 1), files=md5s)
    deposit = DepositRef(session_name=session.name, concept_recid=str(concept), versions=[version])
    return deposit, md5s


class Clock:
    """Wall and CPU (user + system, all threads of this process) since creation."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def elapsed(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def run_atlas(
    sessions: list[Path], path: Path, *, first_index: int = 0, together: int = 1
) -> tuple[tuple[float, float], int, int]:
    """Register `sessions` into the (existing) Atlas at `path` as a `register` run writes them: one at
    a time, or `together` at once as register-sessions does (its parallel_sessions), through the
    WriterQueue that write_atlas uses; seconds, and the Atlas's frame and prediction counts."""

    def work(index: int, session: Path) -> Callable[[duckdb.DuckDBPyConnection], object]:
        deposit, md5s = deposit_of(session, index)
        prepared = prepare_session(session, deposit, archive_md5s=md5s)
        return lambda con: register_prepared(con, prepared)

    async def at_once() -> None:
        queue, gate = WriterQueue(path), asyncio.Semaphore(together)

        async def one(index: int, session: Path) -> None:
            async with gate:  # as register_in_atlas: files read before the slot, the writes queued
                deposit, md5s = deposit_of(session, index)
                prepared = await asyncio.to_thread(prepare_session, session, deposit, archive_md5s=md5s)
                await queue.write(lambda con: register_prepared(con, prepared))

        await asyncio.gather(*[one(i, s) for i, s in enumerate(sessions, start=first_index)])

    started = Clock()
    if together == 1:
        for index, session in enumerate(sessions, start=first_index):
            write_committed(path, work(index, session))
    else:
        asyncio.run(at_once())
    seconds = started.elapsed()
    con = open_atlas(path, read_only=True)
    try:
        frames = con.execute("SELECT count(*) FROM frame").fetchone()[0]
        predictions = con.execute("SELECT count(*) FROM multilabel_prediction").fetchone()[0]
    finally:
        con.close()
    return seconds, frames, predictions


def new_atlas(path: Path) -> Path:
    """An empty Atlas with its schema: creating the file is not part of a registration."""
    write_committed(path, lambda con: None)
    return path


BASELINE_SCHEMA = """
CREATE TABLE deposit (doi TEXT PRIMARY KEY, session_name TEXT NOT NULL, footprint TEXT);
CREATE TABLE deposit_linestring (id INTEGER PRIMARY KEY AUTOINCREMENT, deposit_doi TEXT NOT NULL,
    footprint_linestring TEXT);
CREATE TABLE version (doi TEXT PRIMARY KEY, deposit_doi TEXT NOT NULL);
CREATE TABLE frame (id INTEGER PRIMARY KEY AUTOINCREMENT, version_doi TEXT NOT NULL, OriginalFileName TEXT,
    filename TEXT NOT NULL, relative_file_path TEXT, GPSPosition TEXT, GPSAltitude REAL, GPSPitch REAL,
    GPSRoll REAL, GPSTrack REAL, GPSDatetime TEXT, GPSFix INTEGER);
CREATE INDEX idx_filename_version_doi ON frame (filename, version_doi);
CREATE TABLE multilabel_class (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, threshold REAL);
CREATE TABLE multilabel_prediction (id INTEGER PRIMARY KEY AUTOINCREMENT, score REAL NOT NULL,
    version_doi TEXT NOT NULL, frame_id INTEGER NOT NULL, ml_class_id INTEGER NOT NULL);
CREATE INDEX idx_prediction_frame ON multilabel_prediction (frame_id, version_doi);
"""


FRAME_INSERT = (
    "INSERT INTO frame (version_doi, OriginalFileName, filename, relative_file_path, GPSPosition, GPSAltitude,"
    " GPSPitch, GPSRoll, GPSTrack, GPSDatetime, GPSFix) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
PREDICTION_INSERT = "INSERT INTO multilabel_prediction (score, version_doi, frame_id, ml_class_id) VALUES (?,?,?,?)"


def _utc(local: str) -> str:
    """The predecessor's frame time: SubSecDateTimeOriginal with its offset, as UTC text."""
    return datetime.strptime(local, "%Y:%m:%d %H:%M:%S.%f%z").astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class FrameDTO:
    """The predecessor's frame object (src/models/frame_model.py), built for each frame it writes or reads."""

    version: str
    filename: str
    original_filename: str
    relative_path: str | None
    gps_latitude: float | None
    gps_longitude: float | None
    gps_altitude: float | None
    gps_pitch: float | None
    gps_roll: float | None
    gps_track: float | None
    gps_fix: int | None
    gps_datetime: str
    id: int | None = None

    @property
    def position(self) -> str | None:
        return None if self.gps_longitude is None else Point(self.gps_longitude, self.gps_latitude).wkt


@dataclass
class PredictionDTO:
    """The predecessor's prediction object (src/models/ml_predictions_model.py)."""

    score: float
    version: str
    frame: FrameDTO
    class_id: int


FRAME_HEADER = ("id, version_doi, OriginalFileName, filename, relative_file_path, GPSPosition, GPSAltitude, GPSPitch,"
                " GPSRoll, GPSTrack, GPSDatetime, GPSFix")


def _frame_of(row: tuple) -> FrameDTO:
    """The predecessor's `__parse_frame_results` for one row: its WKT position read back with shapely."""
    frame_id, version, original, name, relative, position, altitude, pitch, roll, track, when, fix = row
    point = wkt.loads(position) if position else None
    return FrameDTO(version, name, original, relative, point and point.y, point and point.x, altitude, pitch, roll,
                    track, fix, when, id=frame_id)


def _footprint(session: Path) -> tuple[str | None, str | None]:
    """The predecessor's `get_footprint` (src/seatizen_session/manager/ssm_base_manager.py): metadata read
    again, hull of the non-zero positions (shapely's here, scipy's ConvexHull there) and the track of
    all but every tenth position, as WKT."""
    coordinates = pd.read_csv(session / "METADATA" / "metadata.csv")
    if round(coordinates["GPSLatitude"].std(), 10) == 0.0 or round(coordinates["GPSLongitude"].std(), 10) == 0.0:
        return None, None
    values = coordinates[["GPSLongitude", "GPSLatitude"]].values
    points = [[lon, lat] for lon, lat in values
              if not np.isnan(lon) and lon != 0.0 and not np.isnan(lat) and lat != 0.0]
    polygon = Polygon(MultiPoint(points).convex_hull.exterior.coords)
    track = LineString([[lon, lat] for i, (lon, lat) in enumerate(values)
                        if not np.isnan(lon) and lon != 0.0 and not np.isnan(lat) and lat != 0.0 and i % 10 != 0])
    return polygon.wkt, track.wkt


def run_baseline(sessions: list[Path], path: Path) -> tuple[tuple[float, float], int]:
    """The predecessor's importer on SQLite (see the module docstring), same files, same disk."""
    con = sqlite3.connect(path)
    con.executescript(BASELINE_SCHEMA)
    con.executemany("INSERT INTO multilabel_class (name, threshold) VALUES (?, 0.5)", [(c,) for c in OLD_CLASS_COLUMNS])
    con.commit()
    class_ids = dict(con.execute("SELECT name, id FROM multilabel_class").fetchall())
    rows = 0

    def insert(sql: str, values: list[tuple]) -> None:
        con.executemany(sql, values)
        con.commit()

    started = Clock()
    for index, session in enumerate(sessions):
        deposit, _ = deposit_of(session, index)
        version = str(deposit.versions[0].record_id)
        meta = pd.read_csv(session / "METADATA" / "metadata.csv").set_index("FileName", drop=False)
        useful = list(pd.read_csv(session / "METADATA" / "predictions_gps.csv")["FileName"])
        scores = pd.read_csv(next((session / "PROCESSED_DATA" / "IA").glob("*_scores.csv"))).set_index("FileName")
        polygon, track = _footprint(session)
        insert("INSERT OR IGNORE INTO deposit VALUES (?, ?, ?)", [(deposit.concept_recid, session.name, polygon)])
        insert("INSERT INTO deposit_linestring (deposit_doi, footprint_linestring) VALUES (?, ?)",
               [(deposit.concept_recid, track)])
        insert("INSERT OR IGNORE INTO version VALUES (?, ?)", [(version, deposit.concept_recid)])
        known = {_frame_of(r).filename for r in con.execute(f"SELECT {FRAME_HEADER} FROM frame WHERE version_doi = ?",
                                                               (version,))}
        frames = []
        for name in set(useful) - known:
            row = meta.loc[name]
            frames.append(FrameDTO(version, name, row["OriginalFileName"], row["relative_file_path"],
                                   row["GPSLatitude"], row["GPSLongitude"], row["GPSAltitude"], row["GPSPitch"],
                                   row["GPSRoll"], row["GPSTrack"], int(row["GPSfix"]),
                                   _utc(row["SubSecDateTimeOriginal"])))
        insert(FRAME_INSERT, [(f.version, f.original_filename, f.filename, f.relative_path, f.position, f.gps_altitude,
                               f.gps_pitch, f.gps_roll, f.gps_track, f.gps_datetime, f.gps_fix) for f in frames])
        columns = list(scores.columns)
        predictions = []
        for name in useful:
            found = con.execute(f"SELECT {FRAME_HEADER} FROM frame WHERE version_doi = ? AND filename = ?",
                                (version, name)).fetchall()
            frame = _frame_of(found[0])
            have = con.execute("SELECT id, score, version_doi, frame_id, ml_class_id FROM multilabel_prediction"
                               " WHERE version_doi = ? AND frame_id = ?", (version, frame.id)).fetchall()
            if have:
                continue
            row = scores.loc[name]
            predictions += [PredictionDTO(row[c], version, frame, class_ids[c]) for c in columns]
        insert(PREDICTION_INSERT, [(float(p.score), p.version, p.frame.id, p.class_id) for p in predictions])
        rows += len(predictions)
    seconds = started.elapsed()
    con.close()
    return seconds, rows


def spread(pairs: list[tuple[float, float]]) -> str:
    def one(values: list[float]) -> str:
        return f"min={min(values):.3f} median={statistics.median(values):.3f} max={max(values):.3f}"

    return f"wall {one([w for w, _ in pairs])}  cpu {one([c for _, c in pairs])}"


def ratios(numerator: list[tuple[float, float]], denominator: list[tuple[float, float]]) -> str:
    wall = statistics.median(w for w, _ in numerator) / statistics.median(w for w, _ in denominator)
    cpu = statistics.median(c for _, c in numerator) / statistics.median(c for _, c in denominator)
    return f"{wall:.2f} (cpu {cpu:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--full-sessions", type=int, default=999, help="sessions already in the full Atlas")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the 50-session comparison")
    parser.add_argument("--probe-rounds", type=int, default=9, help="single registrations into each Atlas")
    parser.add_argument("--together", type=int, default=4, help="sessions registered at once (parallel_sessions)")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(prefix="atlas-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        total = args.sessions + 4 * args.probe_rounds
        sessions = [write_session(work / "sessions", i, args.frames, args.classes, rng) for i in range(total)]
        batch, probes = sessions[: args.sessions], sessions[args.sessions :]
        print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"generated {total} sessions in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        full = work / "full.duckdb"
        con = open_atlas(full)
        fill(con, sessions=args.full_sessions, frames_per_session=args.frames, classes=args.classes)
        counts = con.execute("SELECT (SELECT count(*) FROM frame), (SELECT count(*) FROM multilabel_prediction)")
        frames, predictions = counts.fetchone()
        con.close()
        print(f"full Atlas: {frames:,} frames, {predictions:,} predictions, "
              f"filled in {time.perf_counter() - started:.1f} s")
        first, second, last = [], [], []
        # alternated: #1 into an empty Atlas, #2 into an Atlas of one session, then #N+1 into the full one
        for r in range(args.probe_rounds):
            probe, index = probes[4 * r : 4 * r + 4], 10_000 + 4 * r
            seconds, *_ = run_atlas([probe[0]], new_atlas(work / f"empty-{r}.duckdb"), first_index=index)
            first.append(seconds)
            one = new_atlas(work / f"one-{r}.duckdb")
            run_atlas([probe[1]], one, first_index=index + 1)
            seconds, *_ = run_atlas([probe[2]], one, first_index=index + 2)
            second.append(seconds)
            seconds, *_ = run_atlas([probe[3]], full, first_index=index + 3)
            last.append(seconds)
        print(f"register session #1 (empty Atlas) seconds: {spread(first)}")
        print(f"register session #2 ({args.frames:,} frames already) seconds: {spread(second)}")
        print(f"register session #{args.full_sessions + 1} ({frames:,} frames already) seconds: {spread(last)}")
        print(f"ratio_{args.full_sessions + 1}_vs_1={ratios(last, first)} (limit 1.2)")
        print(f"ratio_{args.full_sessions + 1}_vs_2={ratios(last, second)} (growth with the Atlas's size alone)")
        started = Clock()
        current_snapshot(full, wait=True)
        wall, cpu = started.elapsed()
        print(f"first read after writes copies the full Atlas ({full.stat().st_size / 1e9:.2f} GB) for readers once: "
              f"wall {wall:.3f} s, cpu {cpu:.3f} s (writers no longer pay it)")

        atlas_times, together_times, baseline_times = [], [], []
        for r in range(args.rounds):  # alternated: the tool one at a time, 4 at once, the predecessor's loop
            for times, together in ((atlas_times, 1), (together_times, args.together)):
                seconds, frames, predictions = run_atlas(batch, new_atlas(work / f"batch-{r}-{together}.duckdb"),
                                                         together=together)
                assert frames == args.sessions * args.frames and predictions == frames * args.classes, frames
                times.append(seconds)
            seconds, rows = run_baseline(batch, work / f"baseline-{r}.sqlite")
            assert rows == predictions, rows
            baseline_times.append(seconds)
        print(f"{args.sessions} sessions, {frames:,} frames, {predictions:,} predictions")
        print(f"atlas, one at a time, seconds: {spread(atlas_times)}")
        print(f"atlas, {args.together} at once (as register-sessions), seconds: {spread(together_times)}")
        print(f"predecessor loop (SQLite, executemany, per-frame lookups) seconds: {spread(baseline_times)}")
        print(f"speedup_vs_predecessor_loop one at a time={ratios(baseline_times, atlas_times)}, "
              f"{args.together} at once={ratios(baseline_times, together_times)} (target >= 2)")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
