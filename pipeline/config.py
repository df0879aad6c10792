"""Run configs: YAML, validated on load. An error names the file, the field and what was expected."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sovereign.pipeline.errors import ConfigError, clip, format_validation_error
from sovereign.pipeline.storage import ENDPOINT_USERINFO_MESSAGE, has_userinfo

__all__ = ["ConfigError", "RunConfig", "format_validation_error", "load_config", "parse_config"]


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
    memory_mb: int = Field(
        2048,
        ge=128,
        description="memory budget per worker: the stage sandbox is killed above it (the document that grew it is "
        "quarantined) and DuckDB spills beyond it",
    )
    doc_timeout_s: float = Field(
        60.0,
        gt=0,
        le=86_400,
        description="time budget per document through all per-document stages; a document over it is quarantined "
        "with error:timeout and the worker goes on",
    )
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

    @model_validator(mode="before")
    @classmethod
    def _no_credentials_in_endpoint(cls, data: Any) -> Any:
        # A model-level check: a field-level error would quote the URL, credentials and all, in the message.
        url = data.get("endpoint_url") if isinstance(data, dict) else None
        if isinstance(url, str) and has_userinfo(url):
            raise ValueError(ENDPOINT_USERINFO_MESSAGE)
        return data


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


def parse_config(data: Any, source: str = "<config>") -> RunConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level, got {type(data).__name__}")
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from None
    except RecursionError:
        raise ConfigError(f"{source}: settings nested too deeply") from None
    _validate_stage_specs(cfg, source)
    return cfg


def _validate_stage_specs(cfg: RunConfig, source: str) -> None:
    """Each stage named once, known, and its params valid for its ``Params`` (normalised in place: run.json and
    the workers see the checked values)."""
    from sovereign.stages.registry import stage_class

    seen: set[str] = set()
    for i, spec in enumerate(cfg.stages):
        where = f"stages[{i}]"
        if spec.name in seen:
            raise ConfigError(f"{source}: {where}.name: stage {spec.name!r} is listed twice")
        seen.add(spec.name)
        try:
            cls = stage_class(spec.name)
        except KeyError as exc:
            raise ConfigError(f"{source}: {where}.name: {exc.args[0]}") from None
        try:
            spec.params = cls.Params.model_validate(spec.params).model_dump(mode="json")
        except ValidationError as err:
            msg = format_validation_error(source, err)
            raise ConfigError(msg.replace(f"{source}: ", f"{source}: {where}.params.", 1)) from None


# A config is a few hundred nodes. The bounds stop "billion laughs" alias bombs (a few KB that expand to billions
# of nodes once validated or dumped) and stack-deep nesting before anything expands them.
MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_NODES = 100_000
MAX_CONFIG_DEPTH = 64


def _expanded_size(root: yaml.Node, limit: int, max_depth: int) -> str | None:
    """Why the YAML node graph is too big once aliases are expanded, or None. Iterative, memoised per node (aliases
    share node objects), so the check itself costs the size of the file, not of the expansion."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > limit:
                return f"more than {limit:,} values once its aliases are expanded"
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            return "an alias inside the node it refers to"
        if depth > max_depth:
            return f"nested deeper than {max_depth} levels"
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node))
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml_bounded(text: str, source: str) -> Any:
    """yaml.safe_load with the bounds above; ConfigError on any problem, in one line."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        problem = _expanded_size(node, MAX_CONFIG_NODES, MAX_CONFIG_DEPTH)
        if problem:
            raise ConfigError(f"{source}: refused: the YAML has {problem}")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or getattr(exc, "reason", None) or type(exc).__name__
        raise ConfigError(f"{source}:{where} invalid YAML ({clip(str(what), 200)})") from None
    except RecursionError:
        raise ConfigError(f"{source}: refused: the YAML is nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_config(path: str | Path) -> RunConfig:
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config ({exc.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{p}: refused: larger than {MAX_CONFIG_BYTES >> 20} MiB, too large for a config")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (invalid byte at offset {exc.start}); is it a config file?") from None
    return parse_config(load_yaml_bounded(text, str(p)), str(p))
