"""What a session name says about its deposit: `YYYYMMDD_CCC-Place-Parts_PLATFORM-N_NN`."""

from __future__ import annotations

from datetime import date, datetime

import pycountry
from pydantic import BaseModel


class SessionName(BaseModel):
    session_name: str
    session_date: date | None
    country_code: str | None
    country: str | None
    place: str | None
    platform: str | None


def parse_session_name(name: str) -> SessionName:
    """Tolerant parse: a part that does not fit is None, so an odd name never blocks registration."""
    tokens = name.split("_")
    try:
        session_date = datetime.strptime(tokens[0], "%Y%m%d").date()
    except ValueError:
        session_date = None
    code = country = place = platform = None
    if len(tokens) > 1:
        parts = tokens[1].split("-")
        candidate = parts[0].upper()
        found = pycountry.countries.get(alpha_3=candidate) if len(candidate) == 3 else None
        if found is not None:
            code, country = found.alpha_3, found.name
        place = "-".join(p.title() for p in parts[1:]) or None
    if len(tokens) > 2:
        platform = tokens[2].split("-")[0].upper() or None
    return SessionName(
        session_name=name,
        session_date=session_date,
        country_code=code,
        country=country,
        place=place,
        platform=platform,
    )


def alpha2(alpha3: str | None) -> str | None:
    """Darwin Core wants ISO 3166-1 alpha-2 country codes."""
    found = pycountry.countries.get(alpha_3=alpha3) if alpha3 else None
    return found.alpha_2 if found else None
