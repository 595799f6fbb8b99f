"""The metadata template (what the predecessor kept in metadata.json) and the people files.

A template is validated as a whole: a user fixing a template sees every problem at once, in one
TemplateError, instead of one per run.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zenodo_atlas.sessions.errors import TemplateError
from zenodo_atlas.zenodo.models import AccessRight, Contributor, Creator, RelatedIdentifier

PEOPLE_ROLES = ("DataManager", "DataCollector", "ContactPerson", "ProjectMember")
ANY_SESSION = "*"
"""A suivi_session row with this session_name applies to sessions not listed by name."""


class Links(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workflow: str | None = None
    inference: str | None = None
    zenodo: str | None = None
    software: str | None = None


class PeopleFiles(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sessions_csv: Path = Field(description="suivi_session CSV: session_name, Creators, DataManager, ...")
    contributors_csv: Path = Field(description="contributors CSV: id, name, affiliation, orcid")


class MetadataTemplate(BaseModel):
    """Everything about a publication that is not read from the session itself."""

    model_config = ConfigDict(extra="forbid")

    image_type: Literal["Underwater", "Aerial"] | None = None
    platforms: dict[str, str] = Field(default_factory=dict, description="platform code -> human name")
    project_name: str
    people: PeopleFiles
    related_identifiers: list[RelatedIdentifier] = Field(default_factory=list)
    access_right: AccessRight = "open"
    access_conditions: str = "Access is granted on request to anyone who explains their use of the data."
    license: str
    keywords: list[str] = Field(default_factory=list)
    links: Links = Field(default_factory=Links)
    fundings: list[str] = Field(default_factory=list)
    communities: list[str] = Field(default_factory=list)
    description: str | None = None
    version: str | None = None
    title: str | None = None

    @field_validator("project_name", "license")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("platforms")
    @classmethod
    def _upper_codes(cls, value: dict[str, str]) -> dict[str, str]:
        return {code.upper(): name for code, name in value.items()}


_PREDECESSOR_KEYS: dict[str, str | tuple[str, str]] = {
    "platform": "platforms",
    "workflow-link": ("links", "workflow"),
    "inference-link": ("links", "inference"),
    "zenodo-link": ("links", "zenodo"),
    "software-link": ("links", "software"),
    "csv_session_name_name_abbr_path": ("people", "sessions_csv"),
    "csv_contributors_path": ("people", "contributors_csv"),
}


def _from_predecessor(data: dict[str, Any]) -> dict[str, Any]:
    """Accept the predecessor's metadata.json keys, so existing files keep working."""
    converted: dict[str, Any] = {}
    for key, value in data.items():
        if key == "_NB":
            continue
        target = _PREDECESSOR_KEYS.get(key, key)
        if isinstance(target, tuple):
            converted.setdefault(target[0], {})[target[1]] = value
        else:
            converted[target] = value
    return converted


def _location(error: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in error["loc"]) or "<template>"


def _template_file(file: Path, template_dir: Path) -> Path:
    """A relative people path is looked up beside the template, then from the working folder: the
    predecessor's metadata.json names `./metadata/contributors/...` from the folder it runs in
    (SeatizenDOI/zenodo-tools, src/seatizen_session/ss_metadata.py reads them with the cwd)."""
    if file.is_absolute():
        return file
    beside = template_dir / file
    return beside if beside.is_file() or not file.is_file() else file.absolute()


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"metadata template {path}: cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(f"metadata template {path}: not valid {path.suffix[1:].upper() or 'YAML'}: {exc}") \
            from None
    if not isinstance(data, dict):
        raise TemplateError(f"metadata template {path}: expected a mapping of fields at the top level")
    return data


def load_template(path: Path | str) -> MetadataTemplate:
    """A template from YAML or JSON; people paths are relative to the template's folder (or, as the
    predecessor's, to the working folder)."""
    path = Path(path).expanduser()
    data = _read_mapping(path)
    converted = _from_predecessor(data)
    problems: list[str] = []
    try:
        template: MetadataTemplate | None = MetadataTemplate.model_validate(converted)
    except ValidationError as exc:
        problems = [f"{_location(e)}: {e['msg']}" for e in exc.errors()]
        template = None
    # People files are checked even when other fields are wrong, so one run lists every problem.
    named = converted.get("people")
    people: dict[str, Any] = named if isinstance(named, dict) else {}
    resolved: dict[str, Path] = {}
    for field in ("sessions_csv", "contributors_csv"):
        if not isinstance(people.get(field), str | Path):
            continue
        file = _template_file(Path(people[field]).expanduser(), path.parent)
        if not file.is_file():
            problems.append(f"people.{field}: file {file} does not exist (looked beside the template "
                            "and in the working folder)")
        resolved[field] = file
    if problems:
        raise TemplateError(f"metadata template {path} has {len(problems)} problem(s): {'; '.join(problems)}")
    assert template is not None
    return template.model_copy(update={"people": PeopleFiles(**resolved)})


def default_template() -> MetadataTemplate:
    """The template shipped with the package (with demo people files)."""
    with resources.as_file(resources.files("zenodo_atlas.sessions") / "data" / "metadata_template.yaml") as path:
        return load_template(path)


class People(BaseModel):
    """Who made each session: creators and typed contributors, resolved from abbreviations."""

    by_session: dict[str, dict[str, list[str]]]
    directory: dict[str, Creator]
    row_problems: dict[str, list[str]] = Field(
        default_factory=dict, description="session_name -> problems of its row, raised only when it is used"
    )

    def credits_for(self, session_name: str) -> tuple[list[Creator], list[Contributor]]:
        key = session_name if session_name in self.by_session else ANY_SESSION
        roles = self.by_session.get(key)
        if roles is None:
            raise TemplateError(
                f"session {session_name} is not in the suivi_session people file; add a row for it "
                f"(or a row with session_name '{ANY_SESSION}' that applies to every unlisted session)"
            )
        if self.row_problems.get(key):
            raise TemplateError(f"session {session_name}: " + "; ".join(self.row_problems[key]))
        creators = [self.directory[a].model_copy() for a in roles.get("Creators", [])]
        if not creators:
            raise TemplateError(f"session {session_name} has no Creators in the suivi_session people file")
        contributors, referenced = [], set(roles.get("Creators", []))
        for role in PEOPLE_ROLES:
            for abbr in roles.get(role, []):
                referenced.add(abbr)
                contributors.append(Contributor(**self.directory[abbr].model_dump(), type=role))
        contributors += [
            Contributor(**person.model_dump(), type="ProjectMember")
            for abbr, person in self.directory.items() if abbr not in referenced
        ]
        return creators, contributors


def _orcid_ok(orcid: str) -> bool:
    """ISO 7064 11,2 check digit, the one Zenodo verifies."""
    digits = orcid.replace("-", "")
    if len(digits) != 16 or not digits[:15].isdigit():
        return False
    total = 0
    for d in digits[:15]:
        total = (total + int(d)) * 2
    check = (12 - total % 11) % 11
    return digits[15].upper() == ("X" if check == 10 else str(check))


def _read_csv(path: Path, problems: list[str]) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            return list(reader.fieldnames or []), list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(f"{path}: cannot be read as a UTF-8 CSV ({exc})")
        return [], []


def load_people(sessions_csv: Path, contributors_csv: Path) -> People:
    """Join the suivi_session CSV (abbreviations per role) with the contributors CSV (who they are).

    A row naming an unknown abbreviation is only an error for its own session: the real suivi_session
    file lists years of sessions, and old rows must not block today's upload."""
    problems: list[str] = []
    fields, rows = _read_csv(contributors_csv, problems)
    key = "id" if "id" in fields else "abbr"
    if fields and (key not in fields or "name" not in fields):
        problems.append(f"{contributors_csv}: needs columns id (or abbr) and name")
    directory: dict[str, Creator] = {}
    for line, row in enumerate(rows, start=2):
        abbr, name = (row.get(key) or "").strip(), (row.get("name") or "").strip()
        if not abbr or not name:
            problems.append(f"{contributors_csv} line {line}: empty {key} or name")
            continue
        orcid = (row.get("orcid") or "").strip() or None
        if orcid and not _orcid_ok(orcid):
            problems.append(f"{contributors_csv} line {line}: ORCID {orcid} is not valid (check digit)")
            orcid = None
        directory[abbr] = Creator(name=name, affiliation=(row.get("affiliation") or "").strip() or None,
                                  orcid=orcid)
    fields, rows = _read_csv(sessions_csv, problems)
    if fields and "session_name" not in fields:
        problems.append(f"{sessions_csv}: needs a session_name column")
    by_session: dict[str, dict[str, list[str]]] = {}
    row_problems: dict[str, list[str]] = {}
    for line, row in enumerate(rows, start=2):
        session = (row.get("session_name") or "").strip()
        roles: dict[str, list[str]] = {}
        unknown = []
        for role in ("Creators", *PEOPLE_ROLES):
            abbrs = [a.strip() for a in (row.get(role) or "").split(",") if a.strip()]
            unknown += [f"{sessions_csv} line {line}: {role} {abbr!r} is not in {contributors_csv}"
                        for abbr in abbrs if abbr not in directory]
            roles[role] = [a for a in abbrs if a in directory]
        if session:
            by_session[session] = roles
            row_problems[session] = unknown
    if problems:
        raise TemplateError(f"people files have {len(problems)} problem(s): {'; '.join(problems)}")
    return People(by_session=by_session, directory=directory, row_problems=row_problems)


def template_people(template: MetadataTemplate) -> People:
    return load_people(template.people.sessions_csv, template.people.contributors_csv)


class AtlasRecordTemplate(BaseModel):
    """The Atlas record's own metadata, in the predecessor's metadata_seatizen_atlas.json format:
    `description` names a text file (its line breaks dropped, as the predecessor does) or is the text."""

    model_config = ConfigDict(extra="ignore")  # its `version` is replaced by the next Atlas label

    title: str = "Seatizen Atlas"
    creators: list[Creator] = Field(min_length=1)
    description: str
    related_identifiers: list[RelatedIdentifier] = Field(default_factory=list)
    access_right: AccessRight = "open"
    license: str = "cc-by-4.0"
    keywords: list[str] = Field(default_factory=list)
    communities: list[str] | None = None


def load_atlas_template(path: Path | str) -> AtlasRecordTemplate:
    """The Atlas record template; a description file is found like the people files."""
    path = Path(path).expanduser()
    data = {k: v for k, v in _read_mapping(path).items() if k != "_NB"}
    try:
        template = AtlasRecordTemplate.model_validate(data)
    except ValidationError as exc:
        listed = "\n".join(f"  - {_location(e)}: {e['msg']}" for e in exc.errors())
        raise TemplateError(f"Atlas template {path} has {len(exc.errors())} problem(s):\n{listed}") from None
    text = template.description
    if "\n" not in text and text.endswith((".txt", ".html", ".md")):
        file = _template_file(Path(text), path.parent)
        if not file.is_file():
            raise TemplateError(f"Atlas template {path}: description file {file} does not exist (looked beside "
                                "the template and in the working folder)")
        text = file.read_text(encoding="utf-8").replace("\n", "")
    return template.model_copy(update={"description": text})
