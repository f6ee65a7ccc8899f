"""The repository's artifacts stay in sync with the code: SDL, migrations, layering, lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from core.settings import PROJECT_ROOT
from models import Base
from schema import schema
from tests.conftest import in_thread


def test_schema_graphql_matches_the_code() -> None:
    committed = (PROJECT_ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == schema.as_str() + "\n", (
        "schema.graphql is stale: run `zhongtai export-schema` and commit the diff"
    )


def test_migrations_match_the_models(tmp_path: Path) -> None:
    from cli import migrate

    path = tmp_path / "m.db"
    in_thread(migrate, f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models differ from alembic head: {diff}"


def test_layers_point_down() -> None:
    """import-linter's contracts ([tool.importlinter]) hold. Its library entry point, run
    in a fresh interpreter: `python -m importlinter.cli` only defines the command and
    exits 0 without checking anything, which is how two broken contracts went unseen."""
    check = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filename={str(PROJECT_ROOT / 'pyproject.toml')!r}, "
        "no_cache=True, no_logo=True))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stdout


def test_ruff_format_is_clean() -> None:
    """Every file is as `ruff format` writes it, so a diff shows behaviour, never layout."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stdout


def _pins(lock: str) -> dict[str, str]:
    """name -> version of every `name==version` line of a lock file."""
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for line in (PROJECT_ROOT / lock).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith((" ", "#")) and "==" in line:
            name, _, rest = line.partition("==")
            pins[canonicalize_name(name.split("[")[0])] = rest.split()[0].split(";")[0]
    return pins


def test_lock_files_pin_what_pyproject_asks_for() -> None:
    """dev.py installs the locks, not pyproject: a dependency added or tightened there without
    refreshing the locks (README "Dependencies") would silently not be installed."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = {
        "requirements.lock": project["dependencies"],
        "requirements-test.lock": project["dependencies"]
        + project["optional-dependencies"]["test"],
    }
    stale = []
    for lock, requirements in wanted.items():
        pins = _pins(lock)
        for spec in map(Requirement, requirements):
            pinned = pins.get(canonicalize_name(spec.name))
            if pinned is None or not spec.specifier.contains(pinned, prereleases=True):
                stale.append(f"{lock}: {spec} (locked: {pinned})")
    assert not stale, 'refresh the locks (README "Dependencies"):\n' + "\n".join(stale)


def test_pre_commit_runs_the_locked_ruff() -> None:
    config = (PROJECT_ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert f'"ruff=={_pins("requirements-test.lock")["ruff"]}"' in config
