"""Stages state what they need; executors own the engines: no module under stages/ imports an engine."""

from __future__ import annotations

import ast
from pathlib import Path

STAGES = Path(__file__).resolve().parents[1] / "stages"
ENGINES = {"pyspark", "ray", "duckdb"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_stage_module_imports_an_engine() -> None:
    files = sorted(STAGES.rglob("*.py"))
    assert len(files) > 10  # the walk found the stages, so an empty result means something
    found = {str(p.relative_to(STAGES.parent)): sorted(_imported_roots(p) & ENGINES) for p in files}
    assert {k: v for k, v in found.items() if v} == {}


def test_global_stages_state_engine_neutral_ops() -> None:
    from sovereign.pipeline.reduce_ops import ConnectedComponents, GroupMin
    from sovereign.stages.dedup_exact import KEY, ExactDedupStage
    from sovereign.stages.dedup_fuzzy import BANDS, SCORE, SIG, FuzzyDedupStage

    assert ExactDedupStage().reduce_op() == GroupMin(key=KEY, reason="duplicate:exact")
    fuzzy = FuzzyDedupStage(verify_threshold=0.8).reduce_op()
    assert fuzzy == ConnectedComponents(
        bands=BANDS, sig=SIG, score=SCORE, verify_threshold=0.8, reason="duplicate:fuzzy", sizes_clusters=True
    )
    # Every column an op reads is one its stage's map writes.
    assert set(fuzzy.columns) <= set(FuzzyDedupStage.key_columns)
    assert ExactDedupStage().sizes_clusters is False and FuzzyDedupStage().sizes_clusters is True
