from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest
import yaml

from zenodo_atlas.sessions.errors import TemplateError
from zenodo_atlas.sessions.template import (
    ANY_SESSION,
    MetadataTemplate,
    default_template,
    load_people,
    load_template,
    template_people,
)

DATA = Path(str(resources.files("zenodo_atlas.sessions") / "data"))


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    for name in ("metadata_template.yaml", "suivi_session.csv", "contributors.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def _write_yaml(folder: Path, data: dict) -> Path:
    path = folder / "template.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def _base(folder: Path) -> dict:
    return yaml.safe_load((folder / "metadata_template.yaml").read_text())


def test_the_shipped_template_and_people_load():
    template = default_template()
    assert isinstance(template, MetadataTemplate)
    assert template.people.sessions_csv.is_file() and template.people.contributors_csv.is_file()
    people = template_people(template)
    creators, contributors = people.credits_for("20231021_REU-ST-LEU_ASV-1_01")
    assert [c.name for c in creators] == ["Doe, Jane", "Carberry, Josiah"]
    assert creators[1].orcid == "0000-0002-1825-0097"
    assert ("Smith, Alex", "DataManager") in [(c.name, c.type) for c in contributors]


def test_people_paths_are_relative_to_the_template(template_dir: Path, tmp_path: Path):
    data = _base(template_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    template = load_template(_write_yaml(elsewhere, {**data, "people": {
        "sessions_csv": "../suivi_session.csv", "contributors_csv": str(template_dir / "contributors.csv")}}))
    assert template.people.sessions_csv.resolve() == (template_dir / "suivi_session.csv").resolve()


def test_an_invalid_template_raises_one_error_listing_every_problem(template_dir: Path):
    data = _base(template_dir)
    del data["project_name"]
    data["license"] = "  "
    data["access_right"] = "public"
    data["colour"] = "blue"
    data["related_identifiers"] = [{"identifier": "x"}]
    data["people"]["sessions_csv"] = "nowhere.csv"
    with pytest.raises(TemplateError) as caught:
        load_template(_write_yaml(template_dir, data))
    message = str(caught.value)
    assert "has 6 problem(s)" in message and "\n" not in message
    for fragment in ("nowhere.csv does not exist", "project_name: Field required",
                     "license: Value error, must not be empty",
                     "access_right: Input should be", "colour: Extra inputs are not permitted",
                     "related_identifiers.0.relation: Field required"):
        assert fragment in message


def test_a_missing_people_file_is_reported_with_the_other_problems(template_dir: Path):
    data = _base(template_dir)
    data["people"] = {"sessions_csv": "a.csv", "contributors_csv": "b.csv"}
    with pytest.raises(TemplateError, match=r"2 problem\(s\)") as caught:
        load_template(_write_yaml(template_dir, data))
    assert "people.sessions_csv: file" in str(caught.value) and "b.csv does not exist" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("project_name: [unclosed", ".yaml", "not valid YAML"),
        ("{not json", ".json", "not valid JSON"),
        ("- a\n- b\n", ".yaml", "expected a mapping"),
    ],
)
def test_unreadable_templates(tmp_path: Path, content, suffix, message):
    path = tmp_path / f"t{suffix}"
    path.write_text(content)
    with pytest.raises(TemplateError, match=message):
        load_template(path)


def test_a_missing_template_file(tmp_path: Path):
    with pytest.raises(TemplateError, match="cannot be read"):
        load_template(tmp_path / "absent.yaml")


def test_a_predecessor_metadata_json_is_accepted(template_dir: Path):
    old = {
        "_NB": "comment",
        "image_type": "Underwater",
        "platform": {"asv": "ASV boat"},
        "project_name": "Seatizen",
        "csv_session_name_name_abbr_path": "suivi_session.csv",
        "csv_contributors_path": "contributors.csv",
        "related_identifiers": [{"identifier": "https://zenodo.org/doi/10.5281/zenodo.11125847",
                                 "relation": "isMetadataFor", "resource_type": "dataset"}],
        "access_right": "open",
        "license": "cc-by-4.0",
        "keywords": ["Coral"],
        "workflow-link": "https://w", "inference-link": "https://i", "zenodo-link": "https://z",
        "software-link": "https://s",
        "fundings": ["Grant A"],
        "communities": ["seatizen-data"],
    }
    path = template_dir / "metadata.json"
    path.write_text(json.dumps(old))
    template = load_template(path)
    assert template.platforms == {"ASV": "ASV boat"}
    assert (template.links.workflow, template.links.software) == ("https://w", "https://s")
    assert template.people.contributors_csv == template_dir / "contributors.csv"


def test_people_roles_and_unreferenced_members(template_dir: Path):
    people = load_people(template_dir / "suivi_session.csv", template_dir / "contributors.csv")
    _, contributors = people.credits_for("20231021_REU-ST-LEU_ASV-1_01")
    typed = [(c.name, c.type) for c in contributors]
    assert typed == [
        ("Smith, Alex", "DataManager"), ("Doe, Jane", "DataCollector"), ("Rivière, Marie", "DataCollector"),
        ("Carberry, Josiah", "ContactPerson"),
    ]
    other_creators, other = people.credits_for("20240101_MDG-Nosy-Be_PADDLE-1_01")
    assert [c.name for c in other_creators] == ["Doe, Jane"]
    assert ("Carberry, Josiah", "ProjectMember") in [(c.name, c.type) for c in other]


def test_unlisted_sessions_need_a_wildcard_row(template_dir: Path):
    sessions = template_dir / "suivi_session.csv"
    sessions.write_text("\n".join(line for line in sessions.read_text().splitlines()
                                  if not line.startswith(ANY_SESSION)) + "\n")
    people = load_people(sessions, template_dir / "contributors.csv")
    with pytest.raises(TemplateError, match="not in the suivi_session people file"):
        people.credits_for("20240101_MDG-Nosy-Be_PADDLE-1_01")


def test_people_file_problems_are_listed_together(tmp_path: Path):
    contributors = tmp_path / "contributors.csv"
    contributors.write_text('id,name,affiliation,orcid\nJD,"Doe, Jane",X,0000-0002-1825-0098\nAS,,X,\n')
    sessions = tmp_path / "suivi.csv"
    sessions.write_text("session_name,Creators,DataManager\nS,\"JD,ZZ\",QQ\n")
    with pytest.raises(TemplateError) as caught:
        load_people(sessions, contributors)
    message = str(caught.value)
    assert "2 problem(s)" in message
    assert "ORCID 0000-0002-1825-0098 is not valid" in message
    assert "line 3: empty id or name" in message


def test_unknown_abbreviations_only_block_their_own_session(tmp_path: Path):
    contributors = tmp_path / "contributors.csv"
    contributors.write_text('id,name,affiliation,orcid\nJD,"Doe, Jane",X,\n')
    sessions = tmp_path / "suivi.csv"
    sessions.write_text("session_name,Creators,DataManager\nOLD,\"JD, ZZ\",QQ\nNEW,JD,\n")
    people = load_people(sessions, contributors)
    creators, _ = people.credits_for("NEW")
    assert [c.name for c in creators] == ["Doe, Jane"]
    with pytest.raises(TemplateError) as caught:
        people.credits_for("OLD")
    assert "Creators 'ZZ' is not in" in str(caught.value) and "DataManager 'QQ' is not in" in str(caught.value)


def test_people_files_need_their_key_columns(tmp_path: Path):
    contributors = tmp_path / "c.csv"
    contributors.write_text("who,name\nJD,Jane\n")
    sessions = tmp_path / "s.csv"
    sessions.write_text("session,Creators\nS,JD\n")
    with pytest.raises(TemplateError) as caught:
        load_people(sessions, contributors)
    assert "needs columns id (or abbr) and name" in str(caught.value)
    assert "needs a session_name column" in str(caught.value)


def test_a_session_without_creators_is_refused(tmp_path: Path):
    contributors = tmp_path / "c.csv"
    contributors.write_text("abbr,name\nJD,\"Doe, Jane\"\n")
    sessions = tmp_path / "s.csv"
    sessions.write_text("session_name,Creators,DataCollector\nS,,JD\n")
    with pytest.raises(TemplateError, match="has no Creators"):
        load_people(sessions, contributors).credits_for("S")
