"""app.py stays assembly only: the HTTP edge's steps live in web/, one job per module, and
app.py wires them into routes, middleware and a lifespan. A new step belongs in web/."""

from __future__ import annotations

import ast

from core.settings import PROJECT_ROOT

APP = PROJECT_ROOT / "app.py"
MAX_LINES = 150
MAX_HELPER_LINES = 8  # a helper longer than this is a step: give it a web/ module


def _tree() -> ast.Module:
    return ast.parse(APP.read_text(encoding="utf-8"))


def test_app_is_short() -> None:
    lines = len(APP.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"app.py has {lines} lines: move the logic into web/"


def test_app_defines_only_create_app_and_tiny_helpers() -> None:
    tree = _tree()
    classes = [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    assert not classes, f"app.py defines classes {classes}: they belong in web/"
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    assert "create_app" in [f.name for f in functions]
    for function in functions:
        if function.name == "create_app":
            nested = [
                n.name
                for n in ast.walk(function)
                if n is not function and isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
            assert not nested, f"create_app defines {nested}: give them a web/ module"
            continue
        size = (function.end_lineno or function.lineno) - function.lineno + 1
        assert size <= MAX_HELPER_LINES, f"app.py's {function.name} is a step: move it to web/"


def test_nothing_in_web_imports_app() -> None:
    for path in (PROJECT_ROOT / "web").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert "app" not in names, f"{path.name} imports app: app.py only assembles web/"
