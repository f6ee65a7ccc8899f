"""Concurrency tests run against a real PostgreSQL only (SQLite serializes all writers, so it
proves nothing here). They skip with a message when PostgreSQL is not reachable."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine
from core.settings import PROJECT_ROOT
from tests.conftest import truncate_all


@pytest.fixture
async def pg_engine(pg_migrated: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_migrated, pool_size=5)
    await truncate_all(engine)
    yield engine
    await engine.dispose()


async def run_workers(*commands: list[str], delay: float = 1.5) -> list[dict[str, Any]]:
    """Start each command as its own OS process (`python -m tests.concurrency.worker …`),
    all released at the same instant, and collect their JSON answers."""
    start_at = time.time() + delay
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.concurrency.worker",
            *cmd,
            "--start-at",
            str(start_at),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for cmd in commands
    ]
    results = []
    try:
        for proc in procs:
            out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
            assert proc.returncode == 0, err.decode()[-3000:]
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
    finally:
        # One failed: the others are not left running (the event loop would wait for them
        # when the session ends, and the run would hang instead of reporting the failure).
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    return results


async def checkout_from_two_processes(
    url: str, plan: list[dict[str, Any]], folder: Path
) -> dict[str, int]:
    """Two API processes each take every planned checkout at once (12 at a time): the
    outcomes ("ok" or a userError code) summed over both, once every refusal is known to be
    a userError."""
    path = folder / "plan.json"
    path.write_text(json.dumps(plan))
    results = await run_workers(
        ["checkout", url, "--plan", str(path), "--key", "a", "--concurrency", "12"],
        ["checkout", url, "--plan", str(path), "--key", "b", "--concurrency", "12"],
    )
    assert [r["errors"] for r in results] == [[], []]  # every refusal was a userError
    outcomes: dict[str, int] = {}
    for r in results:
        for k, v in r.items():
            if isinstance(v, int):
                outcomes[k] = outcomes.get(k, 0) + v
    return outcomes
