"""`sovereign release` on a real demo run with a tiny pack: the layout, the card read by HF datasets (locally and
from S3 through moto_server), DuckDB and Spark, croissant.json read by mlcroissant, the checksums, and refusals."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from sovereign.pipeline.cli import main
from sovereign.pipeline.release.build import ReleaseError, release_run
from tests.helpers.s3server import MotoServer, aws_env

BUCKET = "releases"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, demo_crawl: tuple[Path, int]) -> Path:
    """The demo run with one small pack (vocab 400) under RUN/packs/tiny."""
    from sovereign.pipeline.demo import demo_config
    from sovereign.pipeline.engine import run_pipeline

    out = tmp_path_factory.mktemp("release-run")
    corpus, pages = demo_crawl
    run_pipeline(demo_config(out, pages=pages, corpus=corpus))
    run = out / "run"
    tok = out / "tokenizer.json"
    runner = CliRunner()
    for args in (
        ["tokenizer", "train", str(run), "--vocab-size", "400", "--out", str(tok)],
        ["pack", str(run), "--tokenizer", str(tok), "--name", "tiny"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
    return run


@pytest.fixture(scope="module")
def release_dir(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    rel = tmp_path_factory.mktemp("release") / "demo-1.0"
    args = ["release", str(run_dir), "--to", str(rel), "--name", "Sovereign demo", "--version", "1.0.0"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return rel


def _kept(run_dir: Path) -> int:
    return json.loads((run_dir / "run.json").read_text())["counts"]["kept"]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_layout_checksums_and_release_json(run_dir: Path, release_dir: Path) -> None:
    files = _files(release_dir)
    tops = {f.split("/")[0] for f in files}
    assert tops == {"README.md", "croissant.json", "release.json", "SHA256SUMS", "run.json", "documents", "manifest",
                    "packs", "docmaps"}  # fmt: skip
    # SHA256SUMS: sha256sum format, sorted, every file but itself and release.json, each digest right
    lines = (release_dir / "SHA256SUMS").read_text().splitlines()
    listed = [line.split("  ", 1)[1] for line in lines]
    assert listed == sorted(listed) == sorted(set(files) - {"SHA256SUMS", "release.json"})
    for line in lines:
        digest, rel = line.split("  ", 1)
        assert hashlib.sha256((release_dir / rel).read_bytes()).hexdigest() == digest, rel
    info = json.loads((release_dir / "release.json").read_text())
    run = json.loads((run_dir / "run.json").read_text())
    assert info["run_root_hash"] == run["root_hash"] and info["version"] == "1.0.0"
    assert info["created_from"]["config_sha256"] == run["config_sha256"]
    assert {rel: v["sha256"] for rel, v in info["files"].items()} == dict(line.split("  ", 1)[::-1] for line in lines)
    assert (release_dir / "run.json").read_bytes() == (run_dir / "run.json").read_bytes()
    # documents and manifest: the run's files (source_sha256), the same rows and row groups, plus the release in
    # their key-value metadata; each table has its own root; no Parquet beside .bin/.idx
    for rel, out in run["outputs"].items():
        dest = "documents/" + rel.split("/", 1)[1] if rel.startswith("shards/") else rel
        assert info["files"][dest]["source_sha256"] == out["sha256"]
        released, original = pq.ParquetFile(release_dir / dest), pq.ParquetFile(run_dir / rel)
        assert released.read().equals(original.read())
        assert released.metadata.num_row_groups == original.metadata.num_row_groups
        meta = released.schema_arrow.metadata
        assert meta[b"sovereign.run_root_hash"] == run["root_hash"].encode()
        assert (meta[b"sovereign.release_name"], meta[b"sovereign.release_version"]) == (b"Sovereign demo", b"1.0.0")
        assert meta[b"sovereign.run_id"] == original.schema_arrow.metadata[b"sovereign.run_id"]
    for folder in {str(Path(f).parent) for f in files if f.startswith("packs/")}:
        assert not list((release_dir / folder).glob("*.parquet")), folder
    pack = info["packs"][0]
    assert pack["name"] == "tiny" and any(f.startswith("docmaps/tiny/lang=") for f in pack["files"])
    assert (release_dir / "packs/tiny/pack.json").exists() and (release_dir / "packs/tiny/tokenizer.json").exists()
    docmaps = [f for f in files if f.startswith("docmaps/")]
    assert docmaps and all(f.endswith(".parquet") and ".docmap" not in f for f in docmaps)
    assert sum(v["documents"] for v in info["languages"].values()) == _kept(run_dir)
    # no absolute path of this machine in the files the release writes itself
    for name in ("README.md", "croissant.json", "release.json"):
        assert str(run_dir.parent) not in (release_dir / name).read_text()


def test_hf_datasets_loads_documents_languages_and_manifest(run_dir: Path, release_dir: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    cache = str(tmp_path / "hf-cache")
    docs = datasets.load_dataset(str(release_dir), split="train", cache_dir=cache)
    assert docs.num_rows == _kept(run_dir) and "text" in docs.column_names and "status" not in docs.column_names
    de = datasets.load_dataset(str(release_dir), "de", split="train", cache_dir=cache)
    assert de.num_rows == json.loads((release_dir / "release.json").read_text())["languages"]["de"]["documents"]
    assert set(de["language"]) == {"de"}
    manifest = datasets.load_dataset(str(release_dir), "manifest", split="train", cache_dir=cache)
    run = json.loads((run_dir / "run.json").read_text())
    assert manifest.num_rows == run["counts"]["input_records"] and "status" in manifest.column_names


def test_duckdb_glob_reads_only_documents(run_dir: Path, release_dir: Path) -> None:
    import duckdb

    con = duckdb.connect()
    pattern = str(release_dir / "documents/**/*.parquet").replace("'", "''")
    (rows, langs) = con.execute(f"SELECT count(*), count(DISTINCT language) FROM read_parquet('{pattern}')").fetchone()
    assert rows == _kept(run_dir) and langs == len(json.loads((release_dir / "release.json").read_text())["languages"])
    con.close()


def test_mlcroissant_validates_and_iterates(run_dir: Path, release_dir: Path) -> None:
    mlc = pytest.importorskip("mlcroissant")
    meta = json.loads((release_dir / "croissant.json").read_text())
    assert meta["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    for key in ("rai:dataCollection", "rai:dataCollectionType", "rai:personalSensitiveInformation",
                "rai:dataUseCases", "rai:dataLimitations", "rai:dataBiases"):  # fmt: skip
        assert meta[key], key
    ds = mlc.Dataset(jsonld=str(release_dir / "croissant.json"))
    errors = [e for e in ds.metadata.issues.errors]
    assert errors == []
    docs = list(ds.records(record_set="documents"))
    assert len(docs) == _kept(run_dir)
    assert {k.split("/", 1)[1] for k in docs[0]} == set(
        pq.read_schema(next((release_dir / "documents").rglob("*.parquet"))).names
    )
    manifest = list(ds.records(record_set="manifest"))
    assert len(manifest) == json.loads((run_dir / "run.json").read_text())["counts"]["input_records"]


def test_croissant_fields_follow_the_parquet_types(tmp_path: Path) -> None:
    """Column types change (timestamps, structs): the fields are read from the schema, and mlcroissant reads them."""
    mlc = pytest.importorskip("mlcroissant")
    from datetime import datetime

    from sovereign.pipeline.release.build import rai_fields
    from sovereign.pipeline.release.croissant import croissant

    table = pa.table(
        {
            "id": ["a", "b"],
            "fetched_at": pa.array([datetime(2026, 1, 2, tzinfo=UTC)] * 2, pa.timestamp("us", tz="UTC")),
            "quality_signals": [{"words": 120, "ratio": 0.5}, {"words": 80, "ratio": 0.25}],
            "language_score": pa.array([0.9, 0.8], pa.float32()),
        }
    )
    (tmp_path / "documents/lang=de").mkdir(parents=True)
    (tmp_path / "manifest").mkdir()
    pq.write_table(table, tmp_path / "documents/lang=de/part-00000.parquet")
    pq.write_table(pa.table({"id": ["a"], "status": ["kept"]}), tmp_path / "manifest/part-00000.parquet")
    (tmp_path / "README.md").write_text("card\n")
    meta = croissant("t", "1", "t", {"de": 2}, table.schema, pa.schema([("id", pa.string()), ("status", pa.string())]),
                     hashlib.sha256(b"card\n").hexdigest(), rai_fields({}, []), "x")  # fmt: skip
    fields = {f["name"]: f for f in meta["recordSet"][0]["field"]}
    assert fields["fetched_at"]["dataType"] == "sc:DateTime" and fields["language_score"]["dataType"] == "sc:Float"
    assert [s["name"] for s in fields["quality_signals"]["subField"]] == ["words", "ratio"]
    (tmp_path / "croissant.json").write_text(json.dumps(meta))
    records = list(mlc.Dataset(jsonld=str(tmp_path / "croissant.json")).records(record_set="documents"))
    assert records[0]["documents/quality_signals"] == {"documents/quality_signals/words": 120,
                                                       "documents/quality_signals/ratio": 0.5}  # fmt: skip
    assert str(records[0]["documents/fetched_at"]).startswith("2026-01-02")


def test_spark_reads_documents_and_manifest(spark, run_dir: Path, release_dir: Path) -> None:  # noqa: ANN001
    docs = spark.read.parquet(str(release_dir / "documents"))
    assert docs.count() == _kept(run_dir) and "lang" in docs.columns  # the hive folder becomes a column
    manifest = spark.read.parquet(str(release_dir / "manifest"))
    assert manifest.count() == json.loads((run_dir / "run.json").read_text())["counts"]["input_records"]
    assert spark.read.parquet(str(release_dir / "docmaps/tiny")).count() > 0


def test_release_to_and_from_s3_loads_with_datasets(run_dir: Path, release_dir: Path, tmp_path: Path) -> None:
    """Local run -> S3 release, and S3 run -> S3 release (server-side copies): the same bytes as the local release;
    load_dataset reads it from S3 with an endpoint in storage_options."""
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("s3fs")
    import boto3

    with MotoServer() as server, aws_env(server.endpoint):
        boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket=BUCKET)
        release_run(str(run_dir), f"s3://{BUCKET}/rel-a", "Sovereign demo", "1.0.0")
        s3 = pafs.S3FileSystem(endpoint_override=server.endpoint.split("://")[1], scheme="http")
        pafs.copy_files(str(run_dir), f"{BUCKET}/run", destination_filesystem=s3)
        release_run(f"s3://{BUCKET}/run", f"s3://{BUCKET}/rel-b", "Sovereign demo", "1.0.0")
        local_sums = (release_dir / "SHA256SUMS").read_bytes()
        for name in ("rel-a", "rel-b"):
            with s3.open_input_stream(f"{BUCKET}/{name}/SHA256SUMS") as fh:
                assert fh.read() == local_sums, name
        # datasets 5 takes a card's configs from local folders and the Hub only; on S3 the card's data_files, joined
        # to the release URI, go to the parquet builder (the fsspec route) with the endpoint in storage_options
        opts = {"key": "test", "secret": "test", "client_kwargs": {"endpoint_url": server.endpoint}}
        with s3.open_input_stream(f"{BUCKET}/rel-b/README.md") as fh:
            configs = {c["config_name"]: c for c in yaml.safe_load(fh.read().decode().split("---")[1])["configs"]}
        rows = {}
        for name in ("default", "de", "manifest"):
            files = {f["split"]: f"s3://{BUCKET}/rel-b/{f['path']}" for f in configs[name]["data_files"]}
            ds = datasets.load_dataset(
                "parquet", data_files=files, split="train", storage_options=opts, cache_dir=str(tmp_path / "hf")
            )
            rows[name] = ds.num_rows
        info = json.loads((release_dir / "release.json").read_text())
        run = json.loads((run_dir / "run.json").read_text())
        assert rows == {"default": _kept(run_dir), "de": info["languages"]["de"]["documents"],
                        "manifest": run["counts"]["input_records"]}  # fmt: skip


def test_refusals_and_overwrite(run_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad-run"
    shutil.copytree(run_dir, bad)
    shard = next((bad / "shards").rglob("*.parquet"))
    data = bytearray(shard.read_bytes())
    data[10] ^= 0x01
    shard.write_bytes(bytes(data))
    result = runner.invoke(main, ["release", str(bad), "--to", str(tmp_path / "r1"), "--name", "n", "--version", "1"])
    assert result.exit_code != 0 and "fails `sovereign audit verify`" in result.output
    assert not (tmp_path / "r1").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ReleaseError, match="holds no release"):
        release_run(str(run_dir), str(other), "n", "1")
    with pytest.raises(ReleaseError, match="inside the run"):
        release_run(str(run_dir), str(run_dir / "release"), "n", "1")
    target = tmp_path / "r2"
    release_run(str(run_dir), str(target), "n", "1")
    with pytest.raises(ReleaseError, match="--overwrite"):
        release_run(str(run_dir), str(target), "n", "1")
    release_run(str(run_dir), str(target), "n", "2", overwrite=True)
    assert json.loads((target / "release.json").read_text())["version"] == "2"
