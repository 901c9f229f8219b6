"""The layering of DESIGN.md section 1, enforced on every module's imports."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)
IO_STDLIB = {"socket", "subprocess", "sqlite3", "urllib", "http", "shutil", "threading", "asyncio"}

ALLOWED = {
    # package: third-party (and first-party) top-level modules it may import
    "insights": {"insights", "numpy"},
    "integrations": {"integrations", "insights", "requests", "pydantic", "orjson"},
    "storage": {"storage", "insights", "sqlalchemy", "alembic", "numpy"},
}
FORBIDDEN_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("time", "time"), ("os", "environ")}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_stay_in_their_layer(package: str) -> None:
    crossings = []
    for path in modules(package):
        for root in imported_roots(ast.parse(path.read_text())):
            if root in STDLIB and not (package == "insights" and root in IO_STDLIB):
                continue
            if root == "__future__":
                continue
            if root not in ALLOWED[package]:
                crossings.append(f"{path.relative_to(ROOT)} imports {root}")
    assert crossings == []


def test_insights_never_reads_the_clock_or_the_environment() -> None:
    offenders = []
    for path in modules("insights"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in FORBIDDEN_CALLS
            ):
                offenders.append(
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}"
                )
    assert offenders == []


def test_only_bot_draws_charts() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("insights", "integrations", "storage")
        for path in modules(package)
        if "matplotlib" in imported_roots(ast.parse(path.read_text()))
    ]
    assert offenders == []


CORE_ONLY = ("insights/metrics", "insights/detectors")
"""Packages whose modules import only the core: insights.*, the standard library and numpy."""


@pytest.mark.parametrize("package", CORE_ONLY)
def test_metrics_and_detectors_import_only_the_core(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {root}"
        for path in modules(package)
        for root in sorted(imported_roots(ast.parse(path.read_text())))
        if root not in {"insights", "numpy", "__future__"}
        and (root not in STDLIB or root in IO_STDLIB)
    ]
    assert offenders == []


def test_detectors_are_modules_and_their_helpers_live_in_support() -> None:
    from insights.detectors import detectors

    package = ROOT / "insights" / "detectors"
    listed = {p.stem for p in package.glob("*.py")} - {"__init__"}
    assert sorted(p.name for p in package.iterdir() if p.is_dir() and p.name != "__pycache__") == [
        "support"
    ]
    assert listed == {detect.__module__.rpartition(".")[2] for detect in detectors().values()}


def test_no_module_in_insights_is_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {lines}"
        for path in modules("insights")
        if (lines := len(path.read_text().splitlines())) > 400
    ]
    assert long == []


def test_slack_never_imports_the_scheduler() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in modules("bot/slack")
        for node in ast.walk(ast.parse(path.read_text()))
        if (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.scheduler"))
        or (
            isinstance(node, ast.Import)
            and any(a.name.startswith("bot.scheduler") for a in node.names)
        )
    ]
    assert offenders == []


def test_the_checker_catches_a_crossing(tmp_path: Path) -> None:
    tree = ast.parse("import sqlalchemy\nfrom bot.config import load_config\n")
    assert imported_roots(tree) - ALLOWED["insights"] == {"sqlalchemy", "bot"}
