"""Settings from the environment and an optional ``.env`` file (names and defaults of API.md)."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

DEFAULT_SQLITE_FILE = "nexus.db"
SECRET_KEY_MIN_LENGTH = 32
FERNET_KEY_BYTES = 32


class ConfigurationError(Exception):
    """The settings cannot describe a working server; the message says which one and why."""


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {value!r}")


def _integer(value: str, name: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return number


def _csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip().rstrip("/") for item in value.split(",") if item.strip())


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == FERNET_KEY_BYTES
    except (ValueError, UnicodeError):
        return False


def _is_public_url(url: str) -> bool:
    """An absolute ASCII http(s) URL that a path can follow (unsubscribe links)."""
    if not url.isascii() or any(c.isspace() or c in '<>"' for c in url):
        return False
    parts = urlsplit(url)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not (parts.query or parts.fragment)
    )


def normalise_database_url(url: str) -> str:
    """Pick the psycopg 3 driver for PostgreSQL URLs, including Heroku's ``postgres://``."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = f"sqlite:///{DEFAULT_SQLITE_FILE}"
    secret_key: str | None = None
    encryption_keys: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ("http://localhost:5173", "http://localhost:3000")
    env: str = "development"
    cookie_samesite: str = "lax"
    host: str = "127.0.0.1"
    port: int = 5000
    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    smtp_host: str = "smtp.gmail.com"
    smtp_port: int = 587
    smtp_starttls: bool = True
    gemini_api_url: str = "https://generativelanguage.googleapis.com/v1beta"
    gemini_model: str = "gemini-2.5-flash"
    public_url: str | None = None
    max_import_bytes: int = 20 * 1024 * 1024
    auth_rate_per_minute: int = 300
    import_rate_per_minute: int = 30
    db_pool_size: int = 16
    trust_forwarded_for: bool = False
    # How long a dispatcher's claim on a delivery lasts (``None``: the dispatcher's own
    # default, which outlasts any send). Shorter only where no send can take that long
    # (tests): a dead worker's deliveries are reaped this long after it claimed them.
    dispatch_lease_seconds: int | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or ``None`` for PostgreSQL and in-memory databases."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1] if ":///" in self.database_url else ""
        return None if path in {"", ":memory:"} else Path(path)

    @property
    def public_base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env"
    ) -> Settings:
        """Read settings: the real environment wins over ``.env``, which wins over defaults."""
        values: dict[str, str] = {}
        if dotenv_path is not None and Path(dotenv_path).is_file():
            values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        get = values.get
        env = get("NEXUS_ENV", "development").strip().lower()
        if env not in {"development", "production", "test"}:
            raise ConfigurationError("NEXUS_ENV must be development, production or test")
        samesite = get("NEXUS_COOKIE_SAMESITE", "lax").strip().lower()
        if samesite not in {"lax", "strict", "none"}:
            raise ConfigurationError("NEXUS_COOKIE_SAMESITE must be lax, strict or none")
        defaults = cls()
        settings = cls(
            database_url=normalise_database_url(get("DATABASE_URL") or defaults.database_url),
            secret_key=get("SECRET_KEY") or None,
            encryption_keys=_csv(get("NEXUS_ENCRYPTION_KEYS", "")),
            cors_origins=_csv(get("CORS_ORIGINS", ",".join(defaults.cors_origins))),
            env=env,
            cookie_samesite=samesite,
            host=get("HOST", defaults.host),
            port=_integer(get("PORT", str(defaults.port)), "PORT", 1),
            whatsapp_api_url=get("NEXUS_WHATSAPP_API_URL", defaults.whatsapp_api_url).rstrip("/"),
            whatsapp_app_secret=get("NEXUS_WHATSAPP_APP_SECRET") or None,
            whatsapp_verify_token=get("NEXUS_WHATSAPP_VERIFY_TOKEN") or None,
            smtp_host=get("NEXUS_SMTP_HOST", defaults.smtp_host),
            smtp_port=_integer(
                get("NEXUS_SMTP_PORT", str(defaults.smtp_port)), "NEXUS_SMTP_PORT", 1
            ),
            smtp_starttls=_flag(get("NEXUS_SMTP_STARTTLS", "true"), "NEXUS_SMTP_STARTTLS"),
            gemini_api_url=get("NEXUS_GEMINI_API_URL", defaults.gemini_api_url).rstrip("/"),
            gemini_model=get("NEXUS_GEMINI_MODEL", defaults.gemini_model),
            public_url=get("NEXUS_PUBLIC_URL") or None,
            max_import_bytes=_integer(
                get("NEXUS_MAX_IMPORT_BYTES", str(defaults.max_import_bytes)),
                "NEXUS_MAX_IMPORT_BYTES",
                1,
            ),
            auth_rate_per_minute=_integer(
                get("NEXUS_AUTH_RATE_PER_MINUTE", "300"), "NEXUS_AUTH_RATE_PER_MINUTE"
            ),
            import_rate_per_minute=_integer(
                get("NEXUS_IMPORT_RATE_PER_MINUTE", "30"), "NEXUS_IMPORT_RATE_PER_MINUTE"
            ),
            db_pool_size=_integer(get("NEXUS_DB_POOL_SIZE", "16"), "NEXUS_DB_POOL_SIZE", 1),
            trust_forwarded_for=_flag(
                get("NEXUS_TRUST_FORWARDED_FOR", "false"), "NEXUS_TRUST_FORWARDED_FOR"
            ),
            dispatch_lease_seconds=(
                _integer(lease, "NEXUS_DISPATCH_LEASE_SECONDS", 1)
                if (lease := get("NEXUS_DISPATCH_LEASE_SECONDS"))
                else None
            ),
        )
        if settings.production and not settings.secret_key:
            raise ConfigurationError(
                "SECRET_KEY is required when NEXUS_ENV=production "
                '(generate one with: python -c "import secrets; print(secrets.token_hex(32))")'
            )
        for key in settings.encryption_keys:
            if not _is_fernet_key(key):
                raise ConfigurationError(
                    "NEXUS_ENCRYPTION_KEYS must list Fernet keys (32 url-safe base64-encoded "
                    "bytes each, comma-separated); one of them is not"
                )
        if settings.sqlite_path is None and settings.is_sqlite:
            raise ConfigurationError(
                "DATABASE_URL must name a SQLite file (sqlite:///path.db): an in-memory "
                "database cannot be shared by the server's connections"
            )
        if settings.public_url is not None and not _is_public_url(settings.public_url):
            raise ConfigurationError(
                "NEXUS_PUBLIC_URL must be an absolute http(s) address without spaces, query or "
                "fragment (https://nexus.example.com), as links in emails are written from it"
            )
        if settings.secret_key and len(settings.secret_key) < SECRET_KEY_MIN_LENGTH:
            raise ConfigurationError(
                f"SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters long"
            )
        return settings

    def with_secret_key(self) -> Settings:
        """These settings with a secret key: the configured one, else the development key kept
        beside the SQLite file (created once, atomically, so concurrent workers agree)."""
        if self.secret_key:
            return self
        if self.production:
            raise ConfigurationError("SECRET_KEY is required when NEXUS_ENV=production")
        sqlite_file = self.sqlite_path
        key_file = (
            sqlite_file.with_name(sqlite_file.name + ".secret-key")
            if sqlite_file is not None
            else Path(".nexus.secret-key")
        )
        return _replace_secret(self, _read_or_create_key(key_file))


def _replace_secret(settings: Settings, key: str) -> Settings:
    return replace(settings, secret_key=key)


def _read_or_create_key(path: Path) -> str:
    """Publish a new key with a hard link, which is atomic: a concurrent reader never sees a
    half-written file, and of two racing writers exactly one wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-key-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    key = path.read_text().strip()
    if len(key) < SECRET_KEY_MIN_LENGTH:
        raise ConfigurationError(f"the development secret key in {path} is damaged")
    return key
