"""LocalZenodo lifecycle and test controls."""

from __future__ import annotations

import socket

import pytest

from tests.zenodo.server.support import call, create, upload
from zenodo_atlas.zenodo.server import LocalZenodo


def test_start_stop_in_thread_picks_free_port_and_cleans_temp_dir():
    srv = LocalZenodo()
    with srv:
        assert srv.port and srv.api_url == f"http://127.0.0.1:{srv.port}/api"
        assert srv.base_url == f"http://127.0.0.1:{srv.port}"
        data_dir = srv.data_dir
        assert data_dir.is_dir()
        with socket.create_connection(("127.0.0.1", srv.port), timeout=2):
            pass
    assert not data_dir.exists()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", srv.port), timeout=2):
        pass


def test_urls_need_a_started_server():
    with pytest.raises(RuntimeError, match="not started"):
        _ = LocalZenodo().api_url


def test_busy_port_raises_on_start():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            LocalZenodo(port=taken.getsockname()[1]).start()


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="rate_limit_per_minute"):
        LocalZenodo(rate_limit_per_minute=0)
    with pytest.raises(ValueError, match="max_record_files"):
        LocalZenodo(max_record_files=0)


def test_repr_hides_tokens():
    with LocalZenodo(tokens={"super-secret-token": 1}) as srv:
        assert "super-secret-token" not in repr(srv) and str(srv.port) in repr(srv)


async def test_async_with_runs_in_the_callers_loop(tmp_path, http):
    async with LocalZenodo(tokens={"t": 1}, data_dir=tmp_path) as srv:
        status, dep = await call(http, "POST", f"{srv.api_url}/deposit/depositions", "t", json={})
        assert status == 201 and dep["owner"] == 1
    assert (tmp_path / "state.json").exists()


async def test_default_token_and_doi_prefix(http):
    with LocalZenodo(doi_prefix="10.9999") as srv:
        status, dep = await call(http, "POST", f"{srv.api_url}/deposit/depositions", "local-dev-token", json={})
        assert status == 201
        assert dep["metadata"]["prereserve_doi"]["doi"] == f"10.9999/zenodo.{dep['id']}"


async def test_count_and_set_quota(zenodo_server, http):
    dep = await create(http, zenodo_server)
    zenodo_server.set_quota(max_record_files=1)
    await upload(http, zenodo_server, dep, "a", b"1")
    status, _ = await upload(http, zenodo_server, dep, "b", b"1")
    assert status == 400
    assert zenodo_server.count("PUT", "bucket_put") == 2
    assert zenodo_server.count("POST", "deposit_create") == 1
    assert zenodo_server.count("POST", "publish") == 0


def test_wait_for_times_out_with_a_clear_message(zenodo_server):
    with pytest.raises(TimeoutError, match="publish"):
        zenodo_server.wait_for("POST", "publish", timeout=0.05)


def test_fixture_provides_two_users(zenodo_server):
    assert zenodo_server.token != zenodo_server.other_token
    assert zenodo_server.api_url.startswith("http://127.0.0.1:")
