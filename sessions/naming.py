"""Session folder names: `YYYYMMDD_CCC-Place_PLATFORM-N_NN`, parsed into typed parts."""

from __future__ import annotations

import re
from datetime import date, datetime

import pycountry
from pydantic import BaseModel, ConfigDict

from zenodo_atlas.sessions.errors import InvalidSessionName
from zenodo_atlas.sessions.platforms import KNOWN_PLATFORMS

EXPECTED_SHAPE = "YYYYMMDD_CCC-Place_PLATFORM-N_NN"
EXAMPLE = "20231021_REU-ST-LEU_ASV-2_01"

__all__ = ["EXPECTED_SHAPE", "InvalidSessionName", "SessionName", "country_name", "parse_session_name"]


class SessionName(BaseModel):
    model_config = ConfigDict(frozen=True)

    raw: str
    date: date
    country_code: str
    country_name: str
    place: str
    platform: str
    platform_number: int | None = None
    session_number: int | None = None

    def __str__(self) -> str:
        return self.raw

    @property
    def urn(self) -> str:
        """The alternate identifier that finds this session's Zenodo concept."""
        return f"urn:{self.raw}"


def _invalid(name: str, problem: str) -> InvalidSessionName:
    return InvalidSessionName(
        f"invalid session name {name!r}: {problem}; expected {EXPECTED_SHAPE} (e.g. {EXAMPLE})"
    )


def country_name(alpha3: str) -> str | None:
    """The usual English name of an ISO 3166 alpha-3 code, or None when the code is unknown."""
    country = pycountry.countries.get(alpha_3=alpha3.upper())
    if country is None:
        return None
    return getattr(country, "common_name", None) or country.name


def _place(parts: list[str]) -> str:
    return "-".join(p[:1].upper() + p[1:].lower() for p in parts)


def parse_session_name(name: str) -> SessionName:
    """Parse a session folder name; InvalidSessionName says which part is wrong."""
    tokens = name.split("_")
    if len(tokens) not in (3, 4) or not all(tokens):
        raise _invalid(name, f"found {len(tokens)} '_'-separated parts, expected 3 or 4")
    date_token, where, platform_token, *rest = tokens

    if not re.fullmatch(r"\d{8}", date_token):
        raise _invalid(name, f"date {date_token!r} is not 8 digits YYYYMMDD")
    try:
        day = datetime.strptime(date_token, "%Y%m%d").date()
    except ValueError:
        raise _invalid(name, f"date {date_token!r} is not a calendar date") from None

    code, *place_parts = where.split("-")
    if not re.fullmatch(r"[A-Za-z]{3}", code):
        raise _invalid(name, f"country {code!r} is not a 3-letter ISO code")
    country = country_name(code)
    if country is None:
        raise _invalid(name, f"country code {code!r} is not an ISO 3166 alpha-3 code")
    if not place_parts or not all(place_parts):
        raise _invalid(name, f"place missing or empty in {where!r} (expected CCC-Place)")

    platform, _, number = platform_token.partition("-")
    if platform.upper() not in KNOWN_PLATFORMS:
        raise _invalid(
            name, f"platform {platform!r} is not one of {', '.join(KNOWN_PLATFORMS)}"
        )
    if number and not number.isdigit():
        raise _invalid(name, f"platform number {number!r} is not a number")

    session_number = None
    if rest:
        if not rest[0].isdigit():
            raise _invalid(name, f"session number {rest[0]!r} is not a number")
        session_number = int(rest[0])

    return SessionName(
        raw=name, date=day, country_code=code.upper(), country_name=country,
        place=_place(place_parts), platform=platform.upper(),
        platform_number=int(number) if number else None, session_number=session_number,
    )
