#!/usr/bin/env python3
"""The two commands a newcomer needs (Python 3.11+, nothing else):

    python3 dev.py serve   # install, migrate, load demo data, serve GraphiQL on :8000
    python3 dev.py test    # install test tools, run the whole suite

A virtual environment is made in .venv and installed from the lock files (requirements.lock
for serve, requirements-test.lock for test: every package pinned, with hashes), re-installed only
when pyproject.toml or the lock changes. See README "Dependencies" to refresh the locks.

`test` runs the suite on pytest-xdist workers (one per core, each with its own databases);
ZT_TEST_WORKERS=N picks the number, 0 runs in one process, and an explicit -n wins."""

from __future__ import annotations

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
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + lock.read_bytes()
                            + extra.encode()).hexdigest()
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


def serve(args: list[str]) -> int:
    ensure_installed("")
    zhongtai = BIN / "zhongtai"
    for step in (["migrate"], ["seed-demo"]):
        if run(zhongtai, *step) != 0:
            return 1
    print("GraphiQL: http://127.0.0.1:8000/graphql", flush=True)
    return run(zhongtai, "serve", *args)


def workers(args: list[str]) -> list[str]:
    """pytest-xdist's -n, unless the caller chose (-n/--numprocesses, -p no:xdist)."""
    chosen = os.environ.get("ZT_TEST_WORKERS", "auto")
    if chosen == "0" or any(a == "-n" or a.startswith(("-n", "--numprocesses")) or
                            a == "no:xdist" for a in args):
        return []
    return ["-n", chosen]


def test(args: list[str]) -> int:
    ensure_installed("test")
    code = run(PYTHON, "-m", "pytest", *workers(args), *args)
    return 0 if code == 5 else code  # 5 = nothing collected (e.g. a -k that matched nothing)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "test"):
        sys.exit(__doc__)
    sys.exit({"serve": serve, "test": test}[sys.argv[1]](sys.argv[2:]))
