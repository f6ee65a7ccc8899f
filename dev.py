#!/usr/bin/env python3
"""The two commands a newcomer needs (Python 3.11+, nothing else):

    python3 dev.py serve   # install, migrate, load demo data, serve GraphiQL on :8000
    python3 dev.py serve --port 8001 --host 0.0.0.0   # options go to `zhongtai serve`
    python3 dev.py test    # install test tools, run the whole suite

A virtual environment is made in .venv and installed from the lock files (requirements.lock
for serve, requirements-test.lock for test: every package pinned, with hashes), re-installed only
when pyproject.toml or the lock changes. See README "Dependencies" to refresh the locks.

`test` runs the suite on pytest-xdist workers (one per core, each with its own databases);
ZT_TEST_WORKERS=N picks the number, 0 runs in one process, and an explicit -n wins."""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
LOCKS = {"": "requirements.lock", "test": "requirements-test.lock"}


def run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def ensure_installed(extra: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit("Zhongtai needs Python 3.11 or newer.")
    if not PYTHON.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    lock = ROOT / LOCKS[extra]
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + lock.read_bytes() + extra.encode()
    ).hexdigest()
    stamp = VENV / f".installed-{extra or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    pip = [str(PYTHON), "-m", "pip", "install", "-q"]
    subprocess.check_call([*pip, "--upgrade", "pip"])
    # Exactly the locked versions (hash-checked), then the project itself without resolving
    # anything: what runs here is what ran in CI.
    subprocess.check_call([*pip, "-r", str(lock)], cwd=ROOT)
    subprocess.check_call([*pip, "--no-deps", "-e", "."], cwd=ROOT)
    stamp.write_text(digest)


def graphiql_url(args: list[str]) -> str:
    """Where the server will answer, from the --host/--port passed on to `zhongtai serve`
    (same defaults); a wildcard host is shown as loopback, an address a browser can open."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    known, _ = parser.parse_known_args(args)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(known.host, known.host)
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal in a URL
    return f"http://{host}:{known.port}/graphql"


def serve(args: list[str]) -> int:
    ensure_installed("")
    zhongtai = BIN / "zhongtai"
    for step in (["migrate"], ["seed-demo"]):
        if run(zhongtai, *step) != 0:
            return 1
    print(f"GraphiQL: {graphiql_url(args)}", flush=True)
    return replace_with(zhongtai, "serve", *args)


def replace_with(program: Path, *args: str) -> int:
    """Become the server rather than wait for it, so a signal aimed at dev.py (Ctrl-C, kill,
    a supervisor) reaches the server itself and never leaves it orphaned on its port.
    Windows has no exec that keeps the pid: there the child runs in the foreground."""
    if os.name == "posix":
        os.chdir(ROOT)  # as `run` does: the demo database is ./zhongtai.db
        os.execv(program, [str(program), *args])  # does not return
    return run(program, *args)


def workers(args: list[str]) -> list[str]:
    """pytest-xdist's -n, unless the caller chose (-n/--numprocesses, -p no:xdist)."""
    chosen = os.environ.get("ZT_TEST_WORKERS", "auto")
    if chosen == "0" or any(
        a == "-n" or a.startswith(("-n", "--numprocesses")) or a == "no:xdist" for a in args
    ):
        return []
    return ["-n", chosen]


def bytecode_cache_env() -> dict[str, str]:
    """The environment for the suite, with compiled modules kept in .venv/pycache. The suite
    starts many interpreters (xdist workers, the concurrency tests' processes), and each one
    compiled all of the project's sources again, ~3 s apiece, where PYTHONDONTWRITEBYTECODE is
    set (as on some CI machines). A prefix keeps the checkout itself free of __pycache__."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(VENV / "pycache"))
    return env


def test(args: list[str]) -> int:
    ensure_installed("test")
    code = run(PYTHON, "-m", "pytest", *workers(args), *args, env=bytecode_cache_env())
    return 0 if code == 5 else code  # 5 = nothing collected (e.g. a -k that matched nothing)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "test"):
        sys.exit(__doc__)
    sys.exit({"serve": serve, "test": test}[sys.argv[1]](sys.argv[2:]))
