"""The `zenodo-atlas` entry point: hand the command to the warm process when one runs, else run it here.

Importing Prefect and the flows costs a fresh process 1.3 s before any work starts: most of a small
upload's wall time (`bench/cli.py`). Once a flow command has started the background
Prefect server, a warm process (`zenodo_atlas.cli.warm`) sits beside it with those imports done, and
this module, which imports nothing but the standard library, passes it the command: arguments,
working directory, environment and the terminal's three file descriptors (over a Unix socket in a
folder only this user can open, never in argv or a file). The warm process forks a child that runs the
command exactly as this process would, writing straight to the terminal; its exit code comes back
here. Ctrl-C and other signals are forwarded to it, and if this process dies the child is killed, so
the command behaves as if it ran here. Anything unexpected before the child starts falls back to
running in this process, and so does a warm process whose code is older than the files on disk
(installed libraries, or the project's own sources in an editable install): it then exits.
ATLAS_PREFECT_SERVER=ephemeral (no background processes) runs everything here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

MODE_ENV = "ATLAS_PREFECT_SERVER"
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_HEADER = struct.Struct("!I")


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def installed_fingerprint() -> str:
    """Changes whenever a package is installed or removed (pip rewrites site-packages), so a warm
    process never runs a command with libraries older than the ones on disk."""
    folders = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    stamps = [f"{folder}:{os.stat(folder).st_mtime_ns}" for folder in folders if os.path.isdir(folder)]
    return "|".join([sys.prefix, *stamps])


def socket_path(home: Path | None = None) -> Path:
    """Where the warm process of this Prefect home and this Python environment (`sys.prefix`: a venv
    reached as `python` or `python3` is one) listens.

    A short path (Unix socket paths are limited to 107 bytes) in a per-user folder of mode 0700.
    """
    home = (home or prefect_home()).resolve()
    key = hashlib.sha256(f"{home}\0{sys.prefix}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"zenodo-atlas-{os.getuid()}" / f"{key}.sock"


def _private(folder: Path) -> bool:
    """This user's alone: another user who made or can enter it could listen in the warm process's place."""
    info = folder.stat()
    return info.st_uid == os.getuid() and not info.st_mode & 0o077


def private_folder(path: Path) -> Path:
    """The socket's folder, created 0700 and refused if another user owns it or can enter it."""
    folder = path.parent
    folder.mkdir(mode=0o700, exist_ok=True)
    if not _private(folder):
        raise PermissionError(f"{folder} must belong to uid {os.getuid()} with mode 0700; remove it")
    return folder


def same_user(sock: socket.socket) -> bool:
    """The process at the other end of a Unix socket runs as this user (Linux SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def send_message(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """One length-prefixed JSON message; `fds` ride along with its first bytes (SCM_RIGHTS)."""
    payload = json.dumps(message).encode()
    header = _HEADER.pack(len(payload))
    if fds:
        socket.send_fds(sock, [header], fds)
    else:
        sock.sendall(header)
    sock.sendall(payload)


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        piece = sock.recv(size - len(data))
        if not piece:
            raise EOFError("the other side closed the connection")
        data += piece
    return data


def receive_message(sock: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """The next message and the descriptors sent with it; EOFError when the peer is gone."""
    if max_fds:
        header, fds, _flags, _addr = socket.recv_fds(sock, _HEADER.size, max_fds)
        if not header:
            raise EOFError("the other side closed the connection")
        header += _exactly(sock, _HEADER.size - len(header))
    else:
        header, fds = _exactly(sock, _HEADER.size), []
    (size,) = _HEADER.unpack(header)
    return json.loads(_exactly(sock, size)), list(fds)


def _connect(argv: list[str]) -> tuple[socket.socket, int] | None:
    """The connection and the child's pid once the warm process runs the command; None to run it here."""
    if os.environ.get(MODE_ENV, "").lower() == "ephemeral" or (argv[:1] == ["server"]):
        return None  # `server ...` manages the warm process itself
    path = socket_path()
    try:
        if not hasattr(socket, "SO_PEERCRED") or not path.exists() or not _private(path.parent):
            return None  # the environment, and with it the token, goes only to a process of this user
    except OSError:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
        if not same_user(sock):
            sock.close()
            return None
        request = {
            "argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "fingerprint": installed_fingerprint(),
            "encoding": getattr(sys.stdout, "encoding", None),
        }
        send_message(sock, request, [0, 1, 2])
        reply, _ = receive_message(sock)
    except (OSError, EOFError, ValueError):
        sock.close()
        return None
    if "pid" not in reply:  # e.g. {"stale": true}: libraries changed since it started
        sock.close()
        return None
    return sock, int(reply["pid"])


def _wait(sock: socket.socket, pid: int) -> int:
    """Forward signals to the child until its exit status arrives; that status, as a shell reports it."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    try:
        reply, _ = receive_message(sock)
    except (OSError, EOFError, ValueError):
        sys.stderr.write(
            "zenodo-atlas: the background process running this command stopped (was `zenodo-atlas server stop` "
            "run?); run the command again\n"
        )
        return 1
    finally:
        sock.close()
    if "signal" in reply:  # die the way the child died, so a caller's shell sees the same
        died_of = int(reply["signal"])
        signal.signal(died_of, signal.SIG_DFL)
        os.kill(os.getpid(), died_of)
        return 128 + died_of
    return int(reply["exit"])


def main() -> None:
    argv = sys.argv[1:]
    warm = _connect(argv)
    if warm is not None:
        sys.exit(_wait(*warm))
    from zenodo_atlas.cli import main as run_here

    run_here()
