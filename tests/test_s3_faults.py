"""Object storage that fails now and then: a run through a fault-injecting proxy in front of moto_server (dropped
connections, resets, 503 SlowDown, 500, bodies cut mid-stream, delays) finishes byte-identical to a clean run."""

from __future__ import annotations

import pytest

from sovereign.pipeline.config import parse_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.storage import S3Settings, Store
from tests.helpers.fault_proxy import FaultProxy, FaultRates
from tests.helpers.s3server import MotoServer, aws_env, moto_binary
from tests.helpers.warc import german_pages, write_warc

BUCKET = "faulty"
STAGES = [{"name": "extract"}, {"name": "dedup_exact"}, {"name": "dedup_fuzzy"}]
# About one request in three fails or waits; the proxy fails one request at most twice in a row, fewer than the
# SDK's attempts, so every request gets through in the end.
RATES = FaultRates(drop=0.05, reset=0.05, slowdown=0.08, error500=0.05, cut=0.05, delay=0.05)


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory):
    if moto_binary() is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    with MotoServer() as server, aws_env(None):  # each run names its endpoint in the config
        import boto3

        client = boto3.client("s3", endpoint_url=server.endpoint)
        client.create_bucket(Bucket=BUCKET)
        local = tmp_path_factory.mktemp("in")
        for i in range(4):
            path = write_warc(local / f"crawl-{i}.warc.gz", german_pages(12, start=i * 8))  # overlaps: duplicates
            client.upload_file(str(path), BUCKET, f"crawl/{path.name}")
        yield server


def _run(endpoint: str, out: str) -> None:
    cfg = {
        "inputs": [{"uri": f"s3://{BUCKET}/crawl/*.warc.gz"}],
        "output": f"s3://{BUCKET}/{out}",
        "stages": STAGES,
        "executor": {"workers": 2},
        "s3": {"endpoint_url": endpoint, "region": "us-east-1"},
    }
    run_pipeline(parse_config(cfg))


def _outputs(endpoint: str, out: str) -> dict[str, bytes]:
    store = Store(f"s3://{BUCKET}/{out}", S3Settings(endpoint_url=endpoint, region="us-east-1"))
    return {f"{d}/{r}": store.read_bytes(f"{d}/{r}") for d in ("shards", "manifest") for r in store.list(d, ".parquet")}


@pytest.mark.slow
def test_run_through_faults_is_byte_identical_to_clean_run(moto: MotoServer) -> None:
    _run(moto.endpoint, "runs/clean")
    with FaultProxy(moto.port, RATES, seed=11, max_consecutive=2) as proxy:
        try:
            _run(proxy.endpoint, "runs/faulty")
        except Exception:
            print("last faults:", proxy.stats.events[-8:])  # shown by pytest when the run fails
            raise
    faults = proxy.stats.faults
    # The proxy really got in the way, with every kind of fault, on reads and on writes.
    assert all(faults[kind] > 0 for kind in ("drop", "reset", "slowdown", "error500", "cut", "delay")), faults
    assert proxy.stats.by_method["PUT"] > 0 and proxy.stats.by_method["GET"] > 0
    clean, faulty = _outputs(moto.endpoint, "runs/clean"), _outputs(moto.endpoint, "runs/faulty")
    assert clean and any(rel.startswith("manifest/") for rel in clean)
    assert faulty == clean
    store = Store(f"s3://{BUCKET}/runs/faulty", S3Settings(endpoint_url=moto.endpoint, region="us-east-1"))
    assert store.exists("_SUCCESS") and not store.list("_work")


def test_proxy_faults_are_deterministic_and_bounded() -> None:
    """Same seed, same request sequence: same faults; never more than max_consecutive failures in a row."""
    rates = FaultRates(slowdown=0.5, error500=0.3)
    runs = []
    for _ in range(2):
        proxy = FaultProxy(1, rates, seed=3, max_consecutive=2)  # never started: _decide needs no upstream
        kinds = [proxy._decide("GET", f"/b/k{i % 5}", "") for i in range(200)]
        proxy.close()
        runs.append(kinds)
    assert runs[0] == runs[1]
    assert {"slowdown", "error500"} <= set(runs[0])
    for key in range(5):
        streak = longest = 0
        for kind in runs[0][key::5]:
            streak = streak + 1 if kind else 0
            longest = max(longest, streak)
        assert longest <= 2


def test_default_retry_budget_comes_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from sovereign.pipeline.storage import DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS_ENV, StorageError

    monkeypatch.delenv(MAX_ATTEMPTS_ENV, raising=False)
    assert S3Settings.from_env().max_attempts == DEFAULT_MAX_ATTEMPTS == 10
    monkeypatch.setenv(MAX_ATTEMPTS_ENV, "4")
    assert S3Settings.from_env().max_attempts == 4
    monkeypatch.setenv(MAX_ATTEMPTS_ENV, "lots")
    with pytest.raises(StorageError):
        S3Settings.from_env()


class _InputReadsFail(FaultProxy):
    """While `down`, every ranged read of an input WARC fails with a 500 (listing, HEAD and the output's requests
    go through): object storage down for the inputs, longer than the retries last."""

    down = True

    def _decide(self, method: str, target: str, rng_range: str) -> str | None:
        if self.down and method == "GET" and "/crawl/" in target and rng_range:
            with self._lock:
                self.stats.faults["error500"] += 1
            return "error500"
        return None


@pytest.mark.slow
def test_storage_outage_fails_the_run_instead_of_quarantining_unread_records(
    moto: MotoServer, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes object storage could not deliver are not bad data: before, the reader's error handling recorded them
    as `ingest:unreadable-data` (and the capture pass could miss an opt-out) and the run finished; now the unit
    fails with a storage error, nothing is published, and the resumed run equals a clean one."""
    from sovereign.pipeline.errors import SovereignError

    monkeypatch.setenv("SOVEREIGN_S3_MAX_ATTEMPTS", "2")
    stages = [{"name": "extract"}, {"name": "rights"}]

    def run(endpoint: str, out) -> None:
        cfg = {
            "inputs": [{"uri": f"s3://{BUCKET}/crawl/*.warc.gz"}],
            "output": str(out),
            "stages": stages,
            "executor": {"workers": 1},
            "s3": {"endpoint_url": endpoint, "region": "us-east-1"},
        }
        run_pipeline(parse_config(cfg))

    out = tmp_path / "run"
    with _InputReadsFail(moto.port) as proxy:
        with pytest.raises(SovereignError, match="object storage unavailable"):
            run(proxy.endpoint, out)
        assert proxy.stats.faults["error500"] > 0
        assert not (out / "_SUCCESS").exists() and not (out / "manifest").exists()
        proxy.down = False
        run(proxy.endpoint, out)  # storage is back: the same run (same config) resumes and finishes
        run(proxy.endpoint, tmp_path / "clean")
    for d in ("shards", "manifest"):
        resumed = {p.relative_to(out): p.read_bytes() for p in (out / d).rglob("*.parquet")}
        clean = {p.relative_to(tmp_path / "clean"): p.read_bytes() for p in (tmp_path / "clean" / d).rglob("*.parquet")}
        assert resumed and resumed == clean
