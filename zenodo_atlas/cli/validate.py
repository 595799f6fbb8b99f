"""What each command checks before any flow starts (and before Prefect is imported).

A wrong name, letter, flag, template, CSV or setting fails in about a second with one line that
names the flag or variable and how to fix it, instead of after a Prefect server has started. The
checks call the same library functions the flows use, so the rules keep one home.
"""

from __future__ import annotations

import re
from pathlib import Path

from rich.markup import escape

from zenodo_atlas.atlas.reference import reference_class_columns
from zenodo_atlas.cli.errors import fail, stderr
from zenodo_atlas.sessions.download_lists import frames_from_csv, requests_from_csv
from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.layout import require_ready
from zenodo_atlas.sessions.listing import sessions_from
from zenodo_atlas.sessions.naming import parse_session_name
from zenodo_atlas.sessions.plan import folders_from_letters
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.sessions.template import default_template, load_template, template_people
from zenodo_atlas.settings import Settings, SettingsError, load_settings

USAGE = 2
"""Exit code of a missing or contradictory flag (as click's usage errors)."""

_DOI = re.compile(r"10\.\d{4,9}/\S+")


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def atlas_file(atlas: Path | None, config: Settings) -> Path:
    """The Atlas path the command will use; a folder is refused with the file to give."""
    path = atlas if atlas is not None else config.atlas_path
    flag = "--atlas" if atlas is not None else "ATLAS_ATLAS_PATH"
    if path.is_dir():
        raise fail(f"{flag} {path} is a folder, not an Atlas file; give the .duckdb file, e.g. "
                   f"{flag} {path / 'seatizen_atlas.duckdb'}")
    return path


def letters(value: str | None, mode: str) -> None:
    if value is not None:
        try:
            folders_from_letters(value, mode)  # type: ignore[arg-type]
        except SessionError as exc:
            raise fail(f"--{mode} {value!r}: {exc}") from None


def template(path: Path | None, config: Settings) -> None:
    """The metadata template and its people files, every problem in one line."""
    chosen = path or config.metadata_template
    try:
        template_people(load_template(chosen) if chosen else default_template())
    except SessionError as exc:
        flag = "--metadata" if path else "ATLAS_METADATA_TEMPLATE"
        raise fail(f"{exc} (given by {flag})" if chosen else str(exc)) from None


def upload_sessions(
    paths: list[Path], csv_file: Path | None, *, raw: bool, processed: str | None, needs_ready: bool
) -> list[Session]:
    """Every session of the request opened, and (when uploading) ready; all problems in one line."""
    try:
        found = sessions_from([str(p) for p in paths], str(csv_file) if csv_file else None)
    except SessionError as exc:
        raise fail(str(exc), USAGE if "no session given" in str(exc) else 1) from None
    sessions: list[Session] = []
    problems: list[str] = []
    for path in found:
        try:
            session = Session.open(path)
            if needs_ready and raw:
                require_ready(session, "raw")
            if needs_ready and processed:
                for problem in require_ready(session, "processed", reference_class_columns()).warnings:
                    stderr.print(f"[yellow]warning:[/] {escape(session.name.raw)}: {escape(problem.path)}: "
                                 f"{escape(problem.message)}", highlight=False, soft_wrap=True)
            sessions.append(session)
        except SessionError as exc:
            problems.append(str(exc).split(". Run `")[0])
    if problems:
        where = f"{len(problems)} of {len(found)} session(s) cannot be uploaded" if len(found) > 1 else "cannot upload"
        raise fail(f"{where}: {'; '.join(problems)}; fix them (`zenodo-atlas session check` lists every "
                   "problem) or leave them out")
    return sessions


def session_name(name: str) -> None:
    try:
        parse_session_name(name)
    except SessionError as exc:
        raise fail(f"--name {name!r}: {exc}") from None


def doi(value: str) -> None:
    if not _DOI.fullmatch(value.removeprefix("https://doi.org/")):
        raise fail(f"--doi {value!r} is not a DOI; give one like 10.5281/zenodo.1234567")


def out_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise fail(f"--out {out} is a file; give a folder (it is created if missing)")


def listing(csv_file: Path | None, frames: Path | None) -> None:
    try:
        if csv_file is not None:
            requests_from_csv(str(csv_file))
        if frames is not None:
            frames_from_csv(str(frames))
    except SessionError as exc:
        raise fail(str(exc)) from None
    except ValueError as exc:
        flag = "--csv" if csv_file is not None else "--frames"
        raise fail(f"{flag}: {exc}") from None


def register_items(items: list[str]) -> None:
    """Each item is a session folder, a session name or a DOI."""
    for item in items:
        try:
            if Path(item).is_dir():
                Session.open(item)
            elif not ("/" in item or item.isdigit()):
                parse_session_name(item)
        except SessionError as exc:
            raise fail(f"{item!r} is not a session folder, session name or DOI: {exc}") from None
