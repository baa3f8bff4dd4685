"""``Settings.from_env``: names and defaults of API.md's Configuration table, ``.env`` files,
and the development secret key kept beside the SQLite file."""

from __future__ import annotations

import dataclasses
import os
import stat
import threading
from pathlib import Path

import pytest

from nexus_adapters.config import ConfigurationError, Settings
from nexus_adapters.worker import DEFAULT_LEASE_SECONDS, lease_seconds

SECRET = "s" * 32


def settings_from(environ: dict[str, str], tmp_path: Path, dotenv: str | None = None) -> Settings:
    """Settings from exactly ``environ`` (never the real environment) and maybe a ``.env``."""
    dotenv_path = tmp_path / ".env"
    if dotenv is not None:
        dotenv_path.write_text(dotenv, encoding="utf-8")
    return Settings.from_env(environ=environ, dotenv_path=dotenv_path)


def test_defaults_match_the_contract(tmp_path: Path) -> None:
    settings = settings_from({}, tmp_path)
    assert settings.port == 5000
    assert settings.host == "127.0.0.1"
    assert settings.cors_origins == ("http://localhost:5173", "http://localhost:3000")
    assert settings.cookie_samesite == "lax"
    assert settings.env == "development"
    assert not settings.production
    assert settings.max_import_bytes == 20971520
    assert settings.auth_rate_per_minute == 300
    assert settings.import_rate_per_minute == 30
    assert settings.secret_key is None
    assert settings.encryption_keys == ()
    assert settings.database_url == "sqlite:///nexus.db"
    assert settings.is_sqlite
    assert settings.sqlite_path == Path("nexus.db")
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (
        "smtp.gmail.com",
        587,
        True,
    )
    assert settings.whatsapp_app_secret is None
    assert settings.whatsapp_verify_token is None
    assert settings.public_base_url == "http://127.0.0.1:5000"
    assert settings.dispatch_lease_seconds is None


def test_every_variable_is_read(tmp_path: Path) -> None:
    key_a, key_b = "a" * 43 + "=", "b" * 43 + "="
    settings = settings_from(
        {
            "DATABASE_URL": "postgres://nexus:pw@db:5432/nexus",
            "SECRET_KEY": SECRET,
            "NEXUS_ENCRYPTION_KEYS": f" {key_a} , {key_b} ",
            "CORS_ORIGINS": "https://app.example.com/, https://admin.example.com",
            "NEXUS_ENV": "Production",
            "NEXUS_COOKIE_SAMESITE": "Strict",
            "HOST": "192.168.1.20",
            "PORT": "8080",
            "NEXUS_WHATSAPP_API_URL": "http://127.0.0.1:9000/v21.0/",
            "NEXUS_WHATSAPP_APP_SECRET": "app-secret",
            "NEXUS_WHATSAPP_VERIFY_TOKEN": "verify",
            "NEXUS_SMTP_HOST": "127.0.0.1",
            "NEXUS_SMTP_PORT": "2525",
            "NEXUS_SMTP_STARTTLS": "false",
            "NEXUS_GEMINI_API_URL": "http://127.0.0.1:9001/",
            "NEXUS_GEMINI_MODEL": "gemini-test",
            "NEXUS_PUBLIC_URL": "https://nexus.example.com/",
            "NEXUS_MAX_IMPORT_BYTES": "1024",
            "NEXUS_AUTH_RATE_PER_MINUTE": "0",
            "NEXUS_IMPORT_RATE_PER_MINUTE": "5",
            "NEXUS_DB_POOL_SIZE": "4",
            "NEXUS_TRUST_FORWARDED_FOR": "yes",
            "NEXUS_DISPATCH_LEASE_SECONDS": "15",
        },
        tmp_path,
    )
    assert settings.database_url == "postgresql+psycopg://nexus:pw@db:5432/nexus"
    assert not settings.is_sqlite
    assert settings.sqlite_path is None
    assert settings.secret_key == SECRET
    assert settings.encryption_keys == (key_a, key_b)
    assert settings.cors_origins == ("https://app.example.com", "https://admin.example.com")
    assert settings.production
    assert settings.cookie_samesite == "strict"
    assert (settings.host, settings.port) == ("192.168.1.20", 8080)
    assert settings.whatsapp_api_url == "http://127.0.0.1:9000/v21.0"
    assert settings.whatsapp_app_secret == "app-secret"
    assert settings.whatsapp_verify_token == "verify"
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (
        "127.0.0.1",
        2525,
        False,
    )
    assert settings.gemini_api_url == "http://127.0.0.1:9001"
    assert settings.gemini_model == "gemini-test"
    assert settings.public_base_url == "https://nexus.example.com"
    assert settings.max_import_bytes == 1024
    assert settings.auth_rate_per_minute == 0
    assert settings.import_rate_per_minute == 5
    assert settings.db_pool_size == 4
    assert settings.trust_forwarded_for
    assert settings.dispatch_lease_seconds == 15


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////srv/nexus/nexus.db", "sqlite:////srv/nexus/nexus.db"),
    ],
)
def test_database_url_is_normalised(url: str, expected: str, tmp_path: Path) -> None:
    assert settings_from({"DATABASE_URL": url}, tmp_path).database_url == expected


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = (
        "# local overrides\n"
        "PORT=6000\n"
        "HOST=192.168.1.20\n"
        "NEXUS_COOKIE_SAMESITE=none\n"
        'CORS_ORIGINS="http://localhost:8080"\n'
    )
    from_file = settings_from({}, tmp_path, dotenv)
    assert from_file.port == 6000
    assert from_file.host == "192.168.1.20"
    assert from_file.cookie_samesite == "none"
    assert from_file.cors_origins == ("http://localhost:8080",)

    both = settings_from({"PORT": "7000"}, tmp_path, dotenv)
    assert both.port == 7000  # the environment wins…
    assert both.host == "192.168.1.20"  # …and the file still fills in the rest


def test_a_missing_dotenv_file_is_fine(tmp_path: Path) -> None:
    settings = Settings.from_env(environ={"PORT": "5001"}, dotenv_path=tmp_path / "absent.env")
    assert settings.port == 5001
    assert Settings.from_env(environ={}, dotenv_path=None).port == 5000


def test_from_env_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORT", "5055")
    assert Settings.from_env(dotenv_path=tmp_path / "absent.env").port == 5055


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        settings_from({"NEXUS_ENV": "production"}, tmp_path)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        settings_from({"NEXUS_ENV": "production", "SECRET_KEY": ""}, tmp_path)
    assert settings_from({"NEXUS_ENV": "production", "SECRET_KEY": SECRET}, tmp_path).production


def test_a_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY") as raised:
        settings_from({"SECRET_KEY": "short-secret"}, tmp_path)
    assert "short-secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "0"),
        ("PORT", ""),
        ("NEXUS_COOKIE_SAMESITE", "bogus"),
        ("NEXUS_ENV", "staging"),
        ("NEXUS_SMTP_PORT", "smtp"),
        ("NEXUS_SMTP_STARTTLS", "maybe"),
        ("NEXUS_MAX_IMPORT_BYTES", "20MB"),
        ("NEXUS_MAX_IMPORT_BYTES", "0"),
        ("NEXUS_AUTH_RATE_PER_MINUTE", "-1"),
        ("NEXUS_IMPORT_RATE_PER_MINUTE", "lots"),
        ("NEXUS_DB_POOL_SIZE", "0"),
        ("NEXUS_TRUST_FORWARDED_FOR", "perhaps"),
        ("NEXUS_DISPATCH_LEASE_SECONDS", "0"),
        ("NEXUS_DISPATCH_LEASE_SECONDS", "soon"),
        ("NEXUS_PUBLIC_URL", "nexus.example.com"),
        ("NEXUS_PUBLIC_URL", "ftp://nexus.example.com"),
        ("NEXUS_PUBLIC_URL", "https://"),
        ("NEXUS_PUBLIC_URL", "https://nexus.example.com/?a=1"),
        ("NEXUS_PUBLIC_URL", "https://nexus.example.com/a b"),
        ("NEXUS_PUBLIC_URL", "https://ñexus.example.com"),
    ],
)
def test_invalid_values_name_the_variable(variable: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        settings_from({variable: value}, tmp_path)
    assert variable in str(raised.value)


@pytest.mark.parametrize(
    "url", ["https://nexus.example.com", "https://nexus.example.com/app/", "http://127.0.0.1:5000"]
)
def test_a_public_url_links_can_follow_is_accepted(url: str, tmp_path: Path) -> None:
    assert settings_from({"NEXUS_PUBLIC_URL": url}, tmp_path).public_url == url


def test_the_dispatch_lease_is_the_dispatchers_default_unless_configured(
    tmp_path: Path,
) -> None:
    assert lease_seconds(settings_from({}, tmp_path)) == DEFAULT_LEASE_SECONDS
    assert lease_seconds(settings_from({"NEXUS_DISPATCH_LEASE_SECONDS": ""}, tmp_path)) == (
        DEFAULT_LEASE_SECONDS
    )
    assert lease_seconds(settings_from({"NEXUS_DISPATCH_LEASE_SECONDS": "4"}, tmp_path)) == 4.0


def test_an_invalid_value_in_dotenv_is_reported_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PORT"):
        settings_from({}, tmp_path, "PORT=abc\n")


# --- the development secret key ----------------------------------------------------------


def sqlite_settings(tmp_path: Path, **environ: str) -> Settings:
    database = tmp_path / "data" / "nexus.db"
    return settings_from({"DATABASE_URL": f"sqlite:///{database}", **environ}, tmp_path)


def test_with_secret_key_keeps_a_configured_key(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path, SECRET_KEY=SECRET)
    assert settings.with_secret_key() is settings
    assert not (tmp_path / "data").exists()


def test_development_key_is_created_beside_the_sqlite_file_once(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    first = settings.with_secret_key()
    key_file = tmp_path / "data" / "nexus.db.secret-key"
    assert key_file.is_file()
    assert first.secret_key is not None
    assert len(first.secret_key) >= 32
    assert key_file.read_text().strip() == first.secret_key
    # Everything else is unchanged.
    assert first == dataclasses.replace(settings, secret_key=first.secret_key)

    second = sqlite_settings(tmp_path).with_secret_key()
    assert second.secret_key == first.secret_key
    # No temporary files are left behind.
    assert sorted(path.name for path in key_file.parent.iterdir()) == ["nexus.db.secret-key"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_development_key_file_is_private(tmp_path: Path) -> None:
    sqlite_settings(tmp_path).with_secret_key()
    mode = stat.S_IMODE((tmp_path / "data" / "nexus.db.secret-key").stat().st_mode)
    assert mode & 0o077 == 0, oct(mode)


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    start = threading.Barrier(6)
    keys: list[str | None] = []

    def boot() -> None:
        start.wait(timeout=10)
        keys.append(settings.with_secret_key().secret_key)

    threads = [threading.Thread(target=boot) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(keys) == 6
    assert len(set(keys)) == 1


def test_different_databases_get_different_keys(tmp_path: Path) -> None:
    one = settings_from({"DATABASE_URL": f"sqlite:///{tmp_path / 'one.db'}"}, tmp_path)
    two = settings_from({"DATABASE_URL": f"sqlite:///{tmp_path / 'two.db'}"}, tmp_path)
    assert one.with_secret_key().secret_key != two.with_secret_key().secret_key


def test_a_damaged_key_file_is_an_error(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "nexus.db.secret-key").write_text("short\n")
    with pytest.raises(ConfigurationError, match="damaged"):
        settings.with_secret_key()


def test_production_never_invents_a_key(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'nexus.db'}", env="production")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        settings.with_secret_key()
    assert list(tmp_path.iterdir()) == []
