"""pipeline.explain on a manifest built from the rights stage's real output, and policy-file validation."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_rights_warc import read_warc, rec, robots, run_stage, warc_bytes

from pipeline.config import ConfigError, parse_config
from pipeline.explain import explain
from pipeline.schema import MANIFEST_SCHEMA
from stages.base import decision_row
from stages.rights import RightsStage
from stages.rights.policy import DEFAULT_POLICY, load_policy


def _run_dir(tmp_path):
    page = b'<html><head><link rel="license" href="https://creativecommons.org/licenses/by/4.0/"></head></html>'
    records = [
        robots("User-agent: GPTBot\nDisallow: /private/\n"),
        rec("https://ex.eu/private/a"),
        rec("https://ex.eu/open", body=page),
    ]
    out, stage, kept = run_stage(records)
    rows = []  # manifest rows as the engine writes them, from the same documents
    docs, _ = read_warc(warc_bytes(records))
    for doc in docs:
        status, reason, ev = out[doc["url"]]
        if status == "kept":
            row = decision_row(doc, "", "", None, "kept") | {"stage": None, "reason": None}
            row["evidence"] = json.dumps({"_rights_evidence": ev}, sort_keys=True)
            row |= {"licence": reason, "shard": "shards/lang=en/part-00000.parquet", "row": 0}
        else:
            row = decision_row(doc, "rights", reason, ev, status) | {"licence": None, "shard": None, "row": None}
        rows.append(row)
    (tmp_path / "manifest").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA), tmp_path / "manifest" / "part-00000.parquet")
    (tmp_path / "run.json").write_text(json.dumps({"stages": [stage.describe()]}))
    return tmp_path, docs


def test_explain_dropped_and_kept(tmp_path):
    run, docs = _run_dir(tmp_path)
    text = explain(str(run), "https://ex.eu/private/a")
    assert "DROPPED by stage 'rights', reason 'rights:robots-disallow'" in text
    assert "robots.txt forbids an AI crawler" in text
    assert "disallow: /private/" in text and "GPTBot" in text
    assert "Policy rule applied: signals.robots_txt" in text and "Policy in force: sha256" in text
    kept_id = next(d["id"] for d in docs if d["url"] == "https://ex.eu/open")
    text = explain(str(run), kept_id)
    assert "KEPT in shards/lang=en/part-00000.parquet row 0" in text
    assert "Licence: CC-BY-4.0" in text and "rel-license" in text
    with pytest.raises(LookupError):
        explain(str(run), "https://nowhere.example/")


def test_invalid_policy_names_file_and_field(tmp_path):
    bad = tmp_path / "policy.yaml"
    bad.write_text(DEFAULT_POLICY.read_text().replace("on_5xx: disallow", "on_5xx: sometimes"))
    with pytest.raises(ConfigError, match=r"policy\.yaml: robots\.on_5xx"):
        load_policy(bad)
    bad.write_text("signals: {robots_txt: maybe}\n")
    with pytest.raises(ConfigError, match=r"signals\.robots_txt"):
        load_policy(bad)
    bad.write_text("sources: {gov: {missing: {robots: perhaps}}}\n")
    with pytest.raises(ConfigError, match=r"sources\.gov.*missing\.robots"):
        load_policy(bad)


def test_run_config_overrides_are_validated_and_hashed():
    cfg = parse_config(
        {
            "stages": [
                {
                    "name": "rights",
                    "params": {"ai_user_agents": ["GPTBot"], "overrides": {"missing": {"robots": "drop"}}},
                }
            ]
        }
    )
    stage = RightsStage(**cfg.stages[0].params)
    assert stage.describe()["policy"]["ai_user_agents"] == ["GPTBot"]
    assert stage.describe()["policy_sha256"] != RightsStage().describe()["policy_sha256"]
    with pytest.raises(ConfigError, match=r"stages\[0\]\.params"):
        parse_config({"stages": [{"name": "rights", "params": {"ai_user_agents": ["Brightbot 1.0"]}}]})
    with pytest.raises(ConfigError, match=r"stages\[0\]\.params"):
        parse_config({"stages": [{"name": "rights", "params": {"overrides": {"robots": {"max_bytes": 10}}}}]})
