#!/usr/bin/env python3
"""The two commands a newcomer needs (Python 3.11+, nothing else):

    python3 dev.py serve   # install, migrate, load demo data, serve GraphiQL on :8000
    python3 dev.py test    # install test tools, run the whole suite

A virtual environment is made in .venv and re-installed only when pyproject.toml changes."""

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


def run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def ensure_installed(extra: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit("Zhongtai needs Python 3.11 or newer.")
    if not PYTHON.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extra.encode()).hexdigest()
    stamp = VENV / f".installed-{extra or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    spec = f".[{extra}]" if extra else "."
    subprocess.check_call([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    subprocess.check_call([str(PYTHON), "-m", "pip", "install", "-q", "-e", spec], cwd=ROOT)
    stamp.write_text(digest)


def serve(args: list[str]) -> int:
    ensure_installed("")
    zhongtai = BIN / "zhongtai"
    for step in (["migrate"], ["seed-demo"]):
        if run(zhongtai, *step) != 0:
            return 1
    print("GraphiQL: http://127.0.0.1:8000/graphql", flush=True)
    return run(zhongtai, "serve", *args)


def test(args: list[str]) -> int:
    ensure_installed("test")
    code = run(PYTHON, "-m", "pytest", *args)
    return 0 if code == 5 else code  # 5 = nothing collected (e.g. a -k that matched nothing)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "test"):
        sys.exit(__doc__)
    sys.exit({"serve": serve, "test": test}[sys.argv[1]](sys.argv[2:]))
