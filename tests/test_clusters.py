"""The demo config, all stages, on real multi-process clusters over S3, from the installed wheel.

Spark standalone (master and worker JVMs from pyspark's spark-class) and a 2-node Ray (head + a second `ray start`,
token authentication) on loopback; inputs and outputs on moto_server. The driver is `sovereign run` of a venv that
has only the wheel of this checkout, run in a temp dir without PYTHONPATH. Shards and manifest must be byte-identical
to the local executor's.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.clusters import (
    FAKE_KEY_ID,
    FAKE_SECRET,
    DriverResult,
    S3Server,
    WheelVenv,
    build_wheel_venv,
    clean_env,
    moto_binary,
    moto_server,
    object_digests,
    ray_cluster,
    ray_job_ids,
    ray_worker_nodes,
    run_driver,
    spark_cluster,
    spark_conf,
    upload_dir,
)

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

BUCKET = "corpora"
OUTPUTS = ("shards/", "manifest/")


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> WheelVenv:
    return build_wheel_venv(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def s3(demo_crawl: tuple[Path, int]) -> S3Server:
    if moto_binary() is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    with moto_server() as server:
        server.client().create_bucket(Bucket=BUCKET)
        assert upload_dir(server, demo_crawl[0], BUCKET, "crawl", "*.warc.gz")
        yield server


def _config(tmp: Path, demo_crawl: tuple[Path, int], name: str, executor: dict) -> Path:
    """configs/demo.yaml (via sovereign demo's builder) on the S3 copy of the demo crawl, output on S3."""
    from sovereign.pipeline.demo import demo_config

    corpus, pages = demo_crawl
    data = demo_config(tmp / "unused", pages=pages, corpus=corpus).model_dump(mode="json")
    data["inputs"][0]["uri"] = f"s3://{BUCKET}/crawl/*.warc.gz"
    data["output"] = f"s3://{BUCKET}/runs/{name}"
    data["executor"].update(executor)
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _outputs(s3: S3Server, name: str) -> dict[str, str]:
    digests = object_digests(s3, BUCKET, f"runs/{name}")
    assert "_SUCCESS" in digests and "run.json" in digests, sorted(digests)
    return {k: v for k, v in digests.items() if k.startswith(OUTPUTS)}


def _no_credentials(result: DriverResult, s3: S3Server, name: str) -> None:
    run_json = s3.client().get_object(Bucket=BUCKET, Key=f"runs/{name}/run.json")["Body"].read().decode()
    for text in (result.stdout, result.stderr, run_json):
        assert FAKE_SECRET not in text and FAKE_KEY_ID not in text


@pytest.fixture(scope="module")
def reference(wheel_venv: WheelVenv, s3: S3Server, demo_crawl, tmp_path_factory) -> dict[str, str]:
    """The local executor's shards and manifest (sha256 per object)."""
    tmp = tmp_path_factory.mktemp("local-driver")
    cfg = _config(tmp, demo_crawl, "local", {"kind": "local", "workers": 2})
    result = run_driver(wheel_venv, ["run", str(cfg)], tmp, clean_env(**s3.env)).check()
    _no_credentials(result, s3, "local")
    outputs = _outputs(s3, "local")
    assert any(k.startswith("shards/") for k in outputs) and any(k.startswith("manifest/") for k in outputs)
    return outputs


SPARK_PROBE = """
import json, os, sys
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master(sys.argv[1]).appName("probe").config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.executor.memory", "512m")
         .config("spark.ui.enabled", "false").getOrCreate())
def where(_):
    import sovereign.pipeline
    return {"python": sys.executable, "sovereign": sovereign.pipeline.__file__, "cwd": os.getcwd()}
print(json.dumps(spark.sparkContext.parallelize([0, 1], 2).map(where).collect()))
spark.stop()
"""


def test_spark_standalone_matches_local(wheel_venv, s3, demo_crawl, reference, tmp_path: Path) -> None:
    with spark_cluster(wheel_venv.python, tmp_path / "spark", cores=1, worker_env=s3.env) as cluster:
        cfg = _config(
            tmp_path,
            demo_crawl,
            "spark",
            {"kind": "spark", "spark": {"master": cluster.master_url, "conf": spark_conf(cluster)}},
        )
        result = run_driver(wheel_venv, ["run", str(cfg)], tmp_path / "driver", {**cluster.driver_env, **s3.env})
        result.check()
        # The run really went through the standalone worker: one application finished there.
        apps = [a for a in cluster.state().get("completedapps", []) if a.get("name") == "sovereign"]
        assert len(apps) == 1, cluster.state().get("completedapps")
        assert list(cluster.work_dir.glob("app-*/*/stderr")), "no executor ran on the worker"
        probe = _probe(wheel_venv, SPARK_PROBE, cluster.master_url, tmp_path / "driver", cluster.driver_env)
    for seen in probe:
        assert seen["python"] == str(wheel_venv.python)
        assert seen["sovereign"].startswith(str(wheel_venv.root)), seen
    _no_credentials(result, s3, "spark")
    assert _outputs(s3, "spark") == reference


def _probe(venv: WheelVenv, code: str, address: str, cwd: Path, env: dict[str, str]) -> Any:
    """What a probe job printed (its last line, JSON): it runs on the cluster from the wheel venv."""
    probe = subprocess.run(
        [str(venv.python), "-c", code, address], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert probe.returncode == 0, probe.stderr[-4000:]
    return json.loads(probe.stdout.strip().splitlines()[-1])


RAY_PROBE = """
import json, os, sys
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
ray.init(address=sys.argv[1], log_to_driver=False, configure_logging=False)
@ray.remote(num_cpus=1)
def where():
    import sovereign.pipeline
    return {"node": ray.get_runtime_context().get_node_id(), "python": sys.executable,
            "sovereign": sovereign.pipeline.__file__, "cwd": os.getcwd()}
nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
refs = [where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False)).remote() for n in nodes]
print(json.dumps({"nodes": nodes, "seen": ray.get(refs)}))
"""


def test_ray_two_nodes_matches_local(wheel_venv, s3, demo_crawl, reference, tmp_path: Path) -> None:
    with ray_cluster(wheel_venv.python, nodes=2, cpus_per_node=1, env=s3.env) as cluster:
        cfg = _config(tmp_path, demo_crawl, "ray", {"kind": "ray", "ray": {"address": cluster.address}})
        jobs_before = ray_job_ids(cluster.temp_dir)
        result = run_driver(wheel_venv, ["run", str(cfg)], tmp_path / "driver", {**cluster.driver_env, **s3.env})
        result.check()
        (run_job,) = ray_job_ids(cluster.temp_dir) - jobs_before
        workers_by_node = ray_worker_nodes(cluster.temp_dir, run_job)
        report = _probe(
            wheel_venv, textwrap.dedent(RAY_PROBE), cluster.address, tmp_path / "driver", cluster.driver_env
        )
    assert len(report["nodes"]) == 2
    assert {s["node"] for s in report["seen"]} == set(report["nodes"])
    for seen in report["seen"]:
        assert seen["python"] == str(wheel_venv.python)
        assert seen["sovereign"].startswith(str(wheel_venv.root)), seen
    # The run's own tasks ran on both nodes (worker processes of its job were started by both raylets).
    assert len(workers_by_node) == 2, workers_by_node
    _no_credentials(result, s3, "ray")
    assert _outputs(s3, "ray") == reference
