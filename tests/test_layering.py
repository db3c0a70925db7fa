"""Dependencies point one way: `bot -> index`, `cli -> evaluation -> index`.

The library never imports discord, the front ends (`bot`, `cli`) or the evaluation, and has no asyncio; the
evaluation never imports discord or `bot`.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEX = ROOT / "index"
EVALUATION = ROOT / "evaluation"
FORBIDDEN = {"discord", "asyncio", "bot", "cli", "evaluation"}
FORBIDDEN_IN_EVALUATION = {"discord", "bot", "cli"}

PROBE = """
import importlib, json, pkgutil, sys
import {package}
for module in pkgutil.walk_packages({package}.__path__, "{package}."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by_importing(package: str) -> set[str]:
    """Every module in sys.modules after importing each module of ``package`` in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(package=package)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return set(json.loads(result.stdout.splitlines()[-1]))


def roots_of(loaded: set[str]) -> set[str]:
    return {name.split(".")[0] for name in loaded}


def test_importing_every_index_module_does_not_import_discord() -> None:
    loaded = loaded_by_importing("index")

    assert "index.store" in loaded and "index.answer" in loaded  # the probe really imported the library
    assert not {name for name in loaded if name.split(".")[0] == "discord"}
    assert roots_of(loaded) & {"bot", "cli", "evaluation"} == set()


def test_importing_every_evaluation_module_does_not_import_discord_or_the_bot() -> None:
    loaded = loaded_by_importing("evaluation")

    assert "evaluation.answers" in loaded and "evaluation.speakers" in loaded  # the probe really ran
    assert roots_of(loaded) & FORBIDDEN_IN_EVALUATION == set()


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_index_module_imports_discord_or_asyncio() -> None:
    modules = sorted(INDEX.rglob("*.py"))
    assert len(modules) >= 10

    offenders = {p.name: imported_roots(p) & FORBIDDEN for p in modules if imported_roots(p) & FORBIDDEN}
    assert offenders == {}
    assert [p.name for p in modules if "asyncio" in p.read_text("utf-8")] == []


def test_no_evaluation_module_imports_discord_or_a_front_end() -> None:
    modules = sorted(EVALUATION.rglob("*.py"))
    assert len(modules) >= 3

    offenders = {p.name: imported_roots(p) & FORBIDDEN_IN_EVALUATION for p in modules}
    assert {name: roots for name, roots in offenders.items() if roots} == {}
