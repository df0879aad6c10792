"""Stage names usable in run configs, and how their parameters are checked on load."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from pipeline.config import RunConfig
    from stages.base import Stage

# name -> "module:Class". Order in a config is the order of execution.
STAGES: dict[str, str] = {
    "extract": "stages.extract:ExtractStage",
    "langid": "stages.langid:LanguageIdStage",
    "quality": "stages.quality:QualityStage",
    "rights": "stages.rights:RightsStage",
    "pii": "stages.pii:PiiStage",
    "dedup_exact": "stages.dedup_exact:ExactDedupStage",
    "dedup_fuzzy": "stages.dedup_fuzzy:FuzzyDedupStage",
}


def stage_class(name: str) -> type[Stage]:
    """A registered name, or ``package.module:Class`` for a stage from another installed package."""
    from stages.base import Stage

    if ":" in name:
        module, _, cls_name = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module), cls_name)
        except (ImportError, AttributeError) as exc:
            raise KeyError(f"cannot load stage {name!r}: {type(exc).__name__}: {exc}") from None
        if not (isinstance(cls, type) and issubclass(cls, Stage)):
            raise KeyError(f"{name!r} is not a Stage subclass")
        return cls
    try:
        target = STAGES[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}; known stages: {', '.join(sorted(STAGES))}") from None
    module, cls_name = target.split(":")
    return getattr(importlib.import_module(module), cls_name)


def build_stage(name: str, params: dict[str, Any]) -> Stage:
    return stage_class(name)(**params)


def validate_stage_specs(cfg: RunConfig, source: str) -> None:
    from pipeline.config import ConfigError, format_validation_error

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
        params_model: type[BaseModel] | None = getattr(cls, "Params", None)
        if params_model is None:
            continue
        try:
            spec.params = params_model.model_validate(spec.params).model_dump(mode="json")
        except ValidationError as err:
            msg = format_validation_error(source, err)
            raise ConfigError(msg.replace(f"{source}: ", f"{source}: {where}.params.", 1)) from None
