"""The demo crawl end to end on every executor, checked against what the generator planted (demo_expectations):
every opt-out dropped by the rights stage with the reason of its signal, no planted PII value (of the entities the
run scrubs) anywhere in the outputs, one survivor per duplicate group, low-quality pages dropped, licences right.
Byte-identity between executors (test_executors.py) would also hold if all of them were wrong in the same way:
this test says they are right."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from sovereign.pipeline.demo import demo_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.synthetic.expectations import demo_expectations
from sovereign.stages.pii.entities import DEFAULT_ENTITIES
from sovereign.stages.rights.licences import LicenceMatcher
from sovereign.stages.rights.policy import load_registry
from tests.helpers.evidence_doc import documented, problems
from tests.helpers.outputs import texts_of

# The generator's signal kinds and the rights stage's reason for each (README: rights:<signal>).
SIGNAL_REASON = {
    "content_usage_header": "rights:content-usage-header",
    "http_tdm_reservation": "rights:tdm-reservation-header",
    "meta_robots": "rights:meta-robots",
    "meta_robots_noai": "rights:meta-robots",
    "meta_tdm_reservation": "rights:tdm-reservation-meta",
    "robots_content_signal": "rights:robots-content-signal",
    "robots_content_usage": "rights:robots-content-usage",
    "robots_disallow": "rights:robots-disallow",
    "robots_unreachable": "rights:robots-unreachable",
    "tdmrep_json": "rights:tdm-reservation-file",
    "x_robots_tag": "rights:x-robots-tag",
    "x_robots_tag_agent": "rights:x-robots-tag",
}
# Stages that run before rights and dedup: a page they drop never reaches the later ones.
EARLY_STAGES = ("extract", "langid", "quality")


class Run:
    """One finished demo run, indexed by page URL (the response record's row: request records share the URL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.manifest = pq.read_table(path / "manifest").to_pylist()
        self.shards = pq.read_table(path / "shards").to_pylist()
        self.config = json.loads((path / "run.json").read_text())["config"]
        rows: dict[str, list[dict]] = defaultdict(list)
        for r in self.manifest:
            if r["reason"] != "ingest:not-a-document-record":
                rows[r["url"]].append(r)
        self._rows = rows

    def row(self, url: str) -> dict:
        found = self._rows.get(url, [])
        assert len(found) == 1, f"{url}: expected one manifest row for the page, found {len(found)}"
        return found[0]

    def kept_urls(self) -> set[str]:
        return {r["url"] for r in self.shards}


@pytest.fixture(scope="module")
def expect(demo_crawl: tuple[Path, int]) -> dict:
    return demo_expectations(pages=demo_crawl[1])


@pytest.fixture(
    scope="module",
    params=[
        "local",
        pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.slow]),
        pytest.param("ray", marks=[pytest.mark.ray, pytest.mark.slow]),
    ],
)
def run(request: pytest.FixtureRequest, demo_crawl: tuple[Path, int], tmp_path_factory: pytest.TempPathFactory) -> Run:
    kind = request.param
    corpus, pages = demo_crawl
    kwargs: dict[str, Any] = {}
    if kind == "spark":
        kwargs["spark_session"] = request.getfixturevalue("spark")
    elif kind == "ray":
        request.getfixturevalue("ray_local")
    out = tmp_path_factory.mktemp(f"demo-{kind}")
    run_pipeline(demo_config(out, executor=kind, pages=pages, corpus=corpus), **kwargs)
    return Run(out / "run")


def test_every_input_record_has_one_manifest_row(run: Run, expect: dict) -> None:
    assert len(run.manifest) == sum(expect["record_counts"].values())
    assert len({r["id"] for r in run.manifest}) == len(run.manifest)
    kept_rows = {r["id"] for r in run.manifest if r["status"] == "kept"}
    assert kept_rows == {r["id"] for r in run.shards}


def test_every_planted_opt_out_is_dropped_with_its_reason(run: Run, expect: dict) -> None:
    optouts = expect["rights"]["optout_urls"]
    assert len(optouts) >= 10, "the demo crawl should plant opt-outs of every kind"
    kept = run.kept_urls()
    for url in optouts:
        reasons = {SIGNAL_REASON[s["kind"]] for s in expect["page"][url]["signals"] if s["reserves"]}
        row = run.row(url)
        assert url not in kept, f"opt-out page kept: {url}"
        assert (row["status"], row["stage"]) == ("dropped", "rights"), (url, row["status"], row["reason"])
        assert row["reason"] in reasons, (url, row["reason"], reasons)
    # Pages with a signal that does not reserve (controls) are not dropped for it.
    for url in expect["rights"]["controls"]:
        assert run.row(url)["stage"] != "rights", url


def test_no_planted_pii_value_in_any_output(run: Run, expect: dict) -> None:
    pii = next((s.get("params", {}) for s in run.config["stages"] if s["name"] == "pii"), None)
    assert pii is not None, "the demo runs the pii stage"
    entities = set(pii.get("entities") or DEFAULT_ENTITIES)  # PERSON needs spaCy: the demo does not look for names
    planted = [(t, v) for page in expect["pii"].values() for t, vals in page.items() if t in entities for v in vals]
    assert len({t for t, _ in planted}) >= 4 and len(planted) >= 20
    pii_kept = [u for u in expect["pii"] if u in run.kept_urls()]
    assert pii_kept, "some pages with PII should be kept (scrubbed), or the check proves nothing"
    haystack = texts_of(run.path)  # shards and manifest decoded cell by cell, run.json as text
    for kind, value in planted:
        for variant in {value, value.replace(" ", "")}:
            assert not any(variant in h for h in haystack), f"planted {kind} value found in the run's outputs"


def test_each_duplicate_group_keeps_one_survivor(run: Run, expect: dict) -> None:
    groups = [(g, {"duplicate:exact"}) for g in expect["exact_dup_groups"]]
    # A near copy that differs only in a date may normalise to the same text: exact dedup gets it first.
    groups += [(g["urls"], {"duplicate:fuzzy", "duplicate:exact"}) for g in expect["near_dup_groups"]]
    assert len(groups) >= 4
    for urls, reasons in groups:
        rows = [run.row(u) for u in urls]
        reached = [r for r in rows if r["stage"] not in (*EARLY_STAGES, "rights")]  # those dedup saw
        assert sum(r["status"] == "kept" for r in reached) == 1, [(r["url"], r["reason"]) for r in rows]
        assert all(r["reason"] in reasons for r in reached if r["status"] != "kept"), [r["reason"] for r in rows]


def test_low_quality_pages_are_dropped(run: Run, expect: dict) -> None:
    assert len(expect["low_quality"]) >= 4
    kept = run.kept_urls()
    for url, why in expect["low_quality"].items():
        row = run.row(url)
        assert url not in kept and row["status"] == "dropped", (url, why, row["reason"])
        assert row["stage"] in EARLY_STAGES, (url, why, row["reason"])


def test_licences_recorded_as_planted(run: Run, expect: dict) -> None:
    shards = {r["url"]: r for r in run.shards}
    registry = LicenceMatcher(load_registry()[0])
    checked = 0
    for url, page in expect["page"].items():
        row = run.row(url)
        if row["status"] != "kept":
            continue
        shard = shards[url]
        # The planted licence is a variant (CC-BY-NC-ND-4.0): shards and manifest carry its registry id
        # (CC-BY-NC-ND), the shards also the variant, the registry's training class and conditions.
        entry = registry.entry_for(page["licence"]) if page["licence"] else None
        assert row["licence"] == shard["licence"] == (entry.id if entry else None), (url, row["licence"])
        assert shard["licence_spdx"] == page["licence"], (url, shard["licence_spdx"], page["licence"])
        assert shard["licence_training"] == (entry.training if entry else "unknown"), url
        assert (shard["licence_conditions"] is None) == (entry is None), url
        checked += page["licence"] is not None
    assert checked >= 5, "kept pages with a licence should be checked"


def test_every_manifest_row_has_the_evidence_docs_evidence_md_describes(run: Run) -> None:
    """One evidence format: the keys of every row's evidence are the ones docs/evidence.md lists for its reason."""
    doc = documented()
    wrong: dict[str, list[str]] = {}
    for row in run.manifest:
        keys = doc.keys_for(row["reason"])
        assert keys is not None, f"reason {row['reason']!r} is not in docs/evidence.md"
        found = problems(json.loads(row["evidence"]) if row["evidence"] else None, keys)
        if found:
            wrong.setdefault(row["reason"] or "(kept)", found)
    assert not wrong, wrong
