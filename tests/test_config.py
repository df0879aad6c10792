"""Config errors name the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from sovereign.pipeline.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "run.yaml"
    p.write_text(text)
    return p


def test_shipped_configs_load() -> None:
    for name in ("demo.yaml", "example-spark.yaml", "example-ray.yaml"):
        cfg = load_config(REPO / "configs" / name)
        assert cfg.stages, name
    assert load_config(REPO / "configs" / "example-spark.yaml").executor.kind == "spark"
    assert load_config(REPO / "configs" / "example-ray.yaml").executor.kind == "ray"


def test_wrong_type_names_file_field_and_expectation(tmp_path: Path) -> None:
    p = _write(tmp_path, "inputs: [{uri: a.warc}]\nexecutor: {workers: many}\n")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    msg = str(err.value)
    assert str(p) in msg and "executor.workers" in msg and "integer" in msg and '"many"' in msg


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"executor\.wokers: Extra inputs are not permitted"):
        load_config(_write(tmp_path, "executor: {wokers: 2}\n"))


def test_unknown_stage_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"stages\[1\]\.name: unknown stage 'dedupe'.*known stages: .*dedup_exact"):
        load_config(_write(tmp_path, "stages: [{name: extract}, {name: dedupe}]\n"))


def test_stage_params_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"stages\[0\]\.params\.normalise"):
        load_config(_write(tmp_path, "stages: [{name: dedup_exact, params: {normalise: [1]}}]\n"))


def test_invalid_yaml_gives_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"line 3, column 1 invalid YAML"):
        load_config(_write(tmp_path, "name: x\ninputs: [unclosed\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
