"""dev.py, the newcomer's entry point: it prints where the server really listens, and stopping
dev.py stops the server (it becomes the server; nothing is left holding the port)."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from core.settings import PROJECT_ROOT


def _load_dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", PROJECT_ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dev = _load_dev()


@pytest.mark.parametrize(
    ("args", "url"),
    [
        ([], "http://127.0.0.1:8000/graphql"),
        (["--port", "8001"], "http://127.0.0.1:8001/graphql"),
        (["--port=9000", "--host=localhost"], "http://localhost:9000/graphql"),
        (
            ["--workers", "2", "--host", "0.0.0.0", "--port", "8080"],
            "http://127.0.0.1:8080/graphql",
        ),
        (["--host", "::1", "--port", "8002"], "http://[::1]:8002/graphql"),
    ],
)
def test_the_printed_url_follows_host_and_port(args: list[str], url: str) -> None:
    assert dev.graphiql_url(args) == url


@pytest.mark.skipif(os.name != "posix", reason="exec keeps the pid on POSIX only")
def test_serve_execs_the_server_after_migrate_and_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[tuple[str, ...]] = []
    execs: list[list[str]] = []

    def execv(path: str, argv: list[str]) -> None:
        execs.append(list(argv))
        raise SystemExit(0)  # a real exec never returns

    monkeypatch.setattr(dev, "ensure_installed", lambda extra: None)

    def run(*a: object, **_: object) -> int:
        steps.append(tuple(map(str, a)))
        return 0

    monkeypatch.setattr(dev, "run", run)
    monkeypatch.setattr(dev.os, "chdir", lambda path: None)
    monkeypatch.setattr(dev.os, "execv", execv)
    with pytest.raises(SystemExit):
        dev.serve(["--port", "8123"])
    zhongtai = str(dev.BIN / "zhongtai")
    assert steps == [(zhongtai, "migrate"), (zhongtai, "seed-demo")]
    assert execs == [[zhongtai, "serve", "--port", "8123"]]  # no child process to orphan


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _wait(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.skipif(os.name != "posix", reason="signals and exec as on POSIX")
@pytest.mark.skipif(
    not (PROJECT_ROOT / ".venv" / ".installed-base").exists(),
    reason="dev.py serve would first install the project",
)
def test_sigterm_to_dev_py_stops_the_server(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"}
    proc = subprocess.Popen(
        [
            sys.executable,
            str(PROJECT_ROOT / "dev.py"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # its own group: cleanup can reach all
    try:
        up = _wait(lambda: _answers(port) or proc.poll() is not None, 120)
        assert up and proc.poll() is None, "the server never answered /healthz"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) is not None  # dev.py itself (now the server) exited
        assert _wait(lambda: not _answers(port), 5), "something still answers on the port"
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)  # nothing of the group is left running
    finally:
        if proc.poll() is None or _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        proc.stdout and proc.stdout.close()
    assert f"http://127.0.0.1:{port}/graphql" in out


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_suite_keeps_compiled_modules_in_the_venv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of the suite's interpreters reuses compiled modules instead of compiling the
    project again, even where the machine sets PYTHONDONTWRITEBYTECODE; the checkout stays
    free of __pycache__, and a prefix the caller chose wins."""
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    env = dev.bytecode_cache_env()
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(dev.VENV / "pycache")
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", "/elsewhere")
    assert dev.bytecode_cache_env()["PYTHONPYCACHEPREFIX"] == "/elsewhere"
