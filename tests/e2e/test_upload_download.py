"""A session goes to the local Zenodo and comes back byte for byte, through the real flows."""

from __future__ import annotations

import filecmp
from pathlib import Path

from flows.download import download_session
from flows.upload import upload_session


def same_files(original: Path, rebuilt: Path, *, skip_top: tuple[str, ...] = ()) -> list[str]:
    """Relative paths that differ or are missing in `rebuilt` (files under `skip_top` ignored)."""
    problems = []
    for path in sorted(p for p in original.rglob("*") if p.is_file()):
        relative = path.relative_to(original)
        if relative.parts[0] in skip_top:
            continue
        copy = rebuilt / relative
        if not copy.is_file() or not filecmp.cmp(path, copy, shallow=False):
            problems.append(str(relative))
    return problems


async def test_upload_raw_and_processed_then_download_by_name(zenodo_env, sample_session, tmp_path):
    summary = await upload_session(str(sample_session), raw=True, processed="fmgbi", all_frames=True)

    assert [v.label for v in summary.versions] == ["RAW_DATA", "PROCESSED_DATA"]
    assert summary.concept_doi
    assert zenodo_env.count("POST", "publish") == 2

    result = await download_session(str(tmp_path / "back"), name=sample_session.name)

    assert result.skipped_restricted == []
    assert same_files(sample_session, Path(result.folder)) == []
