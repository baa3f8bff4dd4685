"""The core runs with the standard library and phonenumbers only."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = (
    "litestar", "msgspec", "sqlalchemy", "alembic", "psycopg", "psycopg_pool", "bcrypt",
    "cryptography", "structlog", "granian", "httpx", "dotenv", "logging", "sqlite3",
)  # fmt: skip

_PROBE = """
import importlib, pkgutil, sys
import nexus_core
for module in pkgutil.walk_packages(nexus_core.__path__, "nexus_core."):
    importlib.import_module(module.name)
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_importing_every_core_module_pulls_in_no_framework() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    )
    loaded = set(result.stdout.split())
    assert "nexus_core" in loaded
    assert "phonenumbers" in loaded
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))
    assert not {"nexus_adapters", "nexus_http"} & loaded
