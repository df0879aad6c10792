"""The shared test data (../shared/data, or $SOVEREIGN_SHARED_DATA): found by bench/_shared.py's one rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench._shared import SHARED_DATA_ENV, shared_data_dir

__all__ = ["SHARED_DATA_ENV", "shared_data_dir", "shared_path"]


def shared_path(*parts: str) -> Path:
    """A path under the shared data folder; the calling test skips (saying where it looked) if it is absent."""
    path = shared_data_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (set {SHARED_DATA_ENV} to a `data` folder)")
    return path
