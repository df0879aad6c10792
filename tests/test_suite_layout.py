"""The suite's own layout: no test module imports another test module (shared code lives in tests/helpers or in
conftest fixtures), so running one test file never runs or depends on another's module-level code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers.shared import SHARED_DATA_ENV, shared_data_dir, shared_path

TESTS = Path(__file__).resolve().parent
SHARED_LITERAL = re.compile(r"[\"']shared([\"']|/data)")  # "shared" / "data", or "shared/data/..."


def _imported_modules(path: Path) -> set[str]:
    """Every module an import statement may load: `from a import b` may load `a.b` (b a submodule)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names.update(f"{base}.{alias.name}".replace("..", ".") for alias in node.names)
    return names


def _is_test_module(name: str) -> bool:
    return any(part.startswith("test_") for part in name.split("."))


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {
        str(path.relative_to(TESTS)): sorted(n for n in _imported_modules(path) if _is_test_module(n))
        for path in sorted(TESTS.rglob("*.py"))
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"test modules imported elsewhere (move shared code to tests/helpers): {offenders}"


def test_the_check_sees_every_import_form(tmp_path: Path) -> None:
    src = tmp_path / "test_probe.py"
    src.write_text(
        "import test_a\nfrom test_b import x\nfrom tests.test_c import y\nfrom tests import test_d\n"
        "from . import test_e\nfrom tests.helpers.warc import rec\nimport pytest\n"
    )
    found = sorted(n for n in _imported_modules(src) if _is_test_module(n))
    assert found == [".test_e", "test_a", "test_b", "test_b.x", "tests.test_c", "tests.test_c.y", "tests.test_d"]
    assert not _is_test_module("tests.helpers.warc.rec") and not _is_test_module("pytest")


def test_shared_data_location_has_one_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$SOVEREIGN_SHARED_DATA moves every test's and bench's shared data; a missing file skips, naming the path."""
    monkeypatch.delenv(SHARED_DATA_ENV, raising=False)
    assert shared_data_dir() == TESTS.parents[1] / "shared" / "data"
    monkeypatch.setenv(SHARED_DATA_ENV, str(tmp_path))
    (tmp_path / "warc").mkdir()
    assert shared_data_dir() == tmp_path.resolve() and shared_path("warc") == tmp_path.resolve() / "warc"
    with pytest.raises(pytest.skip.Exception, match=str(tmp_path / "conformance")):
        shared_path("conformance")


def test_no_test_computes_the_shared_path_itself() -> None:
    """The shared data is found through tests/helpers/shared.py (bench/_shared.py for benches), nowhere else."""
    own = [p for p in sorted(TESTS.rglob("*.py")) if p.name != "test_suite_layout.py"]
    own += sorted((TESTS.parent / "bench").glob("*.py"))
    found = [str(p.relative_to(TESTS.parent)) for p in own if SHARED_LITERAL.search(p.read_text(encoding="utf-8"))]
    assert found == ["bench/_shared.py"], found
