"""Bench: register 50 sessions x 1,000 frames x 20 classes (50,000 frames, 1,000,000 prediction rows)
in the Atlas, against the predecessor's way of loading measured in the same run.

Baseline (what zenodo-tools' SQLiteConnector did): a SQLite file, one INSERT per row through
`cursor.execute`, an N+1 lookup before each frame and each frame's predictions, and a commit per
frame (the predecessor's connector committed after every statement, so this is generous to it).
It is slow, so by default it runs on a sample of sessions and is extrapolated linearly; the output
says so. `--baseline-sessions 0` runs it on every session.

    python bench/atlas_ingest.py [--sessions 50] [--frames 1000] [--classes 20] [--baseline-sessions 5]
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

from atlas.connection import open_atlas
from atlas.ingest import DepositRef, VersionRef, register_session
from sessions.ia import OLD_CLASS_COLUMNS, multilabel_csv_name


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


def run_baseline(sessions: list[Path], work: Path) -> tuple[float, int]:
    """The predecessor's loading loop on SQLite, row by row."""
    con = sqlite3.connect(work / "baseline.sqlite")
    con.executescript(BASELINE_SCHEMA)
    con.executemany("INSERT INTO multilabel_class (name, threshold) VALUES (?, 0.5)", [(c,) for c in OLD_CLASS_COLUMNS])
    con.commit()
    class_ids = dict(con.execute("SELECT name, id FROM multilabel_class").fetchall())
    rows = 0
    started = time.perf_counter()
    for index, session in enumerate(sessions):
        deposit, _ = deposit_of(session, index)
        version = str(deposit.versions[0].record_id)
        meta = pd.read_csv(session / "METADATA" / "metadata.csv")
        useful = set(pd.read_csv(session / "METADATA" / "predictions_gps.csv")["FileName"])
        scores = next((session / "PROCESSED_DATA" / "IA").glob("*_scores.csv"))
        scores = pd.read_csv(scores)
        con.execute("INSERT OR IGNORE INTO deposit VALUES (?, ?, NULL)", (deposit.concept_recid, session.name))
        con.execute("INSERT OR IGNORE INTO version VALUES (?, ?)", (version, deposit.concept_recid))
        con.commit()
        for _, row in meta.iterrows():
            if row["FileName"] not in useful:
                continue
            found = con.execute("SELECT id FROM frame WHERE filename = ? AND version_doi = ?",
                                (row["FileName"], version)).fetchall()
            if found:
                continue
            con.execute(
                "INSERT INTO frame (version_doi, OriginalFileName, filename, relative_file_path, GPSPosition,"
                " GPSAltitude, GPSPitch, GPSRoll, GPSTrack, GPSDatetime, GPSFix) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (version, row["OriginalFileName"], row["FileName"], row["relative_file_path"],
                 f"POINT({row['GPSLongitude']} {row['GPSLatitude']})", row["GPSAltitude"], row["GPSPitch"],
                 row["GPSRoll"], row["GPSTrack"], row["SubSecDateTimeOriginal"], int(row["GPSfix"])),
            )
            con.commit()
        columns = [c for c in scores.columns if c != "FileName"]
        for _, row in scores.iterrows():
            frame_id = con.execute("SELECT id FROM frame WHERE filename = ?", (row["FileName"],)).fetchone()[0]
            done = con.execute("SELECT count(*) FROM multilabel_prediction WHERE frame_id = ? AND version_doi = ?",
                               (frame_id, version)).fetchone()[0]
            if done:
                continue
            for column in columns:
                con.execute(
                    "INSERT INTO multilabel_prediction (score, version_doi, frame_id, ml_class_id) VALUES (?,?,?,?)",
                    (float(row[column]), version, frame_id, class_ids[column]),
                )
                rows += 1
            con.commit()
    seconds = time.perf_counter() - started
    con.close()
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--baseline-sessions", type=int, default=5, help="sample size; 0 runs all sessions")
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
        baseline_seconds, rows = run_baseline(sample, work)
        scale = len(sessions) / len(sample)
        estimated = baseline_seconds * scale
        if scale > 1:
            print(f"baseline: measured {baseline_seconds:.2f} s on {len(sample)} of {len(sessions)} sessions "
                  f"({rows} prediction rows); extrapolated x{scale:g} to the full run")
        print(f"baseline_seconds={estimated:.2f}")
        speedup = estimated / atlas_seconds
        print(f"speedup_vs_row_inserts={speedup:.1f}")
        print(f"ratio={speedup:.1f}")


if __name__ == "__main__":
    main()
