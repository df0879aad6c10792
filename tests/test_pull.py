"""`sovereign pull`: verified, parallel, resumable downloads of a release, from a local folder and from S3
(moto_server on loopback). The release is written by a helper in the layout contract's format (release_layout:
SHA256SUMS in sha256sum format, release.json with the same digests and sizes)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sovereign.pipeline.cli import main
from sovereign.pipeline.pull import PART_SUFFIX, PullError, pull
from tests.helpers.s3server import MotoServer, aws_env, moto_binary

BUCKET = "releases"
KEY_ID = "AKIAPULLTESTKEY"
SECRET = "pull-test-secret-do-not-print"
BIG = 3 << 20  # one file of several read chunks' worth, for resume


def _parquet(rows: int, lang: str) -> bytes:
    buf = io.BytesIO()
    pq.write_table(
        pa.table({"id": [f"{lang}-{i}" for i in range(rows)], "text": [f"doc {i}" for i in range(rows)]}), buf
    )
    return buf.getvalue()


def release_files() -> dict[str, bytes]:
    rng = random.Random(12)
    blob = lambda n: rng.randbytes(n)  # noqa: E731
    return {
        "README.md": b"---\nlicense: other\nlanguage: [de, fr]\n---\n# test release\n",
        "croissant.json": b'{"@type": "sc:Dataset", "name": "test"}\n',
        "run.json": json.dumps({"name": "t", "root_hash": "ab" * 32}).encode(),
        "documents/lang=de/part-00000.parquet": _parquet(50, "de"),
        "documents/lang=de/part-00001.parquet": blob(BIG),
        "documents/lang=fr/part-00000.parquet": _parquet(30, "fr"),
        "manifest/part-00000.parquet": _parquet(80, "manifest"),
        "docmaps/tok/lang=de/part-00000.parquet": blob(2000),
        "docmaps/tok/lang=fr/part-00000.parquet": blob(1500),
        "packs/tok/lang=de/part-00000.bin": blob(40_000),
        "packs/tok/lang=de/part-00000.idx": blob(600),
        "packs/tok/lang=fr/part-00000.bin": blob(30_000),
        "packs/tok/lang=fr/part-00000.idx": blob(500),
        "packs/tok/pack.json": b'{"files": {}}',
        "packs/tok/tokenizer.json": b'{"model": {}}',
    }


def index_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """SHA256SUMS and release.json for `files`, in the contract's format."""
    digests = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    sums = "".join(f"{digests[rel]}  {rel}\n" for rel in sorted(files)).encode()
    release = {
        "name": "test",
        "version": "1.0.0",
        "run_root_hash": "ab" * 32,
        "created_from": {"name": "t", "config_sha256": "00" * 32},
        "files": {rel: {"sha256": digests[rel], "bytes": len(data)} for rel, data in sorted(files.items())},
        "languages": {"de": {"documents": 50}, "fr": {"documents": 30}},
        "packs": ["tok"],
    }
    return {"SHA256SUMS": sums, "release.json": json.dumps(release, indent=2).encode()}


@dataclass
class Release:
    uri: str
    files: dict[str, bytes]
    put: Callable[[str, bytes], None]  # replace one file of the release (its checksums unchanged)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    if moto_binary() is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    with MotoServer() as server, aws_env(server.endpoint, key_id=KEY_ID, secret=SECRET):
        import boto3

        boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket=BUCKET)
        yield server


@pytest.fixture(params=["local", "s3"])
def release(request: pytest.FixtureRequest, tmp_path: Path) -> Release:
    files = release_files()
    everything = {**files, **index_files(files)}
    if request.param == "local":
        root = tmp_path / "release"

        def put_local(rel: str, data: bytes) -> None:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)

        for rel, data in everything.items():
            put_local(rel, data)
        return Release(str(root), files, put_local)
    server = request.getfixturevalue("moto")
    import boto3

    client = boto3.client("s3", endpoint_url=server.endpoint)
    prefix = f"r/{request.node.name.replace('[', '-').replace(']', '')}"

    def put_s3(rel: str, data: bytes) -> None:
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{rel}", Body=data)

    for rel, data in everything.items():
        put_s3(rel, data)
    return Release(f"s3://{BUCKET}/{prefix}", files, put_s3)


def _cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, ["pull", *args])
    out = res.output + (res.stderr if res.stderr_bytes is not None else "")
    assert SECRET not in out and KEY_ID not in out  # credentials never reach a message
    return res.exit_code, out


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_full_pull(release: Release, tmp_path: Path) -> None:
    dest = tmp_path / "dl"
    code, out = _cli(release.uri, "--to", str(dest), "--manifest", "--packs", "tok", "--workers", "4")
    assert code == 0, out
    expected = {**release.files, **index_files(release.files)}
    assert _tree(dest) == expected  # every file, byte for byte, and nothing else (no .part left)
    assert f"{len(release.files)} files: {len(release.files)} fetched" in out
    assert pq.read_table(dest / "documents/lang=de/part-00000.parquet").num_rows == 50


def test_language_subset(release: Release, tmp_path: Path) -> None:
    dest = tmp_path / "dl"
    code, out = _cli(release.uri, "--to", str(dest), "--lang", "fr", "--packs", "tok")
    assert code == 0, out
    got = set(_tree(dest))
    assert {"README.md", "croissant.json", "run.json", "SHA256SUMS", "release.json"} <= got
    assert "documents/lang=fr/part-00000.parquet" in got
    assert not any("lang=de" in rel for rel in got)  # neither documents nor pack parts of de
    assert not any(rel.startswith("manifest/") for rel in got)  # only with --manifest
    assert {"packs/tok/lang=fr/part-00000.bin", "packs/tok/pack.json", "docmaps/tok/lang=fr/part-00000.parquet"} <= got


def test_unknown_language_or_pack_lists_available(tmp_path: Path) -> None:
    files = release_files()
    root = tmp_path / "release"
    for rel, data in {**files, **index_files(files)}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    code, out = _cli(str(root), "--to", str(tmp_path / "dl"), "--lang", "de,xx")
    assert code == 1 and "no language xx; available: de, fr" in out
    code, out = _cli(str(root), "--to", str(tmp_path / "dl"), "--packs", "nope")
    assert code == 1 and "no pack nope; available: tok" in out
    assert not (tmp_path / "dl" / "documents").exists()  # refused before any download


def test_resume_after_interrupted_pull(release: Release, tmp_path: Path) -> None:
    """What a killed pull leaves: some files done, a .part of the big file cut mid-way, a .part of garbage."""
    dest = tmp_path / "dl"
    big = "documents/lang=de/part-00001.parquet"
    done = "documents/lang=fr/part-00000.parquet"
    garbage = "manifest/part-00000.parquet"
    for rel, data in {
        done: release.files[done],
        big + PART_SUFFIX: release.files[big][: BIG // 2 + 123],
        garbage + PART_SUFFIX: b"x" * 100,
    }.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(data)
    result = pull(release.uri, dest, manifest=True, packs=["tok"], workers=3)
    assert result.failures == []
    assert result.count("present") == 1  # the finished file is kept, not fetched again
    total = sum(len(d) for d in release.files.values())
    # the big file's first half came from its .part; the garbage .part was continued, failed its check, and the
    # retry fetched the file whole
    resumed_garbage = len(release.files[garbage]) - 100
    assert result.fetched_bytes == total - len(release.files[done]) - (BIG // 2 + 123) + resumed_garbage
    assert _tree(dest) == {**release.files, **index_files(release.files)}


def test_tampered_source_is_refused(release: Release, tmp_path: Path) -> None:
    rel = "documents/lang=de/part-00000.parquet"
    data = bytearray(release.files[rel])
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed
    release.put(rel, bytes(data))
    dest = tmp_path / "dl"
    code, out = _cli(release.uri, "--to", str(dest))
    want = hashlib.sha256(release.files[rel]).hexdigest()[:12]
    got = hashlib.sha256(bytes(data)).hexdigest()[:12]
    assert code == 2, out
    assert f"FAIL: {rel}: sha256 mismatch: expected {want}…, got {got}…, {len(data):,} bytes" in out
    assert not (dest / rel).exists() and not (dest / (rel + PART_SUFFIX)).exists()  # nothing unverified is kept
    assert not (dest / "SHA256SUMS").exists()  # an incomplete pull is not marked complete
    assert (dest / "documents/lang=fr/part-00000.parquet").read_bytes() == release.files[
        "documents/lang=fr/part-00000.parquet"
    ]  # the other files still arrived, verified


def test_truncated_source_is_refused(release: Release, tmp_path: Path) -> None:
    rel = "documents/lang=de/part-00001.parquet"
    release.put(rel, release.files[rel][:1000])
    code, out = _cli(release.uri, "--to", str(tmp_path / "dl"), "--lang", "de")
    assert code == 2, out
    assert f"FAIL: {rel}: sha256 mismatch" in out and f"1,000 bytes, expected {BIG:,} (truncated)" in out


def test_tampered_local_file_is_refetched(release: Release, tmp_path: Path) -> None:
    dest = tmp_path / "dl"
    assert _cli(release.uri, "--to", str(dest), "--lang", "de")[0] == 0
    rel = "documents/lang=de/part-00000.parquet"
    (dest / rel).write_bytes(b"tampered")
    code, out = _cli(release.uri, "--to", str(dest), "--lang", "de")
    assert code == 0, out
    assert (dest / rel).read_bytes() == release.files[rel]
    assert "1 re-fetched" in out and "0 fetched" in out  # only the wrong file was downloaded again
    (dest / rel).write_bytes(b"tampered again")
    release.put(rel, b"bad source")  # the source is wrong too: the known-wrong local copy must not stay
    code, out = _cli(release.uri, "--to", str(dest), "--lang", "de")
    assert code == 2 and "the wrong local copy was removed" in out
    assert not (dest / rel).exists()


def test_checksum_list_must_agree_with_release_json(tmp_path: Path) -> None:
    files = release_files()
    index = index_files(files)
    root = tmp_path / "release"
    for rel, data in {**files, **index}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    rel = "documents/lang=fr/part-00000.parquet"
    sums = index["SHA256SUMS"].decode().replace(hashlib.sha256(files[rel]).hexdigest(), "0" * 64)
    (root / "SHA256SUMS").write_text(sums)
    with pytest.raises(PullError, match=f"disagree: {rel}: sha256 000000000000… in SHA256SUMS"):
        pull(str(root), tmp_path / "dl")
    (root / "SHA256SUMS").write_bytes(index["SHA256SUMS"])
    release = json.loads(index["release.json"])
    (root / "release.json").write_text(json.dumps({**release, "sha256sums_sha256": "f" * 64}))
    with pytest.raises(PullError, match="SHA256SUMS and release.json disagree: SHA256SUMS has sha256"):
        pull(str(root), tmp_path / "dl")
    (root / "release.json").write_bytes(index["release.json"])
    (root / "SHA256SUMS").write_text(sums.replace(rel, "../escape"))
    with pytest.raises(PullError, match="names a path outside the release"):
        pull(str(root), tmp_path / "dl")
    assert not (tmp_path / "escape").exists()


def test_killed_pull_resumes(moto: MotoServer, tmp_path: Path) -> None:
    """SIGKILL the real CLI while it writes a big file's .part, then pull again: only the rest is fetched."""
    import boto3

    big = random.Random(7).randbytes(48 << 20)
    files = {"run.json": b"{}", "documents/lang=de/part-00000.parquet": big}
    client = boto3.client("s3", endpoint_url=moto.endpoint)
    for rel, data in {**files, **index_files(files)}.items():
        client.put_object(Bucket=BUCKET, Key=f"killed/{rel}", Body=data)
    dest = tmp_path / "dl"
    part = dest / ("documents/lang=de/part-00000.parquet" + PART_SUFFIX)
    cli = [str(Path(sys.executable).parent / "sovereign"), "pull", f"s3://{BUCKET}/killed", "--to", str(dest)]
    proc = subprocess.Popen(cli, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            if part.exists() and part.stat().st_size > 0:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode == 0:
        pytest.skip("the pull finished before it could be killed")
    assert proc.returncode == -signal.SIGKILL
    cut = part.stat().st_size
    assert 0 < cut < len(big)
    result = pull(f"s3://{BUCKET}/killed", dest)
    assert result.failures == []
    fetched = {f.rel: f.fetched_bytes for f in result.files}
    assert fetched["documents/lang=de/part-00000.parquet"] == len(big) - cut  # only the tail
    assert (dest / "documents/lang=de/part-00000.parquet").read_bytes() == big


@pytest.fixture(scope="module")
def real_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release made by `sovereign release` (part 12A) from a small real run (extract + langid on 2 WARC files)."""
    from sovereign.pipeline.config import parse_config
    from sovereign.pipeline.engine import run_pipeline
    from tests.helpers.warc import german_pages, write_warc

    base = tmp_path_factory.mktemp("real-release")
    (base / "in").mkdir()
    for i in range(2):
        write_warc(base / "in" / f"crawl-{i}.warc.gz", german_pages(8, start=i * 8))
    cfg = {"inputs": [{"uri": str(base / "in" / "*.warc.gz")}], "output": str(base / "run")}
    run_pipeline(parse_config({**cfg, "stages": [{"name": "extract"}, {"name": "langid"}]}))
    res = CliRunner().invoke(
        main, ["release", str(base / "run"), "--to", str(base / "rel"), "--name", "t", "--version", "1"]
    )
    assert res.exit_code == 0, res.output
    return base / "rel"


@pytest.mark.slow  # the run behind the release: ~15 s on 2 cores
def test_pull_of_a_sovereign_release(real_release: Path, moto: MotoServer, tmp_path: Path) -> None:
    """The real release layout, pulled from disk and from S3, arrives byte for byte; `sha256sum -c` agrees."""
    import boto3

    client = boto3.client("s3", endpoint_url=moto.endpoint)
    source = _tree(real_release)
    for rel, data in source.items():
        client.put_object(Bucket=BUCKET, Key=f"real/{rel}", Body=data)
    for uri in (str(real_release), f"s3://{BUCKET}/real"):
        dest = tmp_path / uri.replace("/", "_")
        code, out = _cli(uri, "--to", str(dest), "--manifest", "--lang", "de")
        assert code == 0, out
        assert _tree(dest) == source
        check = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=dest, capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
