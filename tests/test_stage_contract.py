"""The stage contract: a stage is one file that declares itself (name, Params, columns, reasons, side inputs), the
engine derives the shard schema from those declarations, and stages from other packages plug in without a table.
Plug-in stages here live in packages written to a temporary folder, outside the repository."""

from __future__ import annotations

import ast
import json
import re
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sovereign.pipeline.config import ConfigError, parse_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.errors import SovereignError
from sovereign.stages.registry import known_stages, stage_class

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "writing-a-stage.md"


def _documented_stage() -> str:
    """The first ```python block of docs/writing-a-stage.md: the complete example stage."""
    match = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert match, "docs/writing-a-stage.md has no python example"
    return match.group(1)


def _package(root: Path, name: str, modules: dict[str, str], entry_points: dict[str, str] | None = None) -> Path:
    """An installed-looking package under root/site: the modules, and a .dist-info with entry points if given."""
    site = root / "site"
    pkg = site / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for module, source in modules.items():
        (pkg / f"{module}.py").write_text(source)
    if entry_points:
        info = site / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
        (info / "entry_points.txt").write_text(f"[sovereign.stages]\n{lines}")
    return site


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch):
    """Make a folder importable here and in the stage processes the run starts (they inherit PYTHONPATH)."""

    def add(site: Path) -> None:
        monkeypatch.syspath_prepend(str(site))
        monkeypatch.setenv("PYTHONPATH", str(site))

    yield add
    for mod in [m for m in sys.modules if m.startswith(("docs_example", "acme_"))]:
        del sys.modules[mod]


def _jsonl(path: Path, texts: list[str]) -> str:
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    return str(path)


def _run(tmp_path: Path, inputs: str, stages: list[dict]) -> tuple[list[dict], list[dict], list[str]]:
    cfg = parse_config(
        {
            "name": "contract",
            "inputs": [{"uri": inputs, "source": "t"}],
            "output": str(tmp_path / "run"),
            "executor": {"kind": "local", "workers": 1},
            "stages": stages,
        }
    )
    run_pipeline(cfg)
    shards = [pq.read_table(p) for p in sorted((tmp_path / "run" / "shards").rglob("*.parquet"))]
    manifest = [
        r for p in sorted((tmp_path / "run" / "manifest").glob("*.parquet")) for r in pq.read_table(p).to_pylist()
    ]
    return [r for t in shards for r in t.to_pylist()], manifest, shards[0].schema.names if shards else []


LONG = "Die Gemeinde veröffentlicht ihre Beschlüsse jeden Monat im Amtsblatt und auf der Website."


def test_the_documented_example_runs_in_a_pipeline(tmp_path: Path, on_path) -> None:
    source = _documented_stage()
    assert len(source.strip().splitlines()) < 50, "the documented stage should stay under 50 lines"
    on_path(_package(tmp_path, "docs_example", {"text_stats": source}))
    inputs = _jsonl(tmp_path / "in.jsonl", [LONG, "zu kurz", LONG + " Noch ein Satz."])
    kept, manifest, columns = _run(
        tmp_path, inputs, [{"name": "docs_example.text_stats:TextStatsStage", "params": {"min_words": 5}}]
    )
    assert "n_words" in columns  # the declared column reached the shards: no schema table was edited
    assert sorted(r["n_words"] for r in kept) == [len(LONG.split()), len(LONG.split()) + 3]
    short = [r for r in manifest if r["status"] == "dropped"]
    assert [(r["stage"], r["reason"], json.loads(r["evidence"])) for r in short] == [
        ("text_stats", "text_stats:too-short", {"words": 2, "min_words": 5})
    ]


_UPPER = textwrap.dedent(
    """
    from typing import Any, ClassVar

    import pyarrow as pa

    from sovereign.stages.base import Column, DocumentStage, Drop


    class UpperStage(DocumentStage):
        name: ClassVar[str] = "acme_upper"
        columns: ClassVar[tuple[Column, ...]] = (Column("upper_chars", pa.int64(), "upper-case letters"),)

        def apply(self, doc: dict[str, Any]) -> dict[str, Any] | Drop:
            return {"upper_chars": sum(c.isupper() for c in doc["text"])}


    class SneakyStage(DocumentStage):
        name: ClassVar[str] = "acme_sneaky"

        def apply(self, doc: dict[str, Any]) -> dict[str, Any] | Drop:
            return {"sneaky": 1}


    class BoomStage(DocumentStage):
        name: ClassVar[str] = "acme_boom"

        def apply(self, doc: dict[str, Any]) -> dict[str, Any] | Drop:
            if "boom" in doc["text"]:
                raise ValueError(doc["text"])  # a foreign message quoting the document
            return {}
    """
)


def test_a_stage_from_another_installed_package_registers_by_entry_point(tmp_path: Path, on_path) -> None:
    on_path(_package(tmp_path, "acme_stages", {"upper": _UPPER}, {"acme_upper": "acme_stages.upper:UpperStage"}))
    assert "acme_upper" in known_stages()
    kept, manifest, columns = _run(tmp_path, _jsonl(tmp_path / "in.jsonl", [LONG]), [{"name": "acme_upper"}])
    assert columns[-1] == "upper_chars"
    assert [r["upper_chars"] for r in kept] == [sum(c.isupper() for c in LONG)]
    assert [r["status"] for r in manifest] == ["kept"]


def test_a_stage_that_writes_an_undeclared_column_stops_the_run(tmp_path: Path, on_path) -> None:
    """Loudly: before the contract, the column vanished from the shards and the run said nothing."""
    on_path(_package(tmp_path, "acme_bad", {"sneaky": _UPPER}))
    with pytest.raises(SovereignError, match=r"undeclared column\(s\) \['sneaky'\]"):
        _run(tmp_path, _jsonl(tmp_path / "in.jsonl", [LONG]), [{"name": "acme_bad.sneaky:SneakyStage"}])


def test_params_are_checked_once_and_exposed_typed() -> None:
    langid = stage_class("langid")(threshold=0.7)
    assert langid.params.threshold == 0.7 and langid.describe()["params"]["threshold"] == 0.7
    with pytest.raises(ConfigError, match=r"langid stage params: threshold: .*less than or equal to 1"):
        stage_class("langid")(threshold=3)
    with pytest.raises(ConfigError, match=r"stages\[0\]\.name: unknown stage 'nope'; known stages: dedup_exact"):
        parse_config({"name": "x", "inputs": [{"uri": "/nowhere"}], "output": "/tmp/x", "stages": [{"name": "nope"}]})


def _string_constants(path: Path) -> set[str]:
    return {
        n.value
        for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


@pytest.mark.parametrize("name", ["extract", "langid", "quality", "rights", "pii", "dedup_exact", "dedup_fuzzy"])
def test_every_reason_a_built_in_stage_uses_is_declared(name: str) -> None:
    cls = stage_class(name)
    module = Path(sys.modules[cls.__module__].__file__ or "")
    files = sorted(module.parent.glob("*.py")) if module.parent.name == name else [module]
    prefixes = {r.split(":", 1)[0] for r in cls.reasons} | {name}
    used = {
        s
        for f in files
        for s in _string_constants(f)
        if re.fullmatch(r"[a-z_]+:[a-z0-9-]+", s) and s.split(":", 1)[0] in prefixes
    }
    assert cls.reasons, f"{name} declares no reasons"
    assert used <= set(cls.reasons), f"{name} uses undeclared reasons {sorted(used - set(cls.reasons))}"


def _imports(path: Path, package_of: str) -> set[str]:
    """Modules of pipeline/ and stages/ that a file imports, at any depth (lazy imports count too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in out if m.split(".")[:2] in (["sovereign", "pipeline"], ["sovereign", "stages"])}


def test_no_import_cycle_between_pipeline_and_stages() -> None:
    files = {
        ".".join(("sovereign", *p.relative_to(REPO).with_suffix("").parts)).removesuffix(".__init__"): p
        for top in ("pipeline", "stages")
        for p in (REPO / top).rglob("*.py")
    }
    graph = {mod: {m for m in _imports(path, mod) if m in files and m != mod} for mod, path in files.items()}
    # Tarjan's strongly connected components: a cycle is a component of two modules or more.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[set[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    crossing = [sorted(c) for c in cycles if {m.split(".")[1] for m in c} == {"pipeline", "stages"}]
    assert not crossing, f"import cycles between pipeline/ and stages/: {crossing}"


def test_a_stage_just_raises_and_the_runner_quarantines_that_document_alone(tmp_path: Path, on_path) -> None:
    on_path(_package(tmp_path, "acme_boom", {"boom": _UPPER}))
    inputs = _jsonl(tmp_path / "in.jsonl", [LONG, "boom geheime Nachricht", LONG + " Zwei."])
    kept, manifest, _ = _run(tmp_path, inputs, [{"name": "acme_boom.boom:BoomStage"}])
    assert len(kept) == 2
    (bad,) = [r for r in manifest if r["status"] != "kept"]
    assert (bad["status"], bad["stage"], bad["reason"]) == ("quarantined", "acme_boom", "error:ValueError")
    assert "geheime" not in json.dumps(bad)


def test_every_declared_reason_is_in_docs_evidence_md() -> None:
    from sovereign.pipeline.ingest import REASONS as INGEST_REASONS
    from sovereign.pipeline.sandbox import REASONS as SANDBOX_REASONS
    from tests.helpers.evidence_doc import documented

    doc = documented()
    declared = set(INGEST_REASONS) | set(SANDBOX_REASONS)
    built_in = [stage_class(n) for n in known_stages() if stage_class(n).__module__.startswith("sovereign.stages.")]
    declared |= {r for cls in built_in for r in cls.reasons}
    assert len(declared) > 40
    assert not [r for r in sorted(declared) if doc.keys_for(r) is None], "reasons missing from docs/evidence.md"


def test_every_ingest_reason_is_declared() -> None:
    from sovereign.pipeline import ingest

    used = {s for s in _string_constants(Path(ingest.__file__)) if re.fullmatch(r"ingest:[a-z0-9-]+", s)}
    assert used == set(ingest.REASONS)
