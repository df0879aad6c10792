"""Inputs and outputs on S3-compatible object storage: a real S3 protocol server on loopback (moto_server)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sovereign.pipeline.audit import verify_run
from sovereign.pipeline.config import parse_config
from sovereign.pipeline.engine import run_pipeline
from tests.helpers.clusters import moto_binary, moto_server
from tests.helpers.warc import german_pages, write_warc

BUCKET = "corpora"


@pytest.fixture(scope="module")
def s3_endpoint():
    # moto_server on a free loopback port (tests/helpers/clusters.py: shared with the cluster tests)
    if moto_binary() is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    with moto_server(key_id="test", secret="test") as server:
        saved = {k: os.environ.get(k) for k in server.env}
        os.environ.update(server.env)
        client = server.client()
        client.create_bucket(Bucket=BUCKET)
        yield client
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
    # Byte-identical files: source_uri names a record by input name and path relative to the input's root
    # ("run:crawl-0.warc.gz#offset=N"), not by where it was read from, and the files' metadata holds nothing
    # machine-specific.
    for rel in ("shards/lang=und/part-00000.parquet", "manifest/part-00000.parquet"):
        body = client.get_object(Bucket=BUCKET, Key=f"runs/r1/{rel}")["Body"].read()
        local = (tmp_path / "local" / rel).read_bytes()
        assert pq.read_table(io.BytesIO(body)).num_rows > 0 and body == local, rel
        assert pq.read_table(io.BytesIO(body)).column("source_uri")[0].as_py().startswith("run:crawl-"), rel
