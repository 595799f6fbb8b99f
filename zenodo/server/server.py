"""LocalZenodo: the app on a real socket, in its own thread (tests, CLI) or in the caller's loop."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from aiohttp import web

from zenodo_atlas.zenodo.server.app import create_app
from zenodo_atlas.zenodo.server.context import SERVER, ServedRequest, ServerState
from zenodo_atlas.zenodo.server.faults import FaultConfig, FaultInjector
from zenodo_atlas.zenodo.server.realistic import Realism
from zenodo_atlas.zenodo.server.state import Store

DEFAULT_TOKENS = {"local-dev-token": 1}


class LocalZenodo:
    """A Zenodo-compatible server on 127.0.0.1 for tests, CI and the demo.

    `count(method, kind)` counts answered requests by route kind: deposit_list, deposit_create,
    deposit_get, deposit_update, deposit_delete, deposit_files_list, deposit_file_upload,
    deposit_file_get, deposit_file_delete, deposit_files_sort, deposit_file_rename, publish, edit,
    discard, newversion, bucket_list, bucket_put, bucket_get, bucket_delete, records_search,
    record_get, record_versions, record_latest, record_files, record_file, file_download,
    draft_file_download, community_records; the RDM API's rdm_create, rdm_draft_get, rdm_draft_update,
    rdm_edit, rdm_draft_delete, rdm_new_version, rdm_draft_files, rdm_files_init, rdm_file_content,
    rdm_file_commit, rdm_file_delete, rdm_publish, rdm_files_import, user_records, requests_list,
    request_action; and "unknown" for paths no route matches.
    A request whose connection was cut (fault injection) is logged with status 0.

    `realism=Realism(...)` switches on realistic mode (search lag, search budget and page caps,
    guest/token budgets, thumbnails objects, 504-after-commit); see zenodo.server.realistic.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: dict[str, int] | None = None,
        data_dir: Path | None = None,
        doi_prefix: str = "10.5072",
        max_record_bytes: int = 50_000_000_000,
        max_record_files: int = 100,
        faults: FaultConfig | None = None,
        rate_limit_per_minute: int = 1000,
        realism: Realism | None = None,
    ):
        if rate_limit_per_minute < 1:
            raise ValueError("rate_limit_per_minute must be at least 1.")
        if max_record_bytes < 1 or max_record_files < 1:
            raise ValueError("max_record_bytes and max_record_files must be at least 1.")
        self.host = host
        self._requested_port = port
        self._owned_dir: Path | None = None
        if data_dir is None:
            data_dir = self._owned_dir = Path(tempfile.mkdtemp(prefix="local-zenodo-"))
        self.data_dir = Path(data_dir)
        self._app = create_app(
            data_dir=self.data_dir, tokens=dict(tokens or DEFAULT_TOKENS), doi_prefix=doi_prefix,
            max_record_bytes=max_record_bytes, max_record_files=max_record_files, faults=faults,
            rate_limit_per_minute=rate_limit_per_minute, realism=realism,
        )
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.api_url if self.port else "not started"
        return f"LocalZenodo({where}, {len(self._state.tokens)} token(s))"

    @property
    def realism(self) -> Realism | None:
        return self._state.realism

    @property
    def store(self) -> Store:
        """The records as the server holds them (not as its lagging search shows them): for assertions."""
        return self._state.store

    @property
    def _state(self) -> ServerState:
        return self._app[SERVER]

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("LocalZenodo is not started; call start() or use it as a context manager.")
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    # -- running in a thread --------------------------------------------------------------------

    def start(self) -> LocalZenodo:
        """Serve from a daemon thread; returns once the socket is listening."""
        if self._thread is not None:
            raise RuntimeError("LocalZenodo is already running.")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="local-zenodo", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._thread = None
        self._loop = None
        self._cleanup_dir()

    def __enter__(self) -> LocalZenodo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- running in the caller's loop -----------------------------------------------------------

    async def __aenter__(self) -> LocalZenodo:
        await self._listen()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._close()
        self._cleanup_dir()

    async def _listen(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _close(self) -> None:
        self._state.release_held()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _cleanup_dir(self) -> None:
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)

    # -- test controls --------------------------------------------------------------------------

    def set_faults(self, faults: FaultConfig | None) -> None:
        """Switch fault injection (None = none); the RNG restarts from the config's seed.

        Requests held by `hold_uploads_after` or `hold_after_publish` are let go.
        """
        self._state.faults = FaultInjector(faults or FaultConfig())
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._state.release_held)

    def set_quota(self, max_record_bytes: int | None = None, max_record_files: int | None = None) -> None:
        quota = self._state.store.quota
        if max_record_bytes is not None:
            quota.max_record_bytes = max_record_bytes
        if max_record_files is not None:
            quota.max_record_files = max_record_files

    @property
    def request_log(self) -> list[ServedRequest]:
        return list(self._state.request_log)

    def count(self, method: str, kind: str) -> int:
        method = method.upper()
        return sum(1 for r in self._state.request_log if r.method == method and r.kind == kind)

    def wait_for(self, method: str, kind: str, count: int = 1, timeout: float = 10.0) -> None:
        """Block until `count` requests of this kind were answered (or cut); TimeoutError otherwise.

        For tests whose client gives up before the server finishes (a dropped upload): they
        cannot learn from the response when the server is done.
        """
        state = self._state
        with state.logged:
            if not state.logged.wait_for(lambda: self.count(method, kind) >= count, timeout):
                raise TimeoutError(f"the server answered fewer than {count} {method} {kind} request(s)")

    def wait_held(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until `count` requests are held (`hold_uploads_after`, `hold_after_publish`).

        TimeoutError otherwise.
        """
        state = self._state
        with state.logged:
            if not state.logged.wait_for(lambda: state.held_uploads >= count, timeout):
                raise TimeoutError(f"fewer than {count} upload(s) were held")
