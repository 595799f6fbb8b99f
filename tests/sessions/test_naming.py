from __future__ import annotations

from datetime import date

import pytest

from zenodo_atlas.sessions.errors import InvalidSessionName
from zenodo_atlas.sessions.naming import SessionName, country_alpha2, parse_session_name, read_session_name


@pytest.mark.parametrize(
    ("raw", "day", "code", "country", "place", "platform", "platform_number", "session_number"),
    [
        ("20231021_REU-ST-LEU_ASV-2_01", date(2023, 10, 21), "REU", "Réunion", "St-Leu", "ASV", 2, 1),
        ("20221023_SYC-aldabra-arm06_UAV-02_17", date(2022, 10, 23), "SYC", "Seychelles",
         "Aldabra-Arm06", "UAV", 2, 17),
        ("20150611_REU-St-Gilles_scuba", date(2015, 6, 11), "REU", "Réunion", "St-Gilles", "SCUBA",
         None, None),
        ("20010101_FRA-BREST_ASV-01_01", date(2001, 1, 1), "FRA", "France", "Brest", "ASV", 1, 1),
        ("15471212_SYC-CAP-HORNE-BLEU_UAV_01", date(1547, 12, 12), "SYC", "Seychelles",
         "Cap-Horne-Bleu", "UAV", None, 1),
    ],
)
def test_predecessor_examples(raw, day, code, country, place, platform, platform_number, session_number):
    name = parse_session_name(raw)
    assert name == SessionName(
        raw=raw, date=day, country_code=code, country_name=country, place=place, platform=platform,
        platform_number=platform_number, session_number=session_number,
    )
    assert str(name) == raw
    assert name.urn == f"urn:{raw}"


def test_lower_case_country_code_is_normalised():
    name = parse_session_name("20231021_mdg-Nosy-Be_PADDLE-1_02")
    assert (name.country_code, name.country_name, name.platform) == ("MDG", "Madagascar", "PADDLE")


def test_country_uses_the_common_name():
    assert parse_session_name("20231021_KOR-Jeju_BOAT-1_01").country_name == "South Korea"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "parts"),
        ("20231021_REU-ST-LEU", "parts"),
        ("20231021_REU-ST-LEU_ASV-1_01_extra", "parts"),
        ("20231021__ASV-1_01", "parts"),
        ("2023102_REU-ST-LEU_ASV-1_01", "8 digits"),
        ("2023-10-21_REU-ST-LEU_ASV-1_01", "8 digits"),
        ("20231321_REU-ST-LEU_ASV-1_01", "not a calendar date"),
        ("20230229_REU-ST-LEU_ASV-1_01", "not a calendar date"),
        ("20231021_XXX-ST-LEU_ASV-1_01", "not an ISO 3166"),
        ("20231021_RE-ST-LEU_ASV-1_01", "3-letter"),
        ("20231021_REU_ASV-1_01", "place missing"),
        ("20231021_REU-_ASV-1_01", "place missing"),
        ("20231021_REU-ST--LEU_ASV-1_01", "place missing"),
        ("20231021_REU-ST-LEU_CAR-1_01", "platform 'CAR'"),
        ("20231021_REU-ST-LEU_ASV-x_01", "platform number"),
        ("20231021_REU-ST-LEU_ASV-1_aa", "session number"),
    ],
)
def test_invalid_names_say_what_and_the_expected_shape(raw, reason):
    with pytest.raises(InvalidSessionName) as caught:
        parse_session_name(raw)
    message = str(caught.value)
    assert reason in message
    assert "YYYYMMDD_CCC-Place_PLATFORM-N_NN" in message
    assert isinstance(caught.value, ValueError)


def test_leap_day_is_accepted():
    assert parse_session_name("20240229_REU-ST-LEU_ASV-1_01").date == date(2024, 2, 29)


def test_lenient_reading_of_a_full_name_matches_the_strict_one() -> None:
    parsed = read_session_name("20221023_SYC-aldabra-arm06_UAV-02_17")
    assert parsed.model_dump() == parse_session_name("20221023_SYC-aldabra-arm06_UAV-02_17").model_dump()
    assert (parsed.date, parsed.country_code, parsed.country_name, parsed.place, parsed.platform) == (
        date(2022, 10, 23), "SYC", "Seychelles", "Aldabra-Arm06", "UAV"
    )


def test_lenient_reading_keeps_what_fits_of_odd_names() -> None:
    parsed = read_session_name("20150611_REU-St-Gilles_rov")
    assert (parsed.platform, parsed.country_code, parsed.place) == ("ROV", "REU", "St-Gilles")
    with pytest.raises(InvalidSessionName, match="platform 'rov'"):
        parse_session_name("20150611_REU-St-Gilles_rov")
    odd = read_session_name("notadate_XXX")
    assert (odd.date, odd.country_code, odd.country_name, odd.place, odd.platform) == (None, None, None, None, None)


def test_country_alpha2() -> None:
    assert country_alpha2("REU") == "RE" and country_alpha2("mus") == "MU"
    assert country_alpha2(None) is None and country_alpha2("ZZZ") is None
