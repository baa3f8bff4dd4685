"""Developer tasks: ``nox`` runs the tests and linters; ``nox -s bench`` measures performance."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "core", "lint"]
nox.options.reuse_existing_virtualenvs = True

# What nexus_core may import besides the standard library, plus the test tools.
CORE_ONLY = ["phonenumbers>=9.0", "tzdata>=2025.2", "pytest>=9", "hypothesis>=6.150"]
# Packages whose absence proves the core runs without a web server or database.
OUTSIDE_WORLD = [
    "sqlalchemy",
    "litestar",
    "msgspec",
    "psycopg",
    "bcrypt",
    "cryptography",
    "structlog",
    "alembic",
    "granian",
]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: core, adapters (SQLite and PostgreSQL) and HTTP."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def core(session: nox.Session) -> None:
    """tests/core with only the standard library and phonenumbers installed."""
    session.install(*CORE_ONLY)
    check = "; ".join(
        f"assert importlib.util.find_spec({name!r}) is None, '{name} is installed'"
        for name in OUTSIDE_WORLD
    )
    session.run("python", "-c", f"import importlib.util; {check}")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/core",
        "-p",
        "no:cacheprovider",
        *session.posargs,
        env={"PYTHONPATH": "."},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy and the import-linter contracts (dependencies point inward)."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("lint-imports")


@nox.session
def bench(session: nox.Session) -> None:
    """Load benchmarks beside the reference Flask app, then the dispatch, dashboard and
    inbound-webhook benchmarks on SQLite and PostgreSQL, written to docs/PERFORMANCE.md.

    Options after ``--`` go to bench/run.py, e.g. ``nox -s bench -- --database postgresql``.
    """
    session.install(".")
    session.run(
        "python",
        "bench/run.py",
        "--reference",
        "--scenarios",
        "a,f,af",
        "--seconds",
        "10",
        "--write",
        "docs/PERFORMANCE.md",
        *session.posargs,
    )
    for database, workers in (("sqlite", "1"), ("postgresql", "1,2")):
        session.run(
            "python",
            "bench/dispatch.py",
            "--database",
            database,
            "--workers",
            workers,
            "--write",
            "docs/PERFORMANCE.md",
        )
        for script in ("bench/stats.py", "bench/inbound.py"):
            session.run("python", script, "--database", database, "--write", "docs/PERFORMANCE.md")
