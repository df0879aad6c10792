"""Shared fixtures: the data others wrote (../shared/data, or $SOVEREIGN_SHARED_DATA), one demo crawl, one Spark
session and one Ray instance per test session; the spark/ray/slow markers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.helpers.shared import SHARED_DATA_ENV, shared_data_dir

# Fixtures shared by several test modules (module-scoped: each module builds its own).
pytest_plugins = ["tests.helpers.packs"]

# Tests that run longer than ~10 s on a 2-core machine (nodeid prefixes), marked `slow` with the Spark/Ray ones.
SLOW_TESTS = (
    "tests/test_engine.py::test_sigkill_then_resume_gives_identical_bytes",
    "tests/test_engine.py::test_a_copied_input_file_keeps_distinct_ids",
    "tests/test_engine.py::test_second_live_run_refuses",
)
# Fixtures that start an engine: a test using one gets the marker of the same name (and `slow`).
ENGINE_MARKERS = {"spark": "spark", "ray_local": "ray"}
# Pages of the demo crawl the tests share: holds every planted case (rights, PII, duplicates, low quality).
DEMO_TEST_PAGES = 150


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        engines = [marker for name, marker in ENGINE_MARKERS.items() if name in fixtures]
        for marker in engines:
            item.add_marker(getattr(pytest.mark, marker))
        if engines or item.nodeid.startswith(SLOW_TESTS):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests that need it skip with a reason where it is absent."""
    data = shared_data_dir()
    if not data.is_dir():
        pytest.skip(f"shared test data not found at {data} (set {SHARED_DATA_ENV}; CI always has it)")
    return data


@pytest.fixture(scope="session")
def demo_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """(folder, pages): the synthetic demo crawl, generated once per test session (byte-identical per seed)."""
    from sovereign.pipeline.demo import ensure_corpus

    corpus = tmp_path_factory.mktemp("demo-crawl")
    ensure_corpus(corpus, DEMO_TEST_PAGES)
    return corpus, DEMO_TEST_PAGES


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole test run (start-up costs ~6 s and ~700 MB)."""
    pyspark = pytest.importorskip("pyspark")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("sovereign-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    assert pyspark is not None
    yield session
    session.stop()


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance for the whole test run (~4 s, ~1.6 GB)."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
