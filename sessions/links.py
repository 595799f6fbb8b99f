"""The one rule for symbolic links inside a session folder.

A link is followed only when its target lies inside the session (file or folder); a link that leads
outside it, is broken or loops is never read nor published. `session check` lists every such link,
and the planner (`plan.folder_members`, `plan.root_files`) skips them, so a session holding
`SENSORS/secret -> /etc/hostname` cannot publish the host's file.
"""

from __future__ import annotations

import os
from pathlib import Path

LINK_RULE = (
    "symbolic links are followed only inside the session; a link leading outside it is never read nor published"
)


def inside(path: Path, root: Path) -> bool:
    """True when `path`, with every link resolved, exists and lies under `root` (itself resolved)."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return target.is_relative_to(root.resolve())


def escaping_links(root: Path) -> list[tuple[Path, str]]:
    """Every link under `root` (not following any) that `inside` refuses, with where it points."""
    found: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if path.is_symlink() and not inside(path, root):
                found.append((path, os.readlink(path)))
    return sorted(found)
