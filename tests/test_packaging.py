"""The wheel carries everything a run needs: every module and data file of pipeline/, stages/, licenses/ and
configs/, under the one `sovereign` import namespace (docs/packaging.md says why)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("pipeline", "stages", "licenses", "configs")


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "-C", str(REPO), "ls-files", *FOLDERS], capture_output=True, text=True, check=True)
    return [f for f in out.stdout.splitlines() if f]


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {str(Path(f).parent) for f in _tracked_files()}
    wanted = {"sovereign." + folder.replace("/", ".") for folder in folders}
    assert listed == wanted, f"missing: {sorted(wanted - listed)}; not a folder: {sorted(listed - wanted)}"


def test_no_module_imports_the_bare_folder_names() -> None:
    """`import pipeline` would work in a checkout and fail from a wheel (or pick up another distribution's)."""
    import ast

    offenders = []
    for rel in _tracked_files() + [str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("*.py")]:
        if not rel.endswith(".py"):
            continue
        for node in ast.walk(ast.parse((REPO / rel).read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{rel}: {n}" for n in names if n.split(".")[0] in FOLDERS]
    assert not offenders


@pytest.mark.slow
def test_the_wheel_holds_every_tracked_file(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("sovereign-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {f"sovereign/{f}" for f in _tracked_files()}
    assert wanted <= names, f"not in the wheel: {sorted(wanted - names)[:10]}"
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "sovereign = sovereign.pipeline.cli:main" in entry_points
