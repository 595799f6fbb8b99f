"""Small but realistic sessions for tests and demos: real JPEGs with EXIF GPS, the real CSV columns.

Everything derives from `seed` (and the session name), so two runs write byte-identical files;
modification times are pinned too, so archives planned from a sample have stable md5s.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from PIL import ExifTags, Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

from zenodo_atlas.sessions.ia import OLD_CLASS_COLUMNS, jacques_csv_name, multilabel_csv_name
from zenodo_atlas.sessions.naming import parse_session_name
from zenodo_atlas.sessions.platforms import rules_for

# Saint-Leu lagoon, La Réunion: the survey starts inside the reef flat and runs along the coast.
ORIGIN_LAT, ORIGIN_LON = -21.1715, 55.2842
COAST_BEARING_DEG = 20.0
LEG_METRES, LEG_SPACING_METRES, STEP_METRES = 120.0, 25.0, 6.0
FRAME_INTERVAL_S = 5
LOCAL_TZ = timezone(timedelta(hours=4))
PINNED_MTIME = 1_704_067_200  # 2024-01-01T00:00:00Z
_METRES_PER_DEGREE = 111_320.0

# plancha-workflow keeps a fixed list of exiftool tags, adds relative_file_path and sorts the columns
# by name (SeatizenDOI/plancha-workflow, src/lib/lib_dcim.py, time_calibration_and_geotag).
METADATA_COLUMNS = (
    "FileName", "GPSAltitude", "GPSLatitude", "GPSLongitude", "GPSPitch", "GPSRoll", "GPSTrack",
    "GPSfix", "GPSsde", "GPSsdn", "Model", "SubSecDateTimeOriginal", "relative_file_path",
)
# UAV photos keep the camera's own tags (DJI writes a zone-less local DateTimeOriginal).
UAV_METADATA_COLUMNS = (
    "FileName", "relative_file_path", "OriginalFileName", "GPSLatitude", "GPSLongitude",
    "GPSAltitude", "GPSPitch", "GPSRoll", "GPSTrack", "GPSfix", "SubSecDateTimeOriginal",
    "DateTimeOriginal", "GPSDateTime",
)
_CAMERA = {"UAV": ("DJI", "FC6310"), "UVC": ("Olympus", "TG-6"), "AUV": ("Ifremer", "RECIF3D-CAM")}


@dataclass(frozen=True)
class _Fix:
    lat: float
    lon: float
    alt: float
    pitch: float
    roll: float
    track: float
    fix: int
    when: datetime


def default_session_name(platform: str = "ASV") -> str:
    return f"20231021_REU-ST-LEU_{rules_for(platform).platform}-1_01"


def write_sample_session(
    out_dir: Path,
    *,
    name: str | None = None,
    platform: str = "ASV",
    frames: int = 40,
    dcim_mb: float = 2.0,
    seed: int = 0,
    score_columns: Sequence[str] | None = None,
) -> Path:
    """Write `out_dir/<name>/`, a complete session, and return its path."""
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    name = name or default_session_name(platform)
    parsed = parse_session_name(name)
    platform = parsed.platform
    root = Path(out_dir) / name
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} already exists and is not empty; choose another OUT folder")
    rng = random.Random(f"{seed}:{name}")
    columns = tuple(score_columns) if score_columns is not None else OLD_CLASS_COLUMNS
    start = datetime.combine(parsed.date, datetime.min.time(), LOCAL_TZ).replace(hour=9, minute=30)
    fixes = _track(frames, start, rng, aerial=platform in ("UAV", "KITE"))

    frame_names, original_names, rel_paths = _write_images(root, name, platform, fixes, rng)
    _pad_dcim(root, platform, frames, dcim_mb, rng)
    useful = _useful_flags(frames, rng)
    _write_metadata(root, name, platform, fixes, frame_names, original_names, rel_paths)
    _write_ia(root, name, fixes, frame_names, useful, columns, rng)
    _write_gps(root, name, fixes)
    _write_sensors(root, name, fixes, rng)
    _write_root_files(root, name, platform, fixes)
    _pin_mtimes(root)
    return root


def _track(frames: int, start: datetime, rng: random.Random, *, aerial: bool) -> list[_Fix]:
    """A lawn-mower survey: legs parallel to the coast, shifted seaward after each leg."""
    along = math.radians(COAST_BEARING_DEG)
    seaward = math.radians(COAST_BEARING_DEG - 90)
    cos_lat = math.cos(math.radians(ORIGIN_LAT))
    fixes = []
    for i in range(frames):
        travelled = i * STEP_METRES
        leg, offset = divmod(travelled, LEG_METRES)
        forward = int(leg) % 2 == 0
        a = offset if forward else LEG_METRES - offset
        c = leg * LEG_SPACING_METRES
        north = a * math.cos(along) + c * math.cos(seaward) + rng.gauss(0, 0.5)
        east = a * math.sin(along) + c * math.sin(seaward) + rng.gauss(0, 0.5)
        heading = COAST_BEARING_DEG if forward else COAST_BEARING_DEG + 180
        fixes.append(_Fix(
            lat=round(ORIGIN_LAT + north / _METRES_PER_DEGREE, 8),
            lon=round(ORIGIN_LON + east / (_METRES_PER_DEGREE * cos_lat), 8),
            alt=round(rng.uniform(48.0, 52.0) if aerial else rng.uniform(-0.4, 0.1), 3),
            pitch=round(rng.gauss(0, 2), 2),
            roll=round(rng.gauss(0, 2), 2),
            track=round((heading + rng.gauss(0, 4)) % 360, 2),
            fix=rng.choices((1, 2, 5), weights=(85, 10, 5))[0],
            when=start + timedelta(seconds=i * FRAME_INTERVAL_S),
        ))
    return fixes


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 10_000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 10_000)


def _jpeg(fix: _Fix, platform: str, rng: random.Random) -> bytes:
    """A small seabed-looking JPEG carrying the EXIF a camera would write."""
    image = Image.new("RGB", (96, 72), (20 + rng.randrange(30), 90 + rng.randrange(60), 120))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y, r = rng.randrange(96), rng.randrange(72), rng.randrange(3, 14)
        colour = (rng.randrange(120, 240), rng.randrange(90, 200), rng.randrange(40, 160))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    make, model = _CAMERA.get(platform, ("GoPro", "HERO8 Black"))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = make
    exif[ExifTags.Base.Model] = model
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = _exif_time(fix, platform)
    details[ExifTags.Base.SubsecTimeOriginal] = "000"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S" if fix.lat < 0 else "N"
    gps[ExifTags.GPS.GPSLatitude] = _dms(fix.lat)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W" if fix.lon < 0 else "E"
    gps[ExifTags.GPS.GPSLongitude] = _dms(fix.lon)
    gps[ExifTags.GPS.GPSAltitudeRef] = b"\x01" if fix.alt < 0 else b"\x00"
    gps[ExifTags.GPS.GPSAltitude] = IFDRational(round(abs(fix.alt) * 1000), 1000)
    utc = fix.when.astimezone(UTC)
    gps[ExifTags.GPS.GPSDateStamp] = utc.strftime("%Y:%m:%d")
    gps[ExifTags.GPS.GPSTimeStamp] = (
        IFDRational(utc.hour, 1), IFDRational(utc.minute, 1), IFDRational(utc.second, 1)
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif)
    return buffer.getvalue()


def _plancha(platform: str) -> bool:
    """Sessions processed by plancha-workflow: videos in DCIM, frames extracted and geotagged."""
    return rules_for(platform).group in ("ASV", "default")


def _exif_time(fix: _Fix, platform: str) -> str:
    """Cameras write their local clock; plancha geotags frames with GPS (UTC) time."""
    when = fix.when.astimezone(UTC) if _plancha(platform) else fix.when
    return when.strftime("%Y:%m:%d %H:%M:%S")


def _write_images(
    root: Path, name: str, platform: str, fixes: list[_Fix], rng: random.Random
) -> tuple[list[str], list[str], list[str]]:
    """UAV photos in DCIM; plancha frames under PROCESSED_DATA/FRAMES (their video is written by
    `_pad_dcim`); other platforms keep their photos in DCIM/GOPRO1 beside the extracted frames."""
    width = max(3, len(str(len(fixes))))
    frame_names, originals, rel_paths = [], [], []
    for i, fix in enumerate(fixes, start=1):
        data = _jpeg(fix, platform, rng)
        if platform == "UAV":
            original = f"DJI_{i:04d}.JPG"
            _write(root / "DCIM" / original, data)
            frame, rel = original, f"{name}/DCIM/{original}"
        else:
            frame = f"{name}_1_{i:0{width}d}.jpeg"
            original = frame
            if not _plancha(platform):
                original = f"G001{i:04d}.JPG"
                _write(root / "DCIM" / "GOPRO1" / original, data)
            _write(root / "PROCESSED_DATA" / "FRAMES" / frame, data)
            rel = f"{name}/PROCESSED_DATA/FRAMES/{frame}"
        frame_names.append(frame)
        originals.append(original)
        rel_paths.append(rel)
    return frame_names, originals, rel_paths


def _pad_dcim(root: Path, platform: str, frames: int, dcim_mb: float, rng: random.Random) -> None:
    """Bring DCIM to about `dcim_mb` MB with video-like files (a repeated random block); plancha
    sessions always have their GoPro video at the DCIM root, cut in chapters like the camera does."""
    dcim = root / "DCIM"
    dcim.mkdir(parents=True, exist_ok=True)
    current = sum(p.stat().st_size for p in dcim.rglob("*") if p.is_file())
    header = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    missing = max(int(dcim_mb * 1_000_000) - current, len(header) if _plancha(platform) else 0)
    if missing <= 0:
        return
    if platform == "UAV":
        targets = [dcim / f"DJI_{frames + 1:04d}.MP4"]
    elif _plancha(platform):
        targets = [dcim / f"GX{chapter:02d}0001.MP4" for chapter in range(1, 5)]
    else:
        targets = [dcim / "GOPRO1" / "GX010001.MP4"]
    block = rng.randbytes(1 << 16)
    share = -(-missing // len(targets))
    for target in targets:
        size = min(share, missing)
        if size <= 0:
            break
        with target.open("wb") as out:
            out.write(header[:size])
            left = size - min(len(header), size)
            while left > 0:
                chunk = block[:left]
                out.write(chunk)
                left -= len(chunk)
        missing -= size


def _useful_flags(frames: int, rng: random.Random) -> list[bool]:
    flags = [rng.random() < 0.75 for _ in range(frames)]
    flags[0] = True
    return flags


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_metadata(
    root: Path, name: str, platform: str, fixes: list[_Fix],
    frame_names: list[str], originals: list[str], rel_paths: list[str],
) -> None:
    if _plancha(platform):
        rows = [_plancha_row(fix, frame, rel) for fix, frame, rel in zip(fixes, frame_names, rel_paths, strict=True)]
        _write_csv(root / "METADATA" / "metadata.csv", METADATA_COLUMNS, rows)
    else:
        _write_camera_metadata(root, platform, fixes, frame_names, originals, rel_paths)
    config = {"session_name": name, "dcim": {"frames_per_second": 1 / FRAME_INTERVAL_S},
              "gps": {"ppk": True}, "bathy": {"enabled": False}}
    _write(root / "METADATA" / "prog_config.json", json.dumps(config, indent=2).encode())


def _plancha_row(fix: _Fix, frame: str, rel: str) -> list[object]:
    """plancha's forms: numpy's nanosecond time without zone, a GPS fix interpolated as a float."""
    stamp = fix.when.astimezone(UTC).strftime("%Y:%m:%d %H:%M:%S") + ".000000000"
    return [
        frame, fix.alt, fix.lat, fix.lon, fix.pitch, fix.roll, fix.track, float(fix.fix),
        0.012, 0.009, "HERO8 Black", stamp, rel,
    ]


def _write_camera_metadata(
    root: Path, platform: str, fixes: list[_Fix],
    frame_names: list[str], originals: list[str], rel_paths: list[str],
) -> None:
    """exiftool's dump of the camera's own tags: a zone-less local clock, GPSDateTime in UTC."""
    extra = ("CameraModel", "Depth") if platform == "AUV" else ("Make", "Model")
    rows = []
    for fix, frame, original, rel in zip(fixes, frame_names, originals, rel_paths, strict=True):
        local = fix.when.strftime("%Y:%m:%d %H:%M:%S")
        utc = fix.when.astimezone(UTC).strftime("%Y:%m:%d %H:%M:%S")
        row: list[object] = [
            frame, rel, original, fix.lat, fix.lon, fix.alt, fix.pitch, fix.roll, fix.track, fix.fix,
            f"{local}.000", local, f"{utc}Z",
        ]
        if platform == "AUV":
            row += [_CAMERA["AUV"][1], round(abs(fix.alt) + 3.0, 2)]
        else:
            row += list(_CAMERA.get(platform, ("GoPro", "HERO8 Black")))
        rows.append(row)
    _write_csv(root / "METADATA" / "metadata.csv", UAV_METADATA_COLUMNS + extra, rows)


def _write_ia(
    root: Path, name: str, fixes: list[_Fix], frame_names: list[str], useful: list[bool],
    columns: Sequence[str], rng: random.Random,
) -> None:
    ia = root / "PROCESSED_DATA" / "IA"
    jacques = [
        [frame, 0 if ok else 1, round(rng.uniform(0.6, 1.0), 4)]
        for frame, ok in zip(frame_names, useful, strict=True)
    ]
    _write_csv(ia / jacques_csv_name(name), ("FileName", "Useless", "Score"), jacques)
    scores, predictions, gps_rows = [], [], []
    for fix, frame, ok in zip(fixes, frame_names, useful, strict=True):
        if not ok:
            continue
        values = [round(rng.random(), 4) for _ in columns]
        flags = [int(v >= 0.5) for v in values]
        scores.append([frame, *values])
        predictions.append([frame, *flags])
        gps_rows.append([frame, fix.lat, fix.lon, fix.fix, *flags])
    _write_csv(ia / multilabel_csv_name(name, scores=True), ("FileName", *columns), scores)
    _write_csv(ia / multilabel_csv_name(name, scores=False), ("FileName", *columns), predictions)
    _write_csv(
        root / "METADATA" / "predictions_gps.csv",
        ("FileName", "GPSLatitude", "GPSLongitude", "GPSfix", *columns), gps_rows,
    )


def _write_gps(root: Path, name: str, fixes: list[_Fix]) -> None:
    points = "\n".join(
        f'      <trkpt lat="{f.lat}" lon="{f.lon}"><ele>{f.alt}</ele>'
        f"<time>{f.when.astimezone(UTC).isoformat().replace('+00:00', 'Z')}</time></trkpt>"
        for f in fixes
    )
    gpx = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="zenodo-atlas sample" xmlns="http://www.topografix.com/GPX/1/1">\n'
        f"  <trk><name>{name}</name><trkseg>\n{points}\n  </trkseg></trk>\n</gpx>\n"
    )
    _write(root / "GPS" / "DEVICE" / f"{name}_device.gpx", gpx.encode())
    pos = ["% GPST                  latitude(deg) longitude(deg)  height(m)   Q  ns"]
    for f in fixes:
        when = f.when.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S.000")
        pos.append(f"{when}  {f.lat:.9f}  {f.lon:.9f}  {f.alt:9.4f}  {f.fix}  12")
    _write(root / "GPS" / "DEVICE" / f"{name}_ppk_solution.pos", ("\n".join(pos) + "\n").encode())
    # The Emlid Reach export plancha unpacks into a `*_LLH` folder (GPSManager in plancha-workflow).
    start = fixes[0].when.astimezone(UTC)
    llh = [
        f"{f.when.astimezone(UTC):%Y/%m/%d %H:%M:%S}.000   {f.lat:.9f}   {f.lon:.9f}   {f.alt:8.4f}   {f.fix}  12"
        for f in fixes
    ]
    _write(root / "GPS" / "DEVICE" / f"reach_raw_{start:%Y%m%d%H%M%S}_LLH" / f"solution_{start:%Y%m%d%H%M}.LLH",
           ("\n".join(llh) + "\n").encode())
    rinex = (
        f"{'3.03':>9}           OBSERVATION DATA    M                   RINEX VERSION / TYPE\n"
        f"{'STLEU':<60}MARKER NAME\n"
        f"{'':<60}END OF HEADER\n"
    )
    _write(root / "GPS" / "BASE" / f"{name}_base.o", rinex.encode())


def _write_sensors(root: Path, name: str, fixes: list[_Fix], rng: random.Random) -> None:
    waypoints = ["QGC WPL 110"]
    for i, f in enumerate(fixes[:: max(1, len(fixes) // 5)]):
        waypoints.append("\t".join(map(str, (i, 0, 3, 16, 0, 0, 0, 0, f.lat, f.lon, 0, 1))))
    # Field folders hold non-ASCII names (French place names) and nested autopilot logs.
    _write(root / "SENSORS" / f"{name}_mission_récif.waypoints", ("\n".join(waypoints) + "\n").encode())
    log = [f"{f.when.isoformat()} heading={f.track} fix={f.fix}" for f in fixes]
    _write(root / "SENSORS" / "logs" / f"{name}_autopilot.log", ("\n".join(log) + "\n").encode())
    _write(root / "SENSORS" / "logs" / f"{name}_flight.bin", rng.randbytes(4096))


def _write_root_files(root: Path, name: str, platform: str, fixes: list[_Fix]) -> None:
    """The preview PDF every session has, and the raw-data overview PNG of UAV sessions."""
    lats = [f.lat for f in fixes]
    lons = [f.lon for f in fixes]
    span_lat = (max(lats) - min(lats)) or 1e-6
    span_lon = (max(lons) - min(lons)) or 1e-6
    image = Image.new("RGB", (200, 200), "white")
    draw = ImageDraw.Draw(image)
    points = [
        (10 + 180 * (lon - min(lons)) / span_lon, 190 - 180 * (lat - min(lats)) / span_lat)
        for lat, lon in zip(lats, lons, strict=True)
    ]
    draw.line([*points, points[-1]], fill="navy", width=2)
    pdf = io.BytesIO()
    pinned = time.gmtime(PINNED_MTIME)
    image.save(pdf, "PDF", title=name, creationDate=pinned, modDate=pinned)
    _write(root / f"000_{name}_preview.pdf", pdf.getvalue())
    if platform == "UAV":
        png = io.BytesIO()
        image.save(png, "PNG")
        _write(root / "00_sample_rawdata_overview.png", png.getvalue())


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _pin_mtimes(root: Path) -> None:
    for path in root.rglob("*"):
        os.utime(path, (PINNED_MTIME, PINNED_MTIME), follow_symlinks=False)


def write_sample_annotations(
    session_dir: Path,
    out_dir: Path,
    *,
    author: str = "jdoe",
    dataset: str = "demo",
    labels: Sequence[str],
) -> Path:
    """A predecessor-format annotation CSV (values 1/0/-1) for every other useful frame."""
    if not labels:
        raise ValueError("labels must name at least one label column")
    for part, value in (("author", author), ("dataset", dataset)):
        if "__" in value or "/" in value or not value:
            raise ValueError(f"{part} {value!r} must be non-empty, without '__' or '/'")
    session_dir = Path(session_dir)
    parsed = parse_session_name(session_dir.name)
    with (session_dir / "METADATA" / "predictions_gps.csv").open(newline="", encoding="utf-8") as f:
        frames = [row["FileName"] for row in csv.DictReader(f)][::2]
    rng = random.Random(f"annotations:{session_dir.name}:{author}:{dataset}")
    rows = [[frame, *(rng.choice((1, 0, 0, -1)) for _ in labels)] for frame in frames]
    stamp = (datetime.combine(parsed.date, datetime.min.time()) + timedelta(days=30, hours=14))
    path = Path(out_dir) / f"{stamp:%Y%m%d_%H%M%S}__{author}__{dataset}_labels.csv"
    _write_csv(path, ("FileName", *labels), rows)
    return path
