"""The rights policy and the licence registry: YAML files in licenses/, validated on load.

An invalid file fails with the file and the field named (pipeline.config.ConfigError). The effective policy
(file + run-config overrides, + per-source overrides at decision time) is hashed for run.json.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sovereign.pipeline.errors import ConfigError, format_validation_error

# Package data (sovereign.licenses, the licenses/ folder): present in a checkout and in a wheel install alike.
LICENSES_DIR = Path(str(files("sovereign.licenses")))
DEFAULT_POLICY = LICENSES_DIR / "policy.yaml"
DEFAULT_REGISTRY = LICENSES_DIR / "registry.yaml"

KeepDrop = Literal["keep", "drop"]
# RFC 9309 2.2.1 product token (letters, "_", "-"), plus digits: deployed tokens such as AI2Bot have them.
_TOKEN = re.compile(r"^(\*|[A-Za-z0-9_-]+)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Signals(_Strict):
    robots_txt: bool = True
    robots_content_usage: bool = True
    robots_content_signal: bool = True
    tdmrep_file: bool = True
    tdm_reservation_header: bool = True
    tdm_reservation_meta: bool = True
    content_usage_header: bool = True
    content_signal_header: bool = True
    x_robots_tag: bool = True
    meta_robots: bool = True


class RobotsRules(_Strict):
    max_bytes: int = Field(512_000, ge=512_000, description="RFC 9309 2.5: at least 500 KiB")
    on_4xx: Literal["allow", "disallow", "missing"] = "allow"
    on_5xx: Literal["allow", "disallow", "missing"] = "disallow"
    max_redirects: int = Field(5, ge=0, le=20)
    snapshot: Literal["crawl-time", "latest"] = "crawl-time"


class RobotsDirectives(_Strict):
    for_all_agents: list[str] = Field(default_factory=lambda: ["noai"])
    for_ai_agents: list[str] = Field(default_factory=lambda: ["noai", "noindex", "none"])

    @field_validator("for_all_agents", "for_ai_agents")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [d.strip().lower() for d in v]


class LicenceRules(_Strict):
    training_no: KeepDrop = "drop"
    training_conditional: KeepDrop = "keep"
    ambiguous: Literal["most-restrictive", "first"] = "most-restrictive"
    host_defaults: bool = True


class Missing(_Strict):
    robots: KeepDrop = "keep"
    tdmrep: KeepDrop = "keep"
    licence: KeepDrop = "keep"


class Unreadable(_Strict):
    robots: KeepDrop = "keep"
    tdmrep: KeepDrop = "keep"
    content_usage: KeepDrop = "keep"


class Policy(_Strict):
    version: int = 1
    signals: Signals = Field(default_factory=Signals)
    ai_user_agents: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    robots: RobotsRules = Field(default_factory=RobotsRules)
    tdmrep_precedence: Literal["spec", "any-reservation"] = "any-reservation"
    aipref_training_labels: list[str] = Field(default_factory=lambda: ["train-ai"])
    content_signal_training_keys: list[str] = Field(default_factory=lambda: ["ai-train"])
    robots_directives: RobotsDirectives = Field(default_factory=RobotsDirectives)
    licences: LicenceRules = Field(default_factory=LicenceRules)
    missing: Missing = Field(default_factory=Missing)
    unreadable: Unreadable = Field(default_factory=Unreadable)
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("ai_user_agents")
    @classmethod
    def _tokens(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if not _TOKEN.match(t)]
        if bad:
            raise ValueError(f"not product tokens (letters, digits, '_', '-' only): {bad}")
        return v


class Licence(_Strict):
    id: str
    name: str
    kind: Literal["creative-commons", "public-sector", "open-data", "public-domain", "other"]
    cc_code: str | None = None
    url_patterns: list[str] = Field(default_factory=list)
    text_patterns: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    training: Literal["yes", "no", "conditional"]
    attribution: bool
    share_alike: bool
    non_commercial: bool
    no_derivatives: bool = False
    notes: str = ""


class HostDefault(_Strict):
    hosts: list[str] = Field(min_length=1)
    licence: str
    basis: str


class Registry(_Strict):
    licences: list[Licence] = Field(min_length=1)
    host_defaults: list[HostDefault] = Field(default_factory=list)


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', exc)})") from None


def _validate(model: type[BaseModel], data: Any, source: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from None


def load_policy(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Policy:
    """The effective policy: the file, then the run config's overrides; each source override is checked too."""
    p = Path(path) if path else DEFAULT_POLICY
    data = _read_yaml(p)
    policy = _validate(Policy, data, str(p))
    if overrides:
        policy = _validate(Policy, deep_merge(policy.model_dump(mode="json"), overrides), f"{p} (+ stage overrides)")
    for name, over in policy.sources.items():
        _validate(Policy, deep_merge(policy.model_dump(mode="json"), over), f"{p}: sources.{name}")
    return policy


def policy_for_source(policy: Policy, source: str | None) -> Policy:
    over = policy.sources.get(source or "")
    if not over:
        return policy
    return Policy.model_validate(deep_merge(policy.model_dump(mode="json"), over))


def load_registry(path: str | Path | None = None) -> tuple[Registry, str]:
    """The registry and the sha256 of its file bytes."""
    p = Path(path) if path else DEFAULT_REGISTRY
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found") from None
    registry = _validate(Registry, _read_yaml(p), str(p))
    ids = [lic.id for lic in registry.licences]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{p}: licences: duplicate id {dupes}")
    return registry, hashlib.sha256(raw).hexdigest()


def canonical_sha256(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
