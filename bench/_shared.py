"""Where the shared data others wrote lives: ../shared/data beside the repository, or the folder named by the
environment variable SOVEREIGN_SHARED_DATA (a path to a `data` folder). The one rule for benches and tests."""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA_ENV = "SOVEREIGN_SHARED_DATA"
REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The shared `data` folder (it may not exist: callers skip or exit with its path)."""
    override = os.environ.get(SHARED_DATA_ENV)
    return Path(override).expanduser().resolve() if override else REPO.parent / "shared" / "data"
