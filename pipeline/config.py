"""Run configs: YAML, validated on load. An error names the file, the field and what was expected."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ConfigError(Exception):
    """A config that cannot be used; the message is one line a user can act on."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Strict):
    uri: str = Field(description="file, glob or prefix: /path, file://, s3://bucket/prefix/*.warc.gz")
    format: Literal["auto", "warc", "jsonl", "parquet"] = "auto"
    source: str | None = Field(None, description="dataset name recorded on every document")
    text_column: str = "text"
    id_column: str | None = "id"
    url_column: str | None = "url"
    licence_column: str | None = None


class SparkOptions(_Strict):
    master: str = "local[*]"
    conf: dict[str, str] = Field(default_factory=dict)


class RayOptions(_Strict):
    address: str | None = None  # None: start a local Ray instance
    num_cpus: int | None = None


class ExecutorSpec(_Strict):
    kind: Literal["local", "spark", "ray"] = "local"
    workers: int = Field(0, ge=0, description="parallel work units; 0 = number of CPU cores")
    batch_size: int = Field(256, ge=1, le=100_000, description="documents per batch through the stages")
    memory_mb: int = Field(2048, ge=128, description="memory budget for the global reduce (spills beyond)")
    spark: SparkOptions = Field(default_factory=SparkOptions)
    ray: RayOptions = Field(default_factory=RayOptions)


class StageSpec(_Strict):
    name: str
    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict)


class OutputSpec(_Strict):
    shards_per_language: int = Field(1, ge=1, le=100_000)
    manifest_parts: int = Field(1, ge=1, le=100_000)


class S3Spec(_Strict):
    endpoint_url: str | None = None  # credentials come from the environment, never from here
    region: str | None = None


class RunConfig(_Strict):
    name: str = "run"
    inputs: list[InputSpec] = Field(default_factory=list)
    output: str = Field("runs/run", description="run directory URI: /path, file://, s3://bucket/prefix")
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    stages: list[StageSpec] = Field(default_factory=list)
    shards: OutputSpec = Field(default_factory=OutputSpec)
    s3: S3Spec = Field(default_factory=S3Spec)
    max_record_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="records larger than this are quarantined (Common Crawl cuts at 1 MiB)"
    )

    @field_validator("name")
    @classmethod
    def _name_is_safe(cls, v: str) -> str:
        if not v or any(c in v for c in "/\\\0"):
            raise ValueError("a run name without slashes")
        return v

    def enabled_stages(self) -> list[StageSpec]:
        return [s for s in self.stages if s.enabled]

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def format_validation_error(source: str, err: ValidationError) -> str:
    problems = []
    for e in err.errors():
        got = e.get("input")
        got_s = "" if isinstance(got, dict) else f" (got {json.dumps(got, default=str)[:60]})"
        problems.append(f"{_format_loc(tuple(e['loc']))}: {e['msg']}{got_s}")
    return f"{source}: " + "; ".join(problems)


def parse_config(data: Any, source: str = "<config>") -> RunConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level, got {type(data).__name__}")
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from None
    from stages.registry import validate_stage_specs  # late import: stages import pipeline modules

    validate_stage_specs(cfg, source)
    return cfg


def load_config(path: str | Path) -> RunConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{p}:{where} invalid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_config(data, str(p))
