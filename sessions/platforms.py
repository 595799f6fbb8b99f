"""What each acquisition platform means for publishing: access rights, restricted folders, raw content.

The predecessor kept these rules in one session-manager class per platform; here they are data, so a
new platform is one entry and every rule is visible (and tested) in one table.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

AccessRight = Literal["open", "restricted"]


class PlatformRules(BaseModel):
    model_config = ConfigDict(frozen=True)

    platform: str
    group: Literal["default", "ASV", "UAV", "AUV", "UVC"]
    human_name: str
    article: Literal["a", "an", ""]
    image_type: Literal["Underwater", "Aerial"]
    raw_access_right: AccessRight
    processed_access_right: AccessRight
    restricted_folders: tuple[str, ...]
    raw_archives: tuple[str, ...]
    raw_root_files: tuple[str, ...] = ()
    date_columns: tuple[str, ...]

    @property
    def collected_by(self) -> str:
        """The phrase used in titles: "an Autonomous Surface Vehicle", "scuba diving"."""
        return f"{self.article} {self.human_name}".strip()

    def is_restricted(self, folder: str) -> bool:
        """Whether `folder` (a session-relative path) is, or lies inside, a restricted folder."""
        top = folder.replace("\\", "/").strip("/").split("/", 1)[0]
        return top.upper() in self.restricted_folders


_DEFAULT_DATES = ("SubSecDateTimeOriginal", "GPSDateTime", "DateTimeOriginal")


def _default(platform: str, human_name: str, article: Literal["a", "an", ""],
             image_type: Literal["Underwater", "Aerial"] = "Underwater") -> PlatformRules:
    return PlatformRules(
        platform=platform, group="ASV" if platform == "ASV" else "default", human_name=human_name,
        article=article, image_type=image_type, raw_access_right="restricted",
        processed_access_right="open", restricted_folders=("DCIM",),
        raw_archives=("GPS", "DCIM", "SENSORS"), date_columns=_DEFAULT_DATES,
    )


RULES: dict[str, PlatformRules] = {
    "ASV": _default("ASV", "Autonomous Surface Vehicle", "an"),
    "SCUBA": _default("SCUBA", "scuba diving", ""),
    "MASK": _default("MASK", "snorkelling mask", "a"),
    "PADDLE": _default("PADDLE", "paddle board", "a"),
    "KITE": _default("KITE", "kite", "a", "Aerial"),
    "BOAT": _default("BOAT", "boat", ""),
    "HIKE": _default("HIKE", "hiking", ""),
    "UAV": PlatformRules(
        platform="UAV", group="UAV", human_name="Unmanned Aerial Vehicle", article="an",
        image_type="Aerial", raw_access_right="open", processed_access_right="open",
        restricted_folders=(), raw_archives=("DCIM", "METADATA", "GPS"),
        raw_root_files=("00_sample_rawdata_overview.png",), date_columns=("DateTimeOriginal",),
    ),
    "UVC": PlatformRules(
        platform="UVC", group="UVC", human_name="Underwater Visual Census", article="an",
        image_type="Underwater", raw_access_right="open", processed_access_right="open",
        restricted_folders=(), raw_archives=("DCIM",),
        date_columns=("DateTimeOriginal", "SubSecDateTimeOriginal"),
    ),
    "AUV": PlatformRules(
        platform="AUV", group="AUV", human_name="Autonomous Underwater Vehicle", article="an",
        image_type="Underwater", raw_access_right="open", processed_access_right="open",
        restricted_folders=("DCIM",), raw_archives=("DCIM",), date_columns=("GPSDateTime",),
    ),
}

KNOWN_PLATFORMS: tuple[str, ...] = tuple(RULES)


def rules_for(platform: str) -> PlatformRules:
    """The rules of `platform` (case-insensitive); ValueError naming the known ones otherwise."""
    try:
        return RULES[platform.upper()]
    except KeyError:
        raise ValueError(
            f"unknown platform {platform!r}: expected one of {', '.join(KNOWN_PLATFORMS)}"
        ) from None
