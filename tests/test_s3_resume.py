"""Work-unit resume with the run on S3: the driver (and its workers) killed by SIGKILL mid-run, then the same run
started again finishes from the units already done, byte-identical to an uninterrupted run. The S3 lease lock of
the killed driver does not hold the rerun back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sovereign.pipeline.audit import verify_run
from sovereign.pipeline.config import parse_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.storage import S3Settings, Store
from tests.helpers.s3server import MotoServer, aws_env, moto_binary
from tests.helpers.warc import german_pages, write_warc

BUCKET = "resumable"
UNITS = 8


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory):
    if moto_binary() is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    with MotoServer() as server, aws_env(server.endpoint):
        import boto3

        client = boto3.client("s3", endpoint_url=server.endpoint)
        client.create_bucket(Bucket=BUCKET)
        local = tmp_path_factory.mktemp("in")
        for i in range(UNITS):
            path = write_warc(local / f"part-{i}.warc.gz", german_pages(25, start=i * 25))
            client.upload_file(str(path), BUCKET, f"crawl/{path.name}")
        yield client


def _config(out: str) -> dict:
    return {
        "name": "t",
        "inputs": [{"uri": f"s3://{BUCKET}/crawl/*.warc.gz"}],
        "output": f"s3://{BUCKET}/{out}",
        "stages": [{"name": "extract"}, {"name": "dedup_exact"}],
        "executor": {"workers": 1},
    }


def _outputs(out: str) -> dict[str, bytes]:
    store = Store(f"s3://{BUCKET}/{out}", S3Settings.from_env())
    return {f"{d}/{r}": store.read_bytes(f"{d}/{r}") for d in ("shards", "manifest") for r in store.list(d, ".parquet")}


def _done_units(client, out: str) -> int:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{out}/_work/units/")
    return sum(1 for page in pages for o in page.get("Contents", []) if o["Key"].endswith("/done.json"))


@pytest.mark.slow
def test_sigkill_of_driver_then_resume_on_s3_is_byte_identical(moto, tmp_path: Path) -> None:
    client = moto
    run_pipeline(parse_config(_config("runs/reference")))

    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump(_config("runs/killed")))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sovereign.pipeline.cli", "run", str(cfg_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the workers and stage sandboxes too
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and _done_units(client, "runs/killed") == 0 and proc.poll() is None:
            time.sleep(0.1)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    done_before = _done_units(client, "runs/killed")
    assert 1 <= done_before < UNITS, "the kill should land mid-run"
    store = Store(f"s3://{BUCKET}/runs/killed", S3Settings.from_env())
    assert store.exists(".lock") and not store.exists("_SUCCESS")  # the killed driver's lease is still there

    resumed = run_pipeline(parse_config(_config("runs/killed")))
    assert resumed.resumed_units >= done_before > 0
    assert _outputs("runs/killed") == _outputs("runs/reference")
    assert verify_run(f"s3://{BUCKET}/runs/killed")[0] == []
