"""mypy over the project ([tool.mypy] in pyproject.toml) against a baseline that only shrinks.

tests/mypy-baseline.json holds the number of errors each file had when it was last lowered. A
file with more errors than that fails (a new error: fix it); a file with fewer fails too, so the
improvement is written down and cannot quietly come back: lower the baseline with

    .venv/bin/python -m tests.unit.test_mypy
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from core.settings import PROJECT_ROOT

BASELINE = PROJECT_ROOT / "tests" / "mypy-baseline.json"
_ERROR = re.compile(r"^(?P<path>[^:\s][^:]*):\d+: error: ", re.MULTILINE)


def _cache_dir() -> Path:
    """mypy's incremental cache: in the checkout's .venv (rebuilt with it), else in tmp. A warm
    cache makes the run a few seconds instead of ~10-20."""
    venv = PROJECT_ROOT / ".venv"
    if venv.is_dir():
        return venv / ".mypy_cache"
    return Path(tempfile.gettempdir()) / f"zhongtai-mypy-cache-{os.getuid()}"


def run_mypy() -> tuple[Counter[str], str]:
    """(errors per file, mypy's report), run in-process from the project root."""
    from mypy import api

    previous = Path.cwd()
    os.chdir(PROJECT_ROOT)  # [tool.mypy] names packages and modules relative to the root
    try:
        stdout, stderr, status = api.run(
            [
                "--config-file",
                str(PROJECT_ROOT / "pyproject.toml"),
                "--cache-dir",
                str(_cache_dir()),
                "--no-color-output",
                "--no-error-summary",
                "--hide-error-context",
            ]
        )
    finally:
        os.chdir(previous)
    assert status in (0, 1), f"mypy itself failed (status {status}):\n{stdout}\n{stderr}"
    errors = Counter(m["path"].replace("\\", "/") for m in _ERROR.finditer(stdout))
    return errors, stdout


def write_baseline(errors: Counter[str]) -> None:
    BASELINE.write_text(json.dumps(dict(sorted(errors.items())), indent=2) + "\n", encoding="utf-8")


def test_mypy_errors_only_shrink() -> None:
    errors, report = run_mypy()
    baseline: dict[str, int] = json.loads(BASELINE.read_text(encoding="utf-8"))
    more = {f: (baseline.get(f, 0), n) for f, n in errors.items() if n > baseline.get(f, 0)}
    fewer = {f: (n, errors.get(f, 0)) for f, n in baseline.items() if errors.get(f, 0) < n}
    if more:
        lines = [
            line for line in report.splitlines() if line.split(":", 1)[0].replace("\\", "/") in more
        ]
        raise AssertionError(
            "new mypy errors (baseline -> now: "
            + ", ".join(f"{f} {b} -> {n}" for f, (b, n) in sorted(more.items()))
            + "); fix them:\n"
            + "\n".join(lines)
        )
    assert not fewer, (
        "fewer mypy errors than the baseline: lower it with "
        "`.venv/bin/python -m tests.unit.test_mypy` and commit tests/mypy-baseline.json ("
        + ", ".join(f"{f} {b} -> {n}" for f, (b, n) in sorted(fewer.items()))
        + ")"
    )


if __name__ == "__main__":
    counted, _ = run_mypy()
    write_baseline(counted)
    print(
        f"{BASELINE.relative_to(PROJECT_ROOT)}: {sum(counted.values())} errors "
        f"in {len(counted)} files",
        file=sys.stderr,
    )
