"""Dependencies point one way: `bot -> index`. The library never imports discord and has no asyncio."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

INDEX = Path(__file__).resolve().parents[1] / "index"
FORBIDDEN = {"discord", "asyncio"}

PROBE = """
import importlib, json, pkgutil, sys
import index
for module in pkgutil.walk_packages(index.__path__, "index."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_every_index_module_does_not_import_discord() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=INDEX.parent, capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(json.loads(result.stdout.splitlines()[-1]))

    assert "index.store" in loaded and "index.answer" in loaded  # the probe really imported the library
    assert not {name for name in loaded if name.split(".")[0] == "discord"}


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
