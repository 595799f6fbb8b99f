"""A session folder on disk, with its parsed name and its platform's rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zenodo_atlas.sessions.errors import SessionNotFoundError
from zenodo_atlas.sessions.naming import SessionName, parse_session_name
from zenodo_atlas.sessions.platforms import PlatformRules, rules_for


def ia_folder(session_dir: Path) -> Path:
    """Where a session keeps its AI outputs (usefulness and multilabel CSVs)."""
    return session_dir / "PROCESSED_DATA" / "IA"


@dataclass(frozen=True)
class Session:
    path: Path
    name: SessionName
    rules: PlatformRules

    @classmethod
    def open(cls, path: Path | str) -> Session:
        """The session at `path`; its folder name must be a valid session name."""
        path = Path(path).expanduser().resolve()
        if not path.is_dir():
            raise SessionNotFoundError(f"session folder {path} does not exist or is not a directory")
        name = parse_session_name(path.name)
        return cls(path=path, name=name, rules=rules_for(name.platform))

    @property
    def metadata_csv(self) -> Path:
        return self.path / "METADATA" / "metadata.csv"

    @property
    def predictions_csv(self) -> Path:
        return self.path / "METADATA" / "predictions_gps.csv"

    @property
    def ia_dir(self) -> Path:
        return ia_folder(self.path)
