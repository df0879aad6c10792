"""Inputs and outputs on S3-compatible object storage: a real S3 protocol server on loopback (moto_server)."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.audit import verify_run
from pipeline.config import parse_config
from pipeline.engine import run_pipeline
from tests.helpers.warc import german_pages, write_warc

BUCKET = "corpora"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    # The moto of this environment (a system-wide one may be older and mishandle multipart uploads).
    venv_moto = Path(sys.executable).parent / "moto_server"
    moto = str(venv_moto) if venv_moto.exists() else (shutil.which("moto_server") or str(venv_moto))
    if not Path(moto).exists():
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = _free_port()
    proc = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield client
    proc.terminate()
    proc.wait(timeout=10)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_run_from_and_to_s3_matches_local(s3_endpoint, tmp_path: Path) -> None:
    client = s3_endpoint
    local_in = tmp_path / "in"
    local_in.mkdir()
    for i in range(3):
        path = write_warc(local_in / f"crawl-{i}.warc.gz", german_pages(10, start=i * 10))
        client.upload_file(str(path), BUCKET, f"crawl/{path.name}")
    # Both global stages: the second reads the first's survivors from a local scratch file (it once went through
    # the S3 filesystem: "Path cannot start with a separator").
    stages = [{"name": "extract"}, {"name": "dedup_exact"}, {"name": "dedup_fuzzy"}]

    local_cfg = {"inputs": [{"uri": str(local_in / "*.warc.gz")}], "output": str(tmp_path / "local"), "stages": stages}
    run_pipeline(parse_config(local_cfg))
    s3_cfg = {
        "inputs": [{"uri": f"s3://{BUCKET}/crawl/*.warc.gz"}],
        "output": f"s3://{BUCKET}/runs/r1",
        "stages": stages,
    }
    run_pipeline(parse_config(s3_cfg))

    problems, _ = verify_run(f"s3://{BUCKET}/runs/r1")
    assert problems == []
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix="runs/r1/")["Contents"])
    assert not any("/_work/" in k for k in keys), "scratch files must be cleaned up"
    # Same documents and decisions; only source_uri differs (it names where each record was read from).
    for rel in ("shards/lang=und/part-00000.parquet", "manifest/part-00000.parquet"):
        body = client.get_object(Bucket=BUCKET, Key=f"runs/r1/{rel}")["Body"].read()
        remote = pq.read_table(io.BytesIO(body)).drop_columns(["source_uri"])
        local = pq.read_table(tmp_path / "local" / rel).drop_columns(["source_uri"])
        assert remote.num_rows > 0 and remote.equals(local), rel
