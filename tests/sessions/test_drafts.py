"""What happens to the files a new-version draft starts with."""

from __future__ import annotations

from zenodo_atlas.sessions.drafts import plan_draft_files
from zenodo_atlas.sessions.platforms import rules_for
from zenodo_atlas.zenodo.models import DepositionFile


def _file(name: str, size: int) -> DepositionFile:
    return DepositionFile(id=name, filename=name, filesize=size, checksum="0" * 32)


def test_same_key_and_size_is_kept_other_sizes_are_replaced() -> None:
    plan = plan_draft_files([_file("METADATA.zip", 10), _file("GPS.zip", 5)],
                            {"METADATA.zip": 10, "GPS.zip": 6}, None, drop_all_carried=False)
    assert list(plan.keep_if_md5_matches) == ["METADATA.zip"]
    assert [f.filename for f in plan.delete] == ["GPS.zip"] and plan.carried_over == []


def test_restricted_folders_are_never_carried_into_an_open_version() -> None:
    files = [_file("DCIM_p02.zip", 9), _file("DCIM.zip", 9), _file("PROCESSED_DATA_IA.zip", 3), _file("a.pdf", 1)]
    plan = plan_draft_files(files, {}, rules_for("ASV"), drop_all_carried=False)
    assert sorted(f.filename for f in plan.delete) == ["DCIM.zip", "DCIM_p02.zip"]
    assert plan.carried_over == ["PROCESSED_DATA_IA.zip", "a.pdf"]
    unrestricted = plan_draft_files(files, {}, rules_for("UVC"), drop_all_carried=False)
    assert [f.filename for f in unrestricted.delete] == []


def test_a_raw_part_drops_everything_carried() -> None:
    plan = plan_draft_files([_file("GPS.zip", 5), _file("a.pdf", 1)], {"DCIM_p03.zip": 7}, None, drop_all_carried=True)
    assert sorted(f.filename for f in plan.delete) == ["GPS.zip", "a.pdf"] and plan.carried_over == []
