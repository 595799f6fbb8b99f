from pathlib import Path

import pytest

from zenodo_atlas.settings import PRODUCTION_URL, SANDBOX_URL, Settings
from zenodo_atlas.zenodo.errors import MissingTokenError


def test_defaults_point_at_production(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings(token_file=tmp_path / "none")
    assert settings.zenodo_url == PRODUCTION_URL
    assert settings.resolved_token() is None


def test_sandbox_switch_changes_default_url(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZENODO_SANDBOX", "1")
    assert Settings().zenodo_url == SANDBOX_URL


def test_explicit_url_wins_over_sandbox(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZENODO_SANDBOX", "1")
    monkeypatch.setenv("ZENODO_URL", "http://127.0.0.1:9/api")
    assert Settings().zenodo_url == "http://127.0.0.1:9/api"


def test_token_from_zenodopy_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    token_file = tmp_path / ".zenodo_token"
    token_file.write_text("ACCESS_TOKEN: prod-secret\nACCESS_TOKEN-sandbox: sandbox-secret\n")
    assert Settings(token_file=token_file).require_token().get_secret_value() == "prod-secret"
    monkeypatch.setenv("ZENODO_SANDBOX", "true")
    assert Settings(token_file=token_file).require_token().get_secret_value() == "sandbox-secret"


def test_env_token_wins_and_stays_hidden(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZENODO_TOKEN", "env-secret")
    settings = Settings(token_file=tmp_path / "none")
    assert settings.require_token().get_secret_value() == "env-secret"
    assert "env-secret" not in repr(settings) and "env-secret" not in str(settings.model_dump())


def test_dotenv_file_is_read(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    Path(".env").write_text("ZENODO_TOKEN=dotenv-secret\nATLAS_UPLOAD_CONCURRENCY=7\n")
    settings = Settings(token_file=tmp_path / "none")
    assert settings.require_token().get_secret_value() == "dotenv-secret"
    assert settings.upload_concurrency == 7


def test_missing_token_names_the_three_ways(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MissingTokenError) as excinfo:
        Settings(token_file=tmp_path / "none").require_token()
    message = str(excinfo.value)
    assert "ZENODO_TOKEN" in message and ".env" in message and "ACCESS_TOKEN" in message
