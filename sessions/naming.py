"""Session folder names: `YYYYMMDD_CCC-Place_PLATFORM-N_NN`, parsed into typed parts.

One reading, two modes: strict for the sessions we publish (the first problem is an error), lenient
for records other people published (a part that does not fit is None).
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pycountry
from pydantic import BaseModel, ConfigDict

from zenodo_atlas.sessions.errors import InvalidSessionName
from zenodo_atlas.sessions.platforms import KNOWN_PLATFORMS
from zenodo_atlas.sessions.zenodo_record import session_urn

EXPECTED_SHAPE = "YYYYMMDD_CCC-Place_PLATFORM-N_NN"
EXAMPLE = "20231021_REU-ST-LEU_ASV-2_01"

__all__ = [
    "EXPECTED_SHAPE", "InvalidSessionName", "SessionName", "SessionNameParts", "country_alpha2", "country_name",
    "parse_session_name", "read_session_name",
]


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
        return session_urn(self.raw)


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


def country_alpha2(alpha3: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code of an alpha-3 code (Darwin Core wants alpha-2), or None."""
    found = pycountry.countries.get(alpha_3=alpha3.upper()) if alpha3 else None
    return found.alpha_2 if found else None


def _place(parts: list[str]) -> str:
    return "-".join(p[:1].upper() + p[1:].lower() for p in parts)


class SessionNameParts(BaseModel):
    """What a name says when read leniently: a part that does not fit is None (others' records)."""

    model_config = ConfigDict(frozen=True)

    raw: str
    date: date | None  # no default: a default would shadow the type for the annotations below
    country_code: str | None = None
    country_name: str | None = None
    place: str | None = None
    platform: str | None = None
    platform_number: int | None = None
    session_number: int | None = None


def _read(name: str) -> tuple[SessionNameParts, list[str]]:
    """The one reading of a name: its parts, and every problem in the order a user should fix them."""
    problems: list[str] = []
    tokens = name.split("_")
    if len(tokens) not in (3, 4) or not all(tokens):
        problems.append(f"found {len(tokens)} '_'-separated parts, expected 3 or 4")
    date_token, where, platform_token = [*tokens, "", ""][:3]
    rest = tokens[3:4]

    day = None
    if not re.fullmatch(r"\d{8}", date_token):
        problems.append(f"date {date_token!r} is not 8 digits YYYYMMDD")
    else:
        try:
            day = datetime.strptime(date_token, "%Y%m%d").date()
        except ValueError:
            problems.append(f"date {date_token!r} is not a calendar date")

    code, *place_parts = where.split("-")
    country = None
    if not re.fullmatch(r"[A-Za-z]{3}", code):
        problems.append(f"country {code!r} is not a 3-letter ISO code")
    elif (country := country_name(code)) is None:
        problems.append(f"country code {code!r} is not an ISO 3166 alpha-3 code")
    place = _place(place_parts) if place_parts and all(place_parts) else None
    if place is None:
        problems.append(f"place missing or empty in {where!r} (expected CCC-Place)")

    platform, _, number = platform_token.partition("-")
    if platform.upper() not in KNOWN_PLATFORMS:
        problems.append(f"platform {platform!r} is not one of {', '.join(KNOWN_PLATFORMS)}")
    if number and not number.isdigit():
        problems.append(f"platform number {number!r} is not a number")
    if rest and not rest[0].isdigit():
        problems.append(f"session number {rest[0]!r} is not a number")

    parts = SessionNameParts(
        raw=name, date=day, country_code=code.upper() if country else None, country_name=country,
        place=place, platform=platform.upper() or None,
        platform_number=int(number) if number.isdigit() else None,
        session_number=int(rest[0]) if rest and rest[0].isdigit() else None,
    )
    return parts, problems


def parse_session_name(name: str) -> SessionName:
    """Strict parse, for sessions we publish: InvalidSessionName says which part is wrong."""
    parts, problems = _read(name)
    if problems:
        raise _invalid(name, problems[0])
    return SessionName.model_validate(parts.model_dump())


def read_session_name(name: str) -> SessionNameParts:
    """Lenient parse, for records others published: an odd name never blocks registration."""
    return _read(name)[0]
