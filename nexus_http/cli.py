"""The ``nexus`` command: run the server, run a dispatcher, migrate the database."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from nexus_adapters.bootstrap import migrate, rotate_secrets
from nexus_adapters.config import ConfigurationError, Settings
from nexus_adapters.worker import IN_PROCESS_DISPATCHER_ENV, run_worker

APP_FACTORY = "nexus_http.app:create_served_app"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nexus",
        description="Nexus Communicator backend. Settings come from environment variables and an "
        "optional .env file in the working directory (see README: Configuration).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="migrate the database, then serve the REST API",
        description="Apply pending migrations, then serve the API on HOST:PORT with N worker "
        "processes. With no configuration at all it uses a SQLite file (nexus.db) in the working "
        "directory and listens on 127.0.0.1:5000.",
    )
    serve.add_argument("--host", help="address to listen on (default: $HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: $PORT or 5000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes (default: one per CPU core)",
    )
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not apply migrations before serving"
    )

    worker = commands.add_parser(
        "worker",
        help="send the campaigns: run a dispatcher until SIGTERM or SIGINT",
        description="Claim due deliveries, send them through WhatsApp or SMTP, record the "
        "outcomes and start scheduled campaigns, until stopped (SIGTERM/SIGINT finish the sends "
        "in flight first). Run one or more beside `nexus serve` on PostgreSQL; on SQLite "
        "`nexus serve` already dispatches in-process.",
    )
    worker.add_argument(
        "--no-migrate", action="store_true", help="do not apply migrations before starting"
    )

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_commands.add_parser(
        "upgrade", help="apply pending schema migrations (safe to run repeatedly)"
    )
    db_commands.add_parser(
        "rotate-keys",
        help="re-encrypt stored API keys under the first key of NEXUS_ENCRYPTION_KEYS",
        description="Key rotation: put the new Fernet key first in NEXUS_ENCRYPTION_KEYS (the "
        "old ones after it), run this, then remove the old keys.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "db":
            settings = Settings.from_env()
            if args.db_command == "rotate-keys":
                count = rotate_secrets(settings)
                print(
                    f"re-encrypted {count} stored secret(s) under the newest key", file=sys.stderr
                )
                return 0
            migrate(settings)
            print("database schema is up to date", file=sys.stderr)
            return 0
        if args.command == "worker":
            return _worker(args)
        return _serve(args)
    except ConfigurationError as problem:
        print(f"nexus: configuration error: {problem}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    # Worker processes build their own settings from the environment: pass overrides through it.
    if args.host is not None:
        os.environ["HOST"] = args.host
    if args.port is not None:
        if not 1 <= args.port <= 65535:
            raise ConfigurationError("--port must be between 1 and 65535")
        os.environ["PORT"] = str(args.port)
    settings = Settings.from_env()
    settings.with_secret_key()  # create the development key once, before workers race for it
    if not args.no_migrate:
        migrate(settings)
    # SQLite: every server process runs an in-process dispatcher, exactly one of them sends
    # (a lock file); PostgreSQL deployments run `nexus worker` beside the server.
    if settings.is_sqlite:
        os.environ[IN_PROCESS_DISPATCHER_ENV] = "1"
    else:
        os.environ.pop(IN_PROCESS_DISPATCHER_ENV, None)
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ConfigurationError("--workers must be at least 1")

    from granian import Granian
    from granian.constants import Interfaces

    print(
        f"nexus: serving on http://{settings.host}:{settings.port} with {workers} worker(s), "
        f"database {_describe(settings.database_url)}",
        file=sys.stderr,
    )
    Granian(
        APP_FACTORY,
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=workers,
        blocking_threads=1,
        backlog=2048,
        log_access=False,
        respawn_failed_workers=True,
    ).serve()
    return 0


def _worker(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if not args.no_migrate:
        migrate(settings)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
        )
    # httpx logs every request at INFO: a line per message sent, drowning the rounds' summaries.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(
        f"nexus: dispatching for database {_describe(settings.database_url)}, WhatsApp at "
        f"{settings.whatsapp_api_url}, SMTP at {settings.smtp_host}:{settings.smtp_port}",
        file=sys.stderr,
    )
    run_worker(settings)
    return 0


def _describe(database_url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
