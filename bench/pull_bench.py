"""Download MB/s of `sovereign pull` against a plain boto3 download of the same release from S3 (moto_server on
loopback), in the same run.

Rows: boto3 `download_file` per object, one after the other (anchor) and on a thread pool of the same size as
pull's --workers; `sovereign pull` (pull(), the function behind the CLI) with 1 and --workers threads into an empty
folder, which also hashes every file against SHA256SUMS and renames it into place; and pull again into the finished
folder (all files present: only local hashing). boto3 checks nothing. Median of --rounds, rows interleaved; each
round downloads into a fresh folder.

  .venv/bin/python bench/pull_bench.py [--files 12] [--mb 8] [--workers 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers: moto_server

from sovereign.pipeline.pull import pull  # noqa: E402
from tests.helpers.s3server import MotoServer, aws_env  # noqa: E402

BUCKET = "bench"
PREFIX = "release"


def _release(n_files: int, mb: float) -> dict[str, bytes]:
    rng = random.Random(4)
    files = {
        f"documents/lang={['de', 'fr', 'it'][i % 3]}/part-{i:05d}.parquet": rng.randbytes(int(mb * 1_000_000))
        for i in range(n_files)
    }
    files["run.json"] = b"{}"
    files["README.md"] = b"# bench\n"
    digests = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    files["release.json"] = json.dumps(
        {"files": {rel: {"sha256": d, "bytes": len(files[rel])} for rel, d in sorted(digests.items())}}
    ).encode()
    files["SHA256SUMS"] = "".join(f"{digests[rel]}  {rel}\n" for rel in sorted(digests)).encode()
    return files


def _interleaved(rows: list[tuple[str, Callable[[Path], None], bool]], base: Path, rounds: int) -> list[float]:
    """Median seconds per row; each round runs every row once (the shared machine's load drifts between rounds).
    A row with fresh=False reuses the folder the row before it filled."""
    times: list[list[float]] = [[] for _ in rows]
    for r in range(rounds):
        for i, (_, fn, fresh) in enumerate(rows):
            dest = base / str(i if fresh else i - 1) / f"r{r}"
            if fresh:
                shutil.rmtree(dest, ignore_errors=True)
            t0 = time.perf_counter()
            fn(dest)
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--mb", type=float, default=8.0, help="MB per document file")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp, MotoServer() as moto, aws_env(moto.endpoint, "bench", "bench"):
        import boto3

        client = boto3.client("s3", endpoint_url=moto.endpoint)
        client.create_bucket(Bucket=BUCKET)
        files = _release(args.files, args.mb)
        for rel, data in files.items():
            client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{rel}", Body=data)
        total_mb = sum(len(d) for d in files.values()) / 1e6
        uri = f"s3://{BUCKET}/{PREFIX}"

        def boto_one(dest: Path, rel: str) -> None:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            client.download_file(BUCKET, f"{PREFIX}/{rel}", str(dest / rel))

        def boto_seq(dest: Path) -> None:
            for rel in files:
                boto_one(dest, rel)

        def boto_threads(dest: Path) -> None:
            with ThreadPoolExecutor(args.workers) as pool:
                list(pool.map(lambda rel: boto_one(dest, rel), files))

        def sov_pull(dest: Path, workers: int = args.workers) -> None:
            res = pull(uri, dest, workers=workers)
            assert not res.failures, res.failures

        base = Path(tmp)
        plan = [
            ("boto3 download_file, sequential", boto_seq, True),
            (f"boto3 download_file, {args.workers} threads", boto_threads, True),
            ("sovereign pull, 1 worker (verified)", lambda d: sov_pull(d, 1), True),
            (f"sovereign pull, {args.workers} workers (verified)", sov_pull, True),
            ("sovereign pull, all files present (re-verify)", sov_pull, False),
        ]
        rows = list(zip([p[0] for p in plan], _interleaved(plan, base, args.rounds), strict=True))
        for i in range(4):  # same bytes as the source, whichever way they came
            got = base / str(i) / f"r{args.rounds - 1}" / "documents/lang=de/part-00000.parquet"
            assert got.read_bytes() == files["documents/lang=de/part-00000.parquet"], plan[i][0]

    anchor = rows[0][1]
    print(
        f"\n{len(files)} files, {total_mb:,.1f} MB, moto_server on loopback, {os.cpu_count()} cores, median of "
        f"{args.rounds}\n"
    )
    print(f"| {'download':<48} | {'s':>6} | {'MB/s':>7} | {'vs sequential boto3':>19} |")
    print(f"|{'-' * 50}|{'-' * 8}|{'-' * 9}|{'-' * 21}|")
    for name, secs in rows:
        print(f"| {name:<48} | {secs:6.2f} | {total_mb / secs:7.1f} | {anchor / secs:18.2f}x |")


if __name__ == "__main__":
    main()
