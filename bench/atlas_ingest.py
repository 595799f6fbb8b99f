"""Bench: register 50 sessions x 1,000 frames x 20 classes (50,000 frames, 1,000,000 prediction rows)
in the Atlas, against the predecessor's way of loading measured in the same run.

Baseline (the predecessor's SQLiteConnector): a SQLite file, pandas rows turned into tuples, an N+1
frame-id lookup per scored frame, one INSERT statement per row, and a commit after each of them
(its execute_query committed after every single-row call). It is slow, so by default it runs on a
sample of sessions and is extrapolated linearly, and the output says so; `--baseline-sessions 0`
runs it on every session. For context the same loop is also run in full with executemany and one
commit per table and session (the predecessor's later batched DTOs): `speedup_vs_batched_row_inserts`.

    python bench/atlas_ingest.py [--sessions 50] [--frames 1000] [--classes 20] [--baseline-sessions 1]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.ingest import DepositRef, VersionRef, register_session
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


def run_atlas(sessions: list[Path], work: Path) -> tuple[float, int, int]:
    con = open_atlas(work / "atlas.duckdb")
    try:
        started = time.perf_counter()
        for index, session in enumerate(sessions):
            deposit, md5s = deposit_of(session, index)
            register_session(con, session, deposit, archive_md5s=md5s)
        seconds = time.perf_counter() - started
        frames = con.execute("SELECT count(*) FROM frame").fetchone()[0]
        predictions = con.execute("SELECT count(*) FROM multilabel_prediction").fetchone()[0]
    finally:
        con.close()
    return seconds, frames, predictions


BASELINE_SCHEMA = """
CREATE TABLE deposit (doi TEXT PRIMARY KEY, session_name TEXT NOT NULL, footprint TEXT);
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


def run_baseline(sessions: list[Path], work: Path, *, commit_every_row: bool) -> tuple[float, int]:
    """The predecessor's loading loop on SQLite: pandas rows to tuples, an N+1 lookup per frame, one
    INSERT statement per row. `commit_every_row` follows its SQLiteConnector.execute_query, which
    committed after every single-row call; otherwise each table's rows go through executemany with
    one commit, as its later batched DTOs did."""
    path = work / f"baseline-{commit_every_row}.sqlite"
    con = sqlite3.connect(path)
    con.executescript(BASELINE_SCHEMA)
    con.executemany("INSERT INTO multilabel_class (name, threshold) VALUES (?, 0.5)", [(c,) for c in OLD_CLASS_COLUMNS])
    con.commit()
    class_ids = dict(con.execute("SELECT name, id FROM multilabel_class").fetchall())
    rows = 0

    def insert(sql: str, values: list[tuple]) -> None:
        if commit_every_row:
            for value in values:
                con.execute(sql, value)
                con.commit()
        else:
            con.executemany(sql, values)
            con.commit()

    started = time.perf_counter()
    for index, session in enumerate(sessions):
        deposit, _ = deposit_of(session, index)
        version = str(deposit.versions[0].record_id)
        meta = pd.read_csv(session / "METADATA" / "metadata.csv")
        useful = set(pd.read_csv(session / "METADATA" / "predictions_gps.csv")["FileName"])
        scores = pd.read_csv(next((session / "PROCESSED_DATA" / "IA").glob("*_scores.csv")))
        insert("INSERT OR IGNORE INTO deposit VALUES (?, ?, NULL)", [(deposit.concept_recid, session.name)])
        insert("INSERT OR IGNORE INTO version VALUES (?, ?)", [(version, deposit.concept_recid)])
        known = {r[0] for r in con.execute("SELECT filename FROM frame WHERE version_doi = ?", (version,))}
        frames = [
            (version, row["OriginalFileName"], row["FileName"], row["relative_file_path"],
             f"POINT({row['GPSLongitude']} {row['GPSLatitude']})", row["GPSAltitude"], row["GPSPitch"],
             row["GPSRoll"], row["GPSTrack"], row["SubSecDateTimeOriginal"], int(row["GPSfix"]))
            for _, row in meta.iterrows()
            if row["FileName"] in useful and row["FileName"] not in known
        ]
        insert(FRAME_INSERT, frames)
        columns = [c for c in scores.columns if c != "FileName"]
        predictions = []
        for _, row in scores.iterrows():
            frame_id = con.execute("SELECT id FROM frame WHERE version_doi = ? AND filename = ?",
                                   (version, row["FileName"])).fetchone()[0]
            predictions += [(float(row[c]), version, frame_id, class_ids[c]) for c in columns]
        insert(PREDICTION_INSERT, predictions)
        rows += len(predictions)
    seconds = time.perf_counter() - started
    con.close()
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--baseline-sessions", type=int, default=1, help="sample size; 0 runs all sessions")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(prefix="atlas-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        sessions = [write_session(work / "sessions", i, args.frames, args.classes, rng) for i in range(args.sessions)]
        print(f"generated {len(sessions)} sessions in {time.perf_counter() - started:.1f} s")
        atlas_seconds, frames, predictions = run_atlas(sessions, work)
        assert frames == args.sessions * args.frames and predictions == frames * args.classes, (frames, predictions)
        print(f"atlas: sessions={args.sessions} frames={frames} predictions={predictions}")
        print(f"atlas_seconds={atlas_seconds:.2f} ({predictions / atlas_seconds:,.0f} prediction rows/s)")
        sample = sessions if args.baseline_sessions <= 0 else sessions[: args.baseline_sessions]
        scale = len(sessions) / len(sample)
        measured, rows = run_baseline(sample, work, commit_every_row=True)
        baseline_seconds = measured * scale
        if scale > 1:
            print(f"baseline (one INSERT + commit per row, N+1 lookups): measured {measured:.2f} s on {len(sample)} "
                  f"of {len(sessions)} sessions ({rows} prediction rows), extrapolated x{scale:g}")
        print(f"baseline_seconds={baseline_seconds:.2f}")
        batched_seconds, rows = run_baseline(sessions, work, commit_every_row=False)
        assert rows == predictions, rows
        print(f"baseline_batched_seconds={batched_seconds:.2f} (executemany, one commit per table and session; "
              "full run)")
        speedup = baseline_seconds / atlas_seconds
        print(f"speedup_vs_row_inserts={speedup:.1f}")
        print(f"speedup_vs_batched_row_inserts={batched_seconds / atlas_seconds:.1f}")
        print(f"ratio={speedup:.1f}")


if __name__ == "__main__":
    main()
