"""pipeline.explain on a manifest built from the rights stage's real output, and policy-file validation."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sovereign.pipeline.config import ConfigError, parse_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.explain import explain
from sovereign.stages.rights import RightsStage
from sovereign.stages.rights.policy import DEFAULT_POLICY, load_policy
from tests.helpers.warc import PARAGRAPH, html_page, rec, robots, warc_bytes

CC_BY = '<link rel="license" href="https://creativecommons.org/licenses/by/4.0/">'


@pytest.fixture(scope="module")
def rights_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run (ingest, extract, rights) over a crawl with a robots.txt that bars GPTBot from /private/."""
    tmp = tmp_path_factory.mktemp("explain")
    (tmp / "in").mkdir()
    records = [
        robots("User-agent: GPTBot\nDisallow: /private/\n"),
        rec("https://ex.eu/private/a", body=html_page("Intern", [PARAGRAPH, "Nur für den Dienstgebrauch. " * 8])),
        rec("https://ex.eu/open", body=html_page("Offen", [PARAGRAPH, "Freier Bericht. " * 8], head_extra=CC_BY)),
    ]
    (tmp / "in" / "crawl.warc.gz").write_bytes(warc_bytes(records))
    cfg = {
        "name": "explain",
        "inputs": [{"uri": str(tmp / "in" / "*.warc.gz")}],
        "output": str(tmp / "run"),
        "stages": [{"name": "extract"}, {"name": "rights"}],
    }
    run_pipeline(parse_config(cfg))
    return tmp / "run"


def test_explain_dropped_and_kept(rights_run: Path) -> None:
    text = explain(str(rights_run), "https://ex.eu/private/a")
    assert "DROPPED by stage 'rights', reason 'rights:robots-disallow'" in text
    assert "robots.txt forbids an AI crawler" in text
    assert "disallow: /private/" in text and "GPTBot" in text
    assert "Policy rule applied: signals.robots_txt" in text and "Policy in force: sha256" in text
    kept = [r for r in pq.read_table(rights_run / "manifest").to_pylist() if r["url"] == "https://ex.eu/open"]
    assert len(kept) == 1 and kept[0]["status"] == "kept" and kept[0]["licence"] == "CC-BY"  # the registry id
    text = explain(str(rights_run), kept[0]["id"])
    assert f"KEPT in {kept[0]['shard']} row {kept[0]['row']}" in text
    assert "  Licence: CC-BY\n" in text and "rel-license" in text  # read from the evidence the engine wrote
    with pytest.raises(LookupError):
        explain(str(rights_run), "https://nowhere.example/")


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
