from datetime import date

from zenodo_atlas.atlas.naming import alpha2, parse_session_name


def test_full_name() -> None:
    parsed = parse_session_name("20221023_SYC-aldabra-arm06_UAV-02_17")
    assert (parsed.session_date, parsed.country_code, parsed.country, parsed.place, parsed.platform) == (
        date(2022, 10, 23), "SYC", "Seychelles", "Aldabra-Arm06", "UAV"
    )


def test_odd_names_do_not_raise() -> None:
    parsed = parse_session_name("20150611_REU-St-Gilles_scuba")
    assert parsed.platform == "SCUBA" and parsed.country_code == "REU"
    odd = parse_session_name("notadate_XXX")
    assert (odd.session_date, odd.country_code, odd.place, odd.platform) == (None, None, None, None)


def test_alpha2() -> None:
    assert alpha2("REU") == "RE" and alpha2("MUS") == "MU" and alpha2(None) is None and alpha2("ZZZ") is None
