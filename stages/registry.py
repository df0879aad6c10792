"""Where stage names in run configs come from. No table to keep: a stage registers itself.

A config names a stage in one of three ways:
- a built-in name ``x``: the class registered with ``@register`` in the module ``stages/x.py`` (or package
  ``stages/x/``), imported on first use;
- ``package.module:Class``: a stage class from any installed package (a plug-in, no registration needed);
- a name another installed package registers under the ``sovereign.stages`` entry-point group
  (``[project.entry-points."sovereign.stages"] name = "package.module:Class"`` in its pyproject.toml).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from importlib.metadata import entry_points
from typing import TypeVar

from sovereign.stages.base import Stage

ENTRY_POINT_GROUP = "sovereign.stages"
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_REGISTERED: dict[str, type[Stage]] = {}

S = TypeVar("S", bound=type[Stage])


def register(cls: S) -> S:
    """Class decorator: make a stage usable by its ``name`` in run configs."""
    if not _NAME.fullmatch(cls.name):
        raise TypeError(f"{cls.__qualname__}: stage name {cls.name!r} must match {_NAME.pattern}")
    other = _REGISTERED.get(cls.name)
    if other is not None and (other.__module__, other.__qualname__) != (cls.__module__, cls.__qualname__):
        raise TypeError(f"stage name {cls.name!r} is taken by {other.__module__}.{other.__qualname__}")
    _REGISTERED[cls.name] = cls
    return cls


def _load(target: str, name: str) -> type[Stage]:
    module, _, cls_name = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), cls_name)
    except (ImportError, AttributeError) as exc:
        raise KeyError(f"cannot load stage {name!r}: {type(exc).__name__}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Stage)):
        raise KeyError(f"{name!r} is not a Stage subclass")
    return cls


def _built_in(name: str) -> type[Stage] | None:
    if name not in _REGISTERED and _NAME.fullmatch(name):
        try:
            importlib.import_module(f"sovereign.stages.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"sovereign.stages.{name}":
                raise  # the stage's module exists but one of its imports is missing: say so
    return _REGISTERED.get(name)


def _plugged_in(name: str) -> type[Stage] | None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return _load(ep.value, name)
    return None


def known_stages() -> list[str]:
    """Every name a config can use (imports the built-in stage modules: for help and error messages)."""
    import sovereign.stages as stages

    for info in pkgutil.iter_modules(stages.__path__):
        if _NAME.fullmatch(info.name):
            try:
                _built_in(info.name)
            except ImportError:  # a stage whose dependencies are missing is not usable here
                continue
    return sorted(set(_REGISTERED) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def stage_class(name: str) -> type[Stage]:
    """The class a config's stage name stands for; KeyError with the known names if none."""
    if ":" in name:
        return _load(name, name)
    cls = _built_in(name) or _plugged_in(name)
    if cls is None:
        raise KeyError(f"unknown stage {name!r}; known stages: {', '.join(known_stages())}")
    return cls


def build_stage(name: str, params: dict) -> Stage:
    return stage_class(name)(**params)
