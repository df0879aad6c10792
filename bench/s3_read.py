"""Read speed of WARC.gz inputs from S3 (moto_server on loopback) against local disk, and the requests it takes.

Rows: `raw` streams every file once (sha256_stream, 1 MiB reads: the ceiling), `ingest` is what a run does with
each input (the host-capture scan, then read_unit: gzip check + fastwarc records), in input MB/s. S3 is timed
against moto_server directly; the request count and bytes per GET come from a second pass through a counting proxy
(tests/helpers/fault_proxy.py without faults), whose relaying would distort the timing.

  .venv/bin/python bench/s3_read.py [--pages 600] [--copies 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers: moto_server and the proxy

from sovereign.pipeline.demo import ensure_corpus  # noqa: E402
from sovereign.pipeline.ingest import WorkUnit, read_unit, scan_host_captures  # noqa: E402
from sovereign.pipeline.storage import S3Settings, filesystem_for, sha256_stream  # noqa: E402
from tests.helpers.fault_proxy import FaultProxy  # noqa: E402
from tests.helpers.s3server import MotoServer  # noqa: E402

BUCKET = "bench"
MAX_RECORD = 16 << 20


def _raw(units: list[WorkUnit], settings: S3Settings) -> int:
    for unit in units:
        sha256_stream(*filesystem_for(unit.uri, settings))
    return len(units)


def _ingest(units: list[WorkUnit], settings: S3Settings) -> int:
    records = 0
    for unit in units:
        for _ in scan_host_captures(unit, MAX_RECORD, settings):
            pass
        for batch in read_unit(unit, 256, MAX_RECORD, settings):
            records += len(batch)
    return records


def _timed(fn: Callable[[list[WorkUnit], S3Settings], int], units, settings, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(units, settings)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=600, help="demo-crawl pages (150..600)")
    ap.add_argument("--copies", type=int, default=4, help="each demo file uploaded this many times")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    with tempfile.TemporaryDirectory() as tmp, MotoServer() as moto:
        demo = ensure_corpus(Path(tmp) / "corpus", args.pages)
        files = []
        for i in range(args.copies):
            for f in demo:
                copy = Path(tmp) / "in" / f"c{i}-{f.name}"
                copy.parent.mkdir(exist_ok=True)
                copy.write_bytes(f.read_bytes())
                files.append(copy)
        total = sum(f.stat().st_size for f in files)
        import boto3

        client = boto3.client("s3", endpoint_url=moto.endpoint)
        client.create_bucket(Bucket=BUCKET)
        for f in files:
            client.upload_file(str(f), BUCKET, f"crawl/{f.name}")

        def units(prefix: str) -> list[WorkUnit]:
            return [WorkUnit(f"{prefix}{f.name}", f.stat().st_size, "warc", "bench") for f in files]

        local_units, s3_units = units(f"{Path(files[0]).parent}/"), units(f"s3://{BUCKET}/crawl/")
        direct = S3Settings(endpoint_url=moto.endpoint, region="us-east-1")
        mb = total / 1e6
        print(f"{len(files)} WARC.gz files, {mb:.1f} MB, median of {args.rounds} rounds\n")
        print("| read | local MB/s | S3 MB/s | S3/local | S3 requests (GET) | MB per GET |")
        print("|---|---|---|---|---|---|")
        for name, fn in (("raw", _raw), ("ingest", _ingest)):
            local_s = _timed(fn, local_units, direct, args.rounds)
            s3_s = _timed(fn, s3_units, direct, args.rounds)
            with FaultProxy(moto.port) as proxy:
                fn(s3_units, S3Settings(endpoint_url=proxy.endpoint, region="us-east-1"))
                gets = proxy.stats.by_method["GET"]
                per_get = proxy.stats.bytes_out / max(gets, 1) / 1e6
                requests = proxy.stats.requests
            print(
                f"| {name} | {mb / local_s:.1f} | {mb / s3_s:.1f} | {local_s / s3_s:.2f} | {requests} ({gets}) "
                f"| {per_get:.2f} |"
            )


if __name__ == "__main__":
    main()
