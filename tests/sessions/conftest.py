"""Fixtures the session tests share: the packaged metadata template and its people."""

from __future__ import annotations

import pytest

from zenodo_atlas.sessions.metadata import MetadataTemplate, People, default_template, template_people


@pytest.fixture(scope="module")
def template() -> MetadataTemplate:
    return default_template()


@pytest.fixture(scope="module")
def people(template: MetadataTemplate) -> People:
    return template_people(template)
