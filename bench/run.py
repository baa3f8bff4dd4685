#!/usr/bin/env python3
"""Load benchmarks: our server (and, with --reference, the Flask reference) under wrk.

usage: python bench/run.py [--reference] [--scenarios a,f,af] [--seconds 10] [--rounds 1]
           [--database sqlite|postgresql] [--workers N] [--contacts 10000]
           [--import-rows 100000] [--write docs/PERFORMANCE.md]

Starts ``nexus serve --workers N`` from the project's virtualenv with production settings
(NEXUS_ENV=production, a generated SECRET_KEY, rate limits off, CORS_ORIGINS=http://localhost:5173)
on a free 127.0.0.1 port with a fresh database (a SQLite file in a temporary folder, or with
``--database postgresql`` a new PostgreSQL database on 127.0.0.1:5432, dropped afterwards), waits
for /health, registers and logs in a user with curl and runs the scenarios with wrk, built exactly
as the shared harness ``../shared/bench/load.py`` builds them (it is imported as a module: its
``main()`` also seeds campaigns, through endpoints this server does not have yet).

Scenarios: a = GET /api/auth/me (32 connections), f = POST /api/auth/login (8 connections),
af = a and f at the same time (two wrk processes): /api/auth/me's latency while logins run;
b = GET /api/contacts?per_page=50, c = the same with search=garc, d = GET /api/stats,
e = POST /api/contacts (32 connections each), after importing load.py's CSV of --contacts
contacts; import = load.py's timed import of --import-rows rows as a second user (wall time and
the server's peak RSS), after the others. A run of only b, c, e and import writes the
``contacts`` section instead of ``auth``, a run of only d (``GET /api/stats`` of the seeded
account) the ``stats`` section.

With --reference the Flask reference of ``../shared/bench`` runs the same way
``run_reference.sh`` runs it (gunicorn -w 4, fresh SQLite, its own virtualenv at $REF_VENV) and is
measured by the same code in the same run, interleaved: ours, reference, ours, reference, ... for
--rounds rounds; the figures are medians over the rounds. Stdlib only; needs curl and wrk.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import http.client
import importlib
import json
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REF_VENV = "/tmp/nexus-ref-venv"  # as run_reference.sh; override with REF_VENV/--ref-venv
ORIGIN = "http://localhost:5173"
ALL_SCENARIOS = ("a", "b", "c", "d", "e", "f", "af", "import")
CONTACT_SCENARIOS = frozenset({"b", "c", "d", "e"})  # need the seeded contacts
IMPORT = "import"  # not wrk: load.py's timed CSV import of --import-rows rows, as a second user
ME_P99_BUDGET_MS = 50.0  # the issue: /api/auth/me p99 under 50 ms while logins run
# Settings of the server under test that the caller's environment must not leak into the run.
OVERRIDDEN = ("DATABASE_URL", "SECRET_KEY", "CORS_ORIGINS", "HOST", "PORT")
LOG_PROBLEMS = re.compile(r"Traceback|\bERROR\b|CRITICAL|WORKER TIMEOUT")
METRICS = ("rps", "p50_ms", "p99_ms", "non2xx", "sock_err", "wrk_cpu", "srv_cpu", "other_cpu")


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenarios", default="a,f", help="comma-separated subset of a,b,c,d,e,f,af,import"
    )
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per scenario")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds (medians)")
    parser.add_argument("--reference", action="store_true", help="also measure the Flask reference")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="nexus serve --workers (nproc)"
    )
    parser.add_argument("--ref-workers", type=int, default=4, help="gunicorn -w for the reference")
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="seconds of unrecorded GET /api/auth/me load before the scenarios (0: none)",
    )
    parser.add_argument(
        "--shared",
        default=os.environ.get("NEXUS_SHARED_DIR"),
        help="the shared folder holding bench/load.py ($NEXUS_SHARED_DIR, else <repo>/../shared)",
    )
    parser.add_argument(
        "--venv", help="virtualenv with the nexus command (default: the running one, else .venv)"
    )
    parser.add_argument(
        "--ref-venv",
        default=os.environ.get("REF_VENV", DEFAULT_REF_VENV),
        help=f"the reference's virtualenv ($REF_VENV, else {DEFAULT_REF_VENV}); built if missing",
    )
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for our server (repeatable), e.g. NEXUS_DB_POOL_SIZE=8",
    )
    parser.add_argument(
        "--contacts", type=int, default=10_000, help="contacts seeded for b, c and e (10000)"
    )
    parser.add_argument(
        "--import-rows", type=int, default=100_000, help="rows of the timed import (100000)"
    )
    parser.add_argument("--start-timeout", type=int, default=60, help="seconds to wait for /health")
    parser.add_argument("--write", metavar="FILE", help="rewrite this file's marked section")
    parser.add_argument(
        "--section",
        help="marker name in FILE: <!-- bench:NAME:start --> "
        "(default: auth, or auth-postgresql with --database postgresql)",
    )
    parser.add_argument("--keep-tmp", action="store_true", help="keep logs and databases")
    args = parser.parse_args(argv)
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if unknown := set(args.scenario_list) - set(ALL_SCENARIOS):
        choices = ",".join(ALL_SCENARIOS)
        parser.error(f"unknown scenario(s) {sorted(unknown)}: choose among {choices}")
    if not args.scenario_list:
        parser.error("no scenario selected")
    for name, low in (("seconds", 1), ("rounds", 1), ("workers", 1), ("ref_workers", 1)):
        if getattr(args, name) < low:
            parser.error(f"--{name.replace('_', '-')} must be at least {low}")
    for item in args.server_env:
        if "=" not in item:
            parser.error(f"--server-env wants KEY=VALUE, not {item!r}")
    chosen = set(args.scenario_list)
    topic = (
        "stats"
        if chosen == {"d"}
        else "contacts"
        if chosen <= CONTACT_SCENARIOS | {IMPORT}
        else "auth"
    )
    args.section = args.section or (topic if args.database == "sqlite" else f"{topic}-postgresql")
    return args


# --- locating things -------------------------------------------------------------------------


def shared_dir(args: argparse.Namespace) -> Path:
    path = Path(args.shared) if args.shared else REPO.parent / "shared"
    if not (path / "bench" / "load.py").is_file():
        sys.exit(f"no bench/load.py under {path}: pass --shared or set NEXUS_SHARED_DIR")
    return path.resolve()


def import_load(shared: Path) -> ModuleType:
    sys.path.insert(0, str(shared / "bench"))
    return importlib.import_module("load")


def nexus_command(args: argparse.Namespace) -> Path:
    candidates = [Path(args.venv)] if args.venv else [Path(sys.prefix), REPO / ".venv"]
    for venv in candidates:
        if (venv / "bin" / "nexus").is_file():
            return venv / "bin" / "nexus"
    sys.exit(f"no bin/nexus in {', '.join(map(str, candidates))}: install the project or --venv")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_only() -> None:
    """Keep curl (load.Client) off any configured proxy: all traffic stays on 127.0.0.1."""
    for key in ("NO_PROXY", "no_proxy"):
        os.environ[key] = ",".join(filter(None, [os.environ.get(key), "127.0.0.1,localhost"]))


# --- processes ---------------------------------------------------------------------------------


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the process group a server was started in (start_new_session=True)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # workers that outlived their master
        os.killpg(proc.pid, signal.SIGKILL)


def health(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_healthy(proc: subprocess.Popen[bytes], port: int, logfile: Path, timeout: int) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if health(port):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{tail(logfile)}")
        time.sleep(0.2)
    raise RuntimeError(f"no healthy /health after {timeout} s:\n{tail(logfile)}")


def clean_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if k not in OVERRIDDEN and not k.startswith("NEXUS_")
    }


@contextlib.contextmanager
def serve(
    cmd: list[str], env: dict[str, str], cwd: Path, port: int, logfile: Path, timeout: int
) -> Iterator[None]:
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(proc, port, logfile, timeout)
        time.sleep(3)  # as run_reference.sh: let the other workers finish importing the app
        yield
    finally:
        stop(proc)


@contextlib.contextmanager
def new_postgres_database(host: str, port: int, user: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one run, dropped afterwards; its URL."""
    name = f"nexus_bench_{int(time.time())}_{secrets.token_hex(3)}"
    common = ["-h", host, "-p", str(port), "-U", user, "-w"]
    subprocess.run(["createdb", *common, name], check=True, timeout=60)
    try:
        yield f"postgresql://{user}@{host}:{port}/{name}"
    finally:
        subprocess.run(["dropdb", *common, "--if-exists", "--force", name], timeout=60, check=False)


def postgres_database(args: argparse.Namespace) -> contextlib.AbstractContextManager[str]:
    return new_postgres_database(args.pg_host, args.pg_port, args.pg_user)


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of a fresh database: a SQLite file in ``workdir``, or a new PostgreSQL
    database on 127.0.0.1:5432 (user postgres), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    with new_postgres_database("127.0.0.1", 5432, "postgres") as url:
        yield url


def postgres_version(args: argparse.Namespace) -> str:
    try:
        connect = ["-h", args.pg_host, "-p", str(args.pg_port), "-U", args.pg_user, "-w"]
        out = subprocess.run(
            ["psql", *connect, "-d", "postgres", "-Atc", "show server_version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return "PostgreSQL"
    return f"PostgreSQL {out[0]}" if out else "PostgreSQL"


def reference_venv(args: argparse.Namespace, shared: Path) -> Path:
    """Build the reference's virtualenv as run_reference.sh does (stamp = requirements' sha256)."""
    venv, req = Path(args.ref_venv), shared / "bench" / "reference_flask" / "requirements.txt"
    stamp = hashlib.sha256(req.read_bytes()).hexdigest()
    stamp_file = venv / ".requirements.sha256"
    current = stamp_file.read_text().strip() if stamp_file.is_file() else None
    if not (venv / "bin" / "gunicorn").is_file() or current != stamp:
        log(f"building {venv} ...")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "-r", str(req)], check=True, timeout=900
        )
        stamp_file.write_text(stamp + "\n")
    return venv


@contextlib.contextmanager
def our_server(
    args: argparse.Namespace, nexus: Path, workdir: Path, port: int
) -> Iterator[dict[str, Any]]:
    with contextlib.ExitStack() as stack:
        if args.database == "postgresql":
            database_url = stack.enter_context(postgres_database(args))
        else:
            database_url = f"sqlite:///{workdir / 'nexus.db'}"
        env = clean_env()
        env.update(
            NEXUS_ENV="production",
            SECRET_KEY=secrets.token_hex(32),
            DATABASE_URL=database_url,
            NEXUS_AUTH_RATE_PER_MINUTE="0",
            NEXUS_IMPORT_RATE_PER_MINUTE="0",
            CORS_ORIGINS=ORIGIN,
        )
        env.update(item.split("=", 1) for item in args.server_env)
        cmd = [str(nexus), "serve", "--workers", str(args.workers)]
        cmd += ["--host", "127.0.0.1", "--port", str(port)]
        logfile = workdir / "server.log"
        # The working directory is the temporary folder, so that no .env file is read.
        stack.enter_context(serve(cmd, env, workdir, port, logfile, args.start_timeout))
        yield {"logfile": logfile, "command": f"nexus serve --workers {args.workers}"}


@contextlib.contextmanager
def reference_server(
    args: argparse.Namespace, venv: Path, shared: Path, workdir: Path, port: int
) -> Iterator[dict[str, Any]]:
    app_dir = shared / "bench" / "reference_flask"
    env = clean_env()
    env.update(DATABASE_URL=f"sqlite:///{workdir / 'app.db'}", SECRET_KEY=secrets.token_hex(32))
    # Create the tables once, as the first backend's "python src/main.py" did.
    subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import main"],
        cwd=app_dir,
        env=env,
        check=True,
        timeout=120,
    )
    logfile = workdir / "gunicorn.log"
    cmd = [str(venv / "bin" / "gunicorn"), "-w", str(args.ref_workers)]
    cmd += ["-b", f"127.0.0.1:{port}", "main:app", "--error-logfile", str(logfile)]
    with serve(cmd, env, app_dir, port, logfile, args.start_timeout):
        yield {"logfile": logfile, "command": f"gunicorn -w {args.ref_workers} main:app"}


# --- measuring ---------------------------------------------------------------------------------


def scenario_specs(load: ModuleType, email: str) -> dict[str, tuple[str, str, int, str, list[str]]]:
    """The scenarios exactly as load.py's main() builds them: (name, path, connections, lua,
    headers)."""
    json_ct = ["-H", "Content-Type: application/json"]
    login_body = json.dumps({"email": email, "password": load.PASSWORD})
    login_lua = load.COMMON_LUA + 'wrk.method = "POST"\nwrk.body = ' + json.dumps(login_body) + "\n"
    me, login, contacts = load.PATHS["me"], load.PATHS["login"], load.PATHS["contacts"]
    stats = load.PATHS["stats"]
    listing, search = f"{contacts}?per_page=50", f"{contacts}?per_page=50&search={load.QUERY}"
    return {
        "a": (f"GET {me}", me, 32, load.COMMON_LUA, []),
        "b": (f"GET {listing}", listing, 32, load.COMMON_LUA, []),
        "c": (f"GET {search}", search, 32, load.COMMON_LUA, []),
        "d": (f"GET {stats}", stats, 32, load.COMMON_LUA, []),
        "e": (f"POST {contacts}", contacts, 32, load.POST_CONTACT_LUA, json_ct),
        "f": (f"POST {login}", login, 8, login_lua, json_ct),
    }


def seed_contacts(load: ModuleType, user: Any, workdir: Path, rows: int) -> None:
    """The contacts b, c and e run against: load.py's CSV of ``rows`` contacts, imported."""
    seed_csv = workdir / "seed.csv"
    load.write_csv(str(seed_csv), rows)
    started = time.perf_counter()
    status, body = user.call("POST", load.PATHS["import"], file=str(seed_csv))
    if status != 201:
        raise RuntimeError(f"seeding {rows} contacts by import: {status} {str(body)[:300]}")
    log(f"seeded {rows} contacts by import in {time.perf_counter() - started:.1f} s")


def write_lua(workdir: Path, key: str, script: str) -> str:
    path = workdir / f"scenario-{key}.lua"
    path.write_text(script)
    return str(path)


def wrk_children() -> list[int]:
    """PIDs of the wrk processes this process started."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            head, _, rest = stat.read_text().rpartition(")")
            if head.split("(", 1)[1] == "wrk" and int(rest.split()[1]) == os.getpid():
                pids.append(int(stat.parent.name))
    return pids


def run_parallel(
    load: ModuleType, jobs: dict[str, tuple[str, int, str, list[str]]], seconds: int, port: int
) -> dict[str, dict[str, Any]]:
    """Several run_wrk at once (one thread each); CPU figures are those of the whole run."""
    results: dict[str, dict[str, Any]] = {}
    failures: dict[str, BaseException] = {}

    def one(key: str, url: str, conns: int, lua: str, headers: list[str]) -> None:
        try:
            results[key] = load.run_wrk(url, seconds, conns, lua, headers, port)
        except BaseException as problem:  # reported by the main thread
            failures[key] = problem

    pids = load.server_pids(port)
    srv0, busy0, t0 = load.cpu_seconds(pids), load.machine_busy_seconds(), time.time()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    threads = [
        threading.Thread(target=one, args=(key, *job), name=f"wrk-{key}")
        for key, job in jobs.items()
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 60)  # wrk stops after -d seconds (+ its 10 s timeout)
    except BaseException:  # interrupted: stop our wrk children now rather than after -d seconds
        for pid in wrk_children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        raise
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError("a wrk process did not finish in time")
    if failures:
        raise next(iter(failures.values()))
    wall, kids1 = time.time() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    srv_cpu = load.cpu_seconds(pids) - srv0
    busy = load.machine_busy_seconds() - busy0
    shared_cpu = {
        "wrk_cpu": round(100 * wrk_cpu / wall),
        "srv_cpu": round(100 * srv_cpu / wall),
        "other_cpu": round(100 * max(busy - wrk_cpu - srv_cpu, 0) / wall),
    }
    for result in results.values():
        result.update(shared_cpu)
    return results


def measure(
    load: ModuleType, args: argparse.Namespace, base: str, port: int, workdir: Path
) -> dict[str, Any]:
    """Log a user in, probe keep-alive, run the wanted scenarios; returns rows by scenario key."""
    user = load.Client(base, str(workdir), "user")
    email = f"bench-{int(time.time())}-{secrets.token_hex(3)}@example.com"
    user.login(email)
    status, body = user.call("GET", load.PATHS["me"])
    if status != 200:
        raise RuntimeError(f"GET {load.PATHS['me']} with the session cookie: {status} {body}")
    cookie = user.cookie_header()
    kept, detail = load.keep_alive(base, load.PATHS["me"], cookie)
    log(f"keep-alive: {'yes' if kept else 'no'} ({detail})")
    headers = ["-H", f"Cookie: {cookie}", "-H", f"Origin: {load.ORIGIN}"]
    if os.environ.get("ACCEPT_ENCODING"):  # as load.py
        headers += ["-H", f"Accept-Encoding: {os.environ['ACCEPT_ENCODING']}"]
    specs = scenario_specs(load, email)
    lua = {key: write_lua(workdir, key, spec[3]) for key, spec in specs.items()}
    if CONTACT_SCENARIOS & set(args.scenario_list):
        seed_contacts(load, user, workdir, args.contacts)

    if args.warmup:
        log(f"warming up with {specs['a'][0]} for {args.warmup} s (not recorded) ...")
        load.run_wrk(base + specs["a"][1], args.warmup, specs["a"][2], lua["a"], headers, port)
        time.sleep(1)

    rows: dict[str, dict[str, Any]] = {}
    for key in args.scenario_list:
        if key == IMPORT:
            continue  # last, below: it leaves 100,000 contacts behind
        if key in specs:
            name, path, conns, _, extra = specs[key]
            log(f"running {key} {name} ({conns} connections) for {args.seconds} s ...")
            result = load.run_wrk(
                base + path, args.seconds, conns, lua[key], [*headers, *extra], port
            )
            rows[key] = {"name": name, "conns": conns, **result}
        else:  # af: a and f at once
            log(f"running af: {specs['a'][0]} and {specs['f'][0]} at once for {args.seconds} s ...")
            jobs = {
                k: (base + specs[k][1], specs[k][2], lua[k], [*headers, *specs[k][4]])
                for k in ("a", "f")
            }
            both = run_parallel(load, jobs, args.seconds, port)
            for k, other in (("a", "f"), ("f", "a")):
                rows[f"af:{k}"] = {
                    "name": f"{specs[k][0]} while {other} runs",
                    "conns": specs[k][2],
                    **both[k],
                }
        time.sleep(1)
    if IMPORT in args.scenario_list:
        log(f"timing an import of {args.import_rows} rows ...")
        stamp = f"{int(time.time())}-{secrets.token_hex(3)}"
        # Recorded whatever its status: the reference's gunicorn kills a worker busy for more
        # than 30 s, and that answer (500 after 30 s) is its result.
        rows[IMPORT] = load.timed_import(base, str(workdir), stamp, port, args.import_rows)
    return {"keep_alive": kept, "keep_alive_detail": detail, "rows": rows}


def log_problems(logfile: Path) -> list[str]:
    try:
        lines = logfile.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in lines if LOG_PROBLEMS.search(line)]


def idle_check(load: ModuleType) -> int:
    busy0 = load.machine_busy_seconds()
    time.sleep(2)
    busy: float = 50 * (load.machine_busy_seconds() - busy0)  # % of one core over 2 s
    if busy > 20:
        log(f"WARNING: machine already {busy:.0f}% busy (of one core) before the load starts")
    return round(busy)


# --- reporting ---------------------------------------------------------------------------------

SECTION_TITLES = {"auth": "Authentication", "contacts": "Contacts", "stats": "Dashboard statistics"}
ROW_ORDER = ("a", "b", "c", "d", "e", "f", "af:a", "af:f")
ROW_LABEL = {
    "a": "a",
    "b": "b",
    "c": "c",
    "d": "d",
    "e": "e",
    "f": "f",
    "af:a": "af (me)",
    "af:f": "af (login)",
}


def medians(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key in ROW_ORDER:
        seen = [run["rows"][key] for run in runs if key in run["rows"]]
        if seen:
            out[key] = {"name": seen[0]["name"], "conns": seen[0]["conns"]}
            for metric in METRICS:
                out[key][metric] = round(statistics.median(r[metric] for r in seen), 2)
    return out


def import_medians(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    seen = [run["rows"][IMPORT] for run in runs if IMPORT in run["rows"]]
    if not seen:
        return None
    return {
        "rows": seen[0]["rows"],
        "mib": seen[0]["mib"],
        "seconds": round(statistics.median(r["seconds"] for r in seen), 2),
        "peak_rss_mib": max(r["peak_rss_mib"] or 0 for r in seen),
        "peak_rss_largest_mib": max(r["peak_rss_largest_mib"] or 0 for r in seen),
        "processes": seen[0]["processes"],
        "statuses": sorted({r["status"] for r in seen}),
    }


def import_table(summary: dict[str, Any]) -> str | None:
    lines = [
        "| server | database | CSV import | status | wall s | peak RSS MiB (all processes) "
        "| largest |",
        "| --- | --- | --- | --- | ---: | ---: | ---: |",
    ]
    for target in summary["targets"].values():
        if row := target.get("import"):
            lines.append(
                f"| {target['label']} | {target['database']} | {row['rows']:,} rows "
                f"({row['mib']} MiB) | {', '.join(map(str, row['statuses']))} "
                f"| {row['seconds']:.2f} | {row['peak_rss_mib']} "
                f"({row['processes']}) | {row['peak_rss_largest_mib']} |"
            )
    return "\n".join(lines) if len(lines) > 2 else None


def fmt(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def results_table(summary: dict[str, Any]) -> str:
    lines = [
        "| server | database | scenario | req/s | p50 ms | p99 ms | non-2xx | errors |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target in summary["targets"].values():
        for key, row in target["medians"].items():
            lines.append(
                f"| {target['label']} | {target['database']} | {ROW_LABEL[key]} `{row['name']}` "
                f"({row['conns']} conns) | {row['rps']:.1f} | {row['p50_ms']:.1f} | "
                f"{row['p99_ms']:.1f} | {fmt(row['non2xx'])} | {fmt(row['sock_err'])} |"
            )
    return "\n".join(lines)


def ratio_table(summary: dict[str, Any]) -> str | None:
    targets = summary["targets"]
    if "reference" not in targets:
        return None
    ours, ref = targets["ours"]["medians"], targets["reference"]["medians"]
    lines = [
        "| scenario | req/s ours ÷ reference | p99 ours ÷ reference |",
        "| --- | ---: | ---: |",
    ]
    for key in ROW_ORDER:
        if key in ours and key in ref:
            rps = ours[key]["rps"] / ref[key]["rps"] if ref[key]["rps"] else float("nan")
            p99 = ours[key]["p99_ms"] / ref[key]["p99_ms"] if ref[key]["p99_ms"] else float("nan")
            lines.append(f"| {ROW_LABEL[key]} `{ours[key]['name']}` | {rps:.2f} | {p99:.2f} |")
    return "\n".join(lines)


def verdicts(summary: dict[str, Any]) -> list[str]:
    out = []
    for target in summary["targets"].values():
        rows = target["medians"]
        if "af:a" not in rows:
            continue
        p99 = rows["af:a"]["p99_ms"]
        verdict = "PASS" if p99 < ME_P99_BUDGET_MS and not rows["af:a"]["non2xx"] else "FAIL"
        line = (
            f"{target['label']}: `GET /api/auth/me` p99 while logins run: {p99:.1f} ms "
            f"(budget {ME_P99_BUDGET_MS:g} ms, non-2xx {fmt(rows['af:a']['non2xx'])}): {verdict}"
        )
        if "f" in rows and rows["f"]["rps"]:
            share = rows["af:f"]["rps"] / rows["f"]["rps"]
            line += (
                f"; logins meanwhile {rows['af:f']['rps']:.1f} req/s, "
                f"{100 * share:.0f} % of their rate alone ({rows['f']['rps']:.1f} req/s)"
            )
        out.append(line)
    return out


def cpu_note(summary: dict[str, Any]) -> str:
    """How much CPU went to neither wrk nor the server: high values mean a disturbed run."""
    parts = []
    for target in summary["targets"].values():
        rows = [row for run in target["runs"] for k, row in run["rows"].items() if k != IMPORT]
        if rows:
            srv = max(row["srv_cpu"] for row in rows)
            other = max(row["other_cpu"] for row in rows)
            parts.append(f"{target['label']} server up to {srv}%, other up to {other}%")
    return (
        f"CPU during the scenarios (% of one core; {summary['machine']['nproc']} cores): "
        + "; ".join(parts)
        + " (other = neither wrk nor the server: kernel, other processes"
        + (
            ", and PostgreSQL's own processes"
            if summary["targets"]["ours"]["database"].startswith("PostgreSQL")
            else "; above about 20 the run was disturbed"
        )
        + ")"
    )


def machine() -> dict[str, Any]:
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def package_versions(python: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    )
    try:
        out = subprocess.run(
            [str(python), "-c", code, *names], capture_output=True, text=True, timeout=60
        )
        return dict(json.loads(out.stdout))
    except (OSError, ValueError, subprocess.SubprocessError):
        return {}


def command_line() -> str:
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):
        script = script.resolve().relative_to(Path.cwd())
    return shlex.join(["python", str(script), *sys.argv[1:]])


def section(summary: dict[str, Any], args: argparse.Namespace) -> str:
    m, when = summary["machine"], summary["date"]
    ours = summary["targets"]["ours"]
    lines = [
        "<!-- generated by bench/run.py: rerun it to refresh this section; edits are lost -->",
        f"## {SECTION_TITLES[args.section.removesuffix('-postgresql')]}, "
        f"{ours['database']}"
        + (" (against the Flask reference)" if "reference" in summary["targets"] else ""),
        "",
        f"- Date: {when}",
        f"- Machine: {m['nproc']} CPUs (nproc), {m['cpu']}, {m['memory_gib']} GiB RAM, "
        f"Linux {m['kernel']}",
        f"- Command: `{summary['command']}`",
        f"- wrk: 2 threads, `--timeout 10s`, {args.seconds} s per scenario, "
        + (
            "one round"
            if args.rounds == 1
            else f"{args.rounds} interleaved rounds (figures are medians over the rounds)"
        )
        + f", {args.warmup} s of unrecorded `GET /api/auth/me` warm-up; machine "
        f"{summary['idle_busy_pct']}% busy (of one core) in the 2 s before the first server",
    ]
    for target in summary["targets"].values():
        lines.append(
            f"- {target['label']}: {target['describe']}; keep-alive "
            f"{'yes' if all(target['keep_alive']) else 'no'}"
        )
    if any(target["medians"] for target in summary["targets"].values()):
        lines += ["", results_table(summary), ""]
    if imports := import_table(summary):
        lines += ["", imports, ""]
    if ratios := ratio_table(summary):
        lines += ["Ours relative to the reference (req/s above 1 and p99 below 1 favour ours):", ""]
        lines += [ratios, ""]
    for verdict in verdicts(summary):
        lines += [f"- {verdict}"]
    lines += [f"- {cpu_note(summary)}"]
    if any(t["log_problems"] for t in summary["targets"].values()):
        lines += [""]
        for target in summary["targets"].values():
            if target["log_problems"]:
                lines.append(
                    f"- {target['label']}: {len(target['log_problems'])} error line(s) in its log"
                )
    return "\n".join(lines).rstrip() + "\n"


def write_section(path: Path, name: str, body: str) -> None:
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body}{end}"
    text = path.read_text() if path.is_file() else "# Performance\n"
    i, j = text.find(start), text.find(end)
    if i >= 0 and j > i:
        text = text[:i] + block + text[j + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_measurement(
    path: Path, name: str, script: str, argv: list[str] | None, report: str
) -> None:
    """Write ``report`` (a Markdown table) as section ``name`` of ``path``, stamped with the
    time, the machine's cores and the command line of ``script`` that measured it."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = f"python {script} " + " ".join(sys.argv[1:] if argv is None else argv)
    body = (
        f"<!-- generated by {script}: rerun it to refresh this section -->\n"
        f"Measured {stamp} on this machine ({os.cpu_count()} cores), `{command}`:\n\n"
        f"{report}"
    )
    write_section(path, name, body)


# --- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    try:
        return bench(parse_args(argv))
    except (RuntimeError, subprocess.CalledProcessError, AssertionError) as problem:
        log(f"bench failed: {problem}")
        return 1


def bench(args: argparse.Namespace) -> int:
    for tool in ("wrk", "curl") + (("createdb", "dropdb") if args.database == "postgresql" else ()):
        if not shutil.which(tool):
            sys.exit(f"{tool} missing (apt-get install -y {tool})")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    local_only()
    shared = shared_dir(args)
    load = import_load(shared)
    nexus = nexus_command(args)
    ref_venv = reference_venv(args, shared) if args.reference else None
    started = time.time()
    ours_versions = package_versions(nexus.parent / "python", ["granian", "litestar", "bcrypt"])
    database = postgres_version(args) if args.database == "postgresql" else "SQLite"
    targets: dict[str, dict[str, Any]] = {
        "ours": {
            "label": "ours",
            "database": database,
            "describe": f"`nexus serve --workers {args.workers}` (granian "
            f"{ours_versions.get('granian', '?')}, litestar {ours_versions.get('litestar', '?')}, "
            f"NEXUS_ENV=production, bcrypt cost 12), {database}",
            "runs": [],
            "keep_alive": [],
            "log_problems": [],
        }
    }
    if ref_venv:
        targets["reference"] = {
            "label": "reference",
            "database": "SQLite",
            "describe": f"Flask reference, `gunicorn -w {args.ref_workers}` (sync workers), "
            "Werkzeug scrypt, SQLite",
            "runs": [],
            "keep_alive": [],
            "log_problems": [],
        }
    idle_busy = idle_check(load)
    root = Path(tempfile.mkdtemp(prefix="nexus-bench-"))
    try:
        for round_no in range(1, args.rounds + 1):
            for key, target in targets.items():
                workdir = root / f"{key}-{round_no}"
                workdir.mkdir()
                port = free_port()
                if key == "ours":
                    server = our_server(args, nexus, workdir, port)
                else:
                    assert ref_venv is not None
                    server = reference_server(args, ref_venv, shared, workdir, port)
                log(f"round {round_no}/{args.rounds}: {key} on 127.0.0.1:{port} ({workdir})")
                with server as info:
                    run = measure(load, args, f"http://127.0.0.1:{port}", port, workdir)
                target["runs"].append(run)
                target["keep_alive"].append(run["keep_alive"])
                problems = log_problems(info["logfile"])
                target["log_problems"] += problems
                for line in problems[:10]:
                    log(f"{key} log: {line}")
    finally:
        if args.keep_tmp:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    for target in targets.values():
        target["medians"] = medians(target["runs"])
        target["import"] = import_medians(target["runs"])
    summary: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(),
        "machine": machine(),
        "idle_busy_pct": idle_busy,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "scenarios": args.scenario_list,
        "targets": targets,
    }
    print()
    print(results_table(summary))
    if imports := import_table(summary):
        print(imports)
    if ratios := ratio_table(summary):
        print()
        print(ratios)
    for verdict in verdicts(summary):
        print(verdict)
    print(cpu_note(summary))
    print(
        "JSON "
        + json.dumps(
            {
                **{k: v for k, v in summary.items() if k != "targets"},
                "targets": {
                    key: {
                        "database": t["database"],
                        "keep_alive": t["keep_alive"],
                        "medians": t["medians"],
                        "runs": [run["rows"] for run in t["runs"]],
                        "log_problems": len(t["log_problems"]),
                    }
                    for key, t in targets.items()
                },
            },
            ensure_ascii=False,
        )
    )
    if args.write:
        write_section(Path(args.write), args.section, section(summary, args))
        log(f"wrote section bench:{args.section} of {args.write}")
    log(f"bench wall time {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
