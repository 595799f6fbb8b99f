"""The query language on its own: parsing, matching, ranking and errors."""

from __future__ import annotations

import pytest

from zenodo_atlas.zenodo.server.query import Bool, MatchAll, Range, Term, parse
from zenodo_atlas.zenodo.server.responses import ApiError
from zenodo_atlas.zenodo.server.search import ALIASES, KNOWN_FIELDS

DOC = {
    "title": ["Reef survey at Hermitage"],
    "identifiers": ["urn:20230101_REU-Hermitage_ASV-1_01"],
    "related": ["urn:20230101_REU-Hermitage_ASV-1_01", "10.5281/zenodo.1"],
    "conceptrecid": ["100"],
    "updated": ["2024-05-03T10:00:00.000000+00:00"],
    "metadata.custom.dwc:basisOfRecord": ["MachineObservation"],
    "text": ["Reef survey at Hermitage"],
}


def score(q: str) -> int:
    return parse(q, KNOWN_FIELDS).score(DOC, ALIASES)


def test_empty_and_star_match_everything():
    assert isinstance(parse("", KNOWN_FIELDS), MatchAll)
    assert isinstance(parse(" * ", KNOWN_FIELDS), MatchAll)


def test_parse_builds_terms_ranges_and_booleans():
    tree = parse('title:"a b" OR (x AND NOT y) updated:[2024-01-01 TO *]', KNOWN_FIELDS)
    assert isinstance(tree, Bool) and tree.op == "or"
    assert tree.children[0] == Term("title", "a b", phrase=True)
    assert isinstance(tree.children[1], Bool) and tree.children[1].op == "and"
    assert tree.children[2] == Range("updated", "2024-01-01", "*", True, True)


def test_unknown_field_prefix_is_a_bare_word():
    assert parse("urn:abc", KNOWN_FIELDS) == Term(None, "urn:abc")


def test_identifier_query_matches_either_place_and_ranks_both():
    q = 'metadata.identifiers.identifier:"urn:20230101_REU-Hermitage_ASV-1_01" ' \
        'metadata.related_identifiers.identifier:"urn:20230101_REU-Hermitage_ASV-1_01"'
    assert score(q) == 2
    assert score('metadata.identifiers.identifier:"urn:other"') == 0


def test_text_fields_match_words_and_phrases_case_insensitively():
    assert score("title:reef") == 1
    assert score('title:"survey at"') == 1
    assert score('title:"at survey"') == 0
    assert score("hermitage") == 1
    assert score("title:Her*") == 1


def test_exact_fields_and_ranges():
    assert score("conceptrecid:100") == 1
    assert score("conceptrecid:10") == 0
    assert score("conceptrecid:[50 TO 150]") == 1
    assert score("updated:[2024-05-03 TO *]") == 1
    assert score("updated:{2024-05-03 TO *]") == 0
    assert score("updated:[* TO 2024-05-02]") == 0


def test_booleans():
    assert score("reef AND conceptrecid:100") == 2
    assert score("reef AND conceptrecid:1") == 0
    assert score("NOT conceptrecid:1") == 1
    assert score("-reef") == 0


def test_metadata_paths_reach_custom_fields():
    assert score(r'metadata.custom.dwc\:basisOfRecord:"MachineObservation"') == 1


@pytest.mark.parametrize("bad", ['title:"open', "(reef", "reef AND", "a)"])
def test_malformed_queries_are_400(bad):
    with pytest.raises(ApiError) as caught:
        parse(bad, KNOWN_FIELDS)
    assert caught.value.status == 400 and "query" in caught.value.message
