"""The shard schema for trainers (issue 12, point 3), read back with the readers trainers use.

On one small demo run: fetched_at is a UTC timestamp, quality_signals and pii_counts are typed structs, licence is
a registry id with its training class and conditions, source_uri names no machine's path, and every shard and
manifest file's key-value metadata ties it to run.json. Readers: pyarrow, DuckDB, HF datasets, pandas, polars
(where installed) and Spark.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sovereign.pipeline import filemeta
from sovereign.pipeline.demo import demo_config
from sovereign.pipeline.engine import run_pipeline
from sovereign.pipeline.ingest import WorkUnit
from sovereign.pipeline.schema import parse_warc_date
from sovereign.stages.pii.stage import COUNTS_TYPE
from sovereign.stages.quality import SIGNALS_TYPE
from sovereign.stages.rights.policy import load_registry

DEMO_PAGES = 150  # the smallest demo crawl
TRAINING = {"yes", "conditional", "no", "unknown"}
CONDITIONS = {"attribution", "share-alike", "non-commercial", "no-derivatives"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shard-types")
    run_pipeline(demo_config(out, pages=DEMO_PAGES))
    return out / "run"


def _files(run: Path, table: str) -> list[str]:
    return sorted(str(p) for p in (run / table).rglob("*.parquet"))


def _shards(run: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(f) for f in _files(run, "shards"))


def test_pyarrow_types_and_values(run: Path) -> None:
    table = _shards(run)
    schema = table.schema
    assert schema.field("fetched_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("quality_signals").type == SIGNALS_TYPE
    assert schema.field("pii_counts").type == COUNTS_TYPE
    assert schema.field("licence_conditions").type == pa.list_(pa.string())
    rows = table.to_pylist()
    assert rows and all(
        isinstance(r["fetched_at"], datetime) and r["fetched_at"].utcoffset() == timedelta(0) for r in rows
    )
    assert all(isinstance(r["quality_signals"]["n_words"], int) for r in rows)
    assert sum(r["pii_counts"]["EMAIL_ADDRESS"] or 0 for r in rows) > 0  # the demo plants e-mail addresses
    # Licences: registry ids only, with the registry's class and conditions; none found -> null + "unknown".
    registry = {lic.id: lic for lic in load_registry()[0].licences}
    with_licence = [r for r in rows if r["licence"] is not None]
    assert with_licence and len(with_licence) < len(rows)
    for r in rows:
        if r["licence"] is None:
            assert (r["licence_training"], r["licence_conditions"], r["licence_spdx"]) == ("unknown", None, None)
            continue
        entry = registry[r["licence"]]  # KeyError: not a registry id (e.g. a variant such as CC-BY-NC-ND-4.0)
        assert r["licence_training"] == entry.training and set(r["licence_conditions"]) <= CONDITIONS
        assert ("non-commercial" in r["licence_conditions"]) == entry.non_commercial
        assert r["licence_spdx"].startswith(r["licence"].removesuffix("-1.0"))  # the variant of that entry
    assert {r["licence_training"] for r in rows} <= TRAINING
    # source_uri: "<source>:<path relative to the input's root>#offset=N", never the building machine's path.
    manifest = pa.concat_tables(pq.read_table(f) for f in _files(run, "manifest")).to_pylist()
    for uri in [r["source_uri"] for r in rows] + [m["source_uri"] for m in manifest]:
        assert uri.startswith("demo-crawl:sovereign-demo-") and "#offset=" in uri, uri
        assert str(run.parent) not in uri and "file:" not in uri and "/tmp" not in uri, uri
    # The manifest's licence is the shard's.
    by_id = {m["id"]: m for m in manifest}
    assert all(by_id[r["id"]]["licence"] == r["licence"] for r in rows)


def test_metadata_ties_each_file_to_its_run(run: Path) -> None:
    run_json = json.loads((run / "run.json").read_text())
    files = _files(run, "shards") + _files(run, "manifest")
    assert len(files) == len(run_json["outputs"])
    for path in files:
        meta = filemeta.read_metadata(path)
        assert set(filemeta.KEYS) <= set(meta), path
        assert meta[filemeta.RUN_ID] == run_json["run_id"] and meta[filemeta.RUN_NAME] == run_json["name"]
        assert meta[filemeta.VERSION] == run_json["sovereign_version"]
        assert meta[filemeta.SCHEMA] == filemeta.SCHEMA_VERSION
        assert meta[filemeta.TABLE] == ("documents" if "/shards/" in path else "manifest")
        rel = str(Path(path).relative_to(run))
        assert rel in run_json["outputs"]  # run.json's sha256 of the file, under the root hash
    # The run id depends on what decides the output only: not on the executor or where the run is written.
    cfg = demo_config(run.parent, pages=DEMO_PAGES)
    moved = cfg.model_copy(
        update={"output": "/elsewhere/run", "executor": cfg.executor.model_copy(update={"workers": 7})}
    )
    assert filemeta.run_id(moved, run_json["inputs"]) == run_json["run_id"]
    other = [{**i, "sha256": "0" * 64} if n == 0 else i for n, i in enumerate(run_json["inputs"])]
    assert filemeta.run_id(cfg, other) != run_json["run_id"]


def test_duckdb_reads_the_types(run: Path) -> None:
    con = duckdb.connect()
    files = _files(run, "shards")
    rel = f"read_parquet({files!r})"
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {rel})").fetchall())
    assert types["fetched_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["quality_signals"].startswith("STRUCT(n_words INTEGER, mean_word_length DOUBLE")
    assert types["pii_counts"].startswith("STRUCT(AT_SOCIAL_SECURITY INTEGER")
    assert types["licence_conditions"] == "VARCHAR[]"
    n, emails, words = con.execute(
        f"SELECT count(*), sum(pii_counts.EMAIL_ADDRESS), min(quality_signals.n_words) FROM {rel} "
        "WHERE fetched_at >= TIMESTAMPTZ '2000-01-01 00:00:00+00'"
    ).fetchone()
    assert n > 0 and emails > 0 and words >= 50
    keys = {
        k.decode()
        for (k,) in con.execute(f"SELECT key FROM parquet_kv_metadata({_files(run, 'manifest')!r})").fetchall()
    }
    assert set(filemeta.KEYS) <= keys
    con.close()


def test_hf_datasets_reads_the_types(run: Path, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_parquet(_files(run, "shards"), cache_dir=str(tmp_path / "hf"))
    features = ds.features
    assert features["fetched_at"] == datasets.Value("timestamp[us, tz=UTC]")
    assert set(features["quality_signals"]) == set(SIGNALS_TYPE.names)
    assert features["quality_signals"]["n_words"] == datasets.Value("int32")
    assert features["pii_counts"]["EMAIL_ADDRESS"] == datasets.Value("int32")
    assert features["licence_training"] == datasets.Value("string")
    row = ds[0]
    assert isinstance(row["quality_signals"], dict) and isinstance(row["pii_counts"], dict)
    assert row["licence_training"] in TRAINING


def test_pandas_reads_the_types(run: Path) -> None:
    pd = pytest.importorskip("pandas")
    df = pd.concat([pd.read_parquet(f) for f in _files(run, "shards")])
    assert str(df["fetched_at"].dtype) == "datetime64[us, UTC]"
    first = df.iloc[0]
    assert isinstance(first["quality_signals"], dict) and "n_words" in first["quality_signals"]
    assert isinstance(first["pii_counts"], dict) and "EMAIL_ADDRESS" in first["pii_counts"]
    assert set(df["licence_training"]) <= TRAINING


def test_polars_reads_the_types(run: Path) -> None:
    pl = pytest.importorskip("polars")  # not a dependency: checked where installed
    df = pl.concat([pl.read_parquet(f) for f in _files(run, "shards")])
    assert df.schema["fetched_at"] == pl.Datetime("us", "UTC")
    assert isinstance(df.schema["quality_signals"], pl.Struct) and isinstance(df.schema["pii_counts"], pl.Struct)
    assert df.select(pl.col("pii_counts").struct.field("EMAIL_ADDRESS").sum()).item() > 0


def test_spark_reads_the_types(run: Path, spark) -> None:
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, IntegerType, StructType, TimestampType

    df = spark.read.parquet(*(f"file://{f}" for f in _files(run, "shards")))
    fields = {f.name: f.dataType for f in df.schema.fields}
    assert isinstance(fields["fetched_at"], TimestampType)
    assert isinstance(fields["quality_signals"], StructType) and isinstance(fields["pii_counts"], StructType)
    assert fields["pii_counts"]["EMAIL_ADDRESS"].dataType == IntegerType()
    assert isinstance(fields["licence_conditions"], ArrayType)
    emails, unknown = df.select(
        F.sum("pii_counts.EMAIL_ADDRESS"), F.sum((F.col("licence_training") == "unknown").cast("int"))
    ).first()
    assert emails > 0 and unknown == df.filter(F.col("licence").isNull()).count()


def test_warc_dates_parse_strictly() -> None:
    utc = UTC
    assert parse_warc_date("2026-03-02T09:01:41Z") == datetime(2026, 3, 2, 9, 1, 41, tzinfo=utc)
    assert parse_warc_date("2026-03-02T09:01:41.1234567Z") == datetime(2026, 3, 2, 9, 1, 41, 123456, tzinfo=utc)
    for bad in (
        None,
        "",
        "2026-03-02",
        "2026-03-02T09:01:41",
        "2026-03-02T09:01:41+02:00",
        "2026-02-30T00:00:00Z",
        "2026-03-02 09:01:41Z",
        "yesterday",
        "2026-13-01T00:00:00Z",
        "２０２６-03-02T09:01:41Z",
    ):
        assert parse_warc_date(bad) is None, bad


def test_source_ref_is_relative_to_the_input_root() -> None:
    unit = WorkUnit(
        uri="s3://b/crawls/2026/x/part-1.warc.gz", size=1, format="warc", source="cc", rel="x/part-1.warc.gz"
    )
    assert unit.source_ref == "cc:x/part-1.warc.gz"
    assert unit.record_key("offset=0") == "cc\0x/part-1.warc.gz\0offset=0"  # what ids derive from: unchanged
    bare = WorkUnit(uri="/data/crawl/part-2.warc.gz", size=1, format="warc", source="cc")
    assert bare.source_ref == "cc:part-2.warc.gz"
