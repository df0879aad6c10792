"""No S3 credential ever reaches run.json, the manifest, shards, logs or error messages: runs on moto_server with
distinctive fake keys (a good run, a missing bucket, an endpoint nobody listens on, credentials in the endpoint
URL), then every byte they left behind is searched for the key id and the secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers.s3server import MotoServer, free_port, moto_binary
from tests.helpers.warc import german_pages, write_warc

KEY_ID = "AKIASOVEREIGNTESTKEY1"
SECRET = "sovSecretMarker9f3c1e/Qx+ZpLeakCanary"
BUCKET = "secretive"
STAGES = [{"name": "extract"}, {"name": "dedup_exact"}]


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory):
    if moto_binary() is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    with MotoServer() as server:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=BUCKET)
        local = tmp_path_factory.mktemp("in")
        for i in range(2):
            path = write_warc(local / f"crawl-{i}.warc.gz", german_pages(6, start=i * 6))
            client.upload_file(str(path), BUCKET, f"crawl/{path.name}")
        yield server, client


def _cli(tmp_path: Path, name: str, cfg: dict, endpoint: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "SOVEREIGN_S3_MAX_ATTEMPTS": "2",  # the failing runs fail fast
    }
    return subprocess.run(
        [sys.executable, "-m", "sovereign.pipeline.cli", *args, str(path)],
        env=env,
        capture_output=True,
        timeout=120,
    )


def _config(output: str, **extra: object) -> dict:
    return {"inputs": [{"uri": f"s3://{BUCKET}/crawl/*.warc.gz"}], "output": output, "stages": STAGES, **extra}


def _assert_clean(what: str, data: bytes) -> None:
    for secret in (KEY_ID, SECRET, SECRET.split("/")[0]):
        assert secret.encode() not in data, f"{what} holds a credential"


@pytest.mark.slow
def test_no_credential_in_outputs_logs_or_errors(moto, tmp_path: Path) -> None:
    server, client = moto
    good = _cli(tmp_path, "good", _config(f"s3://{BUCKET}/runs/good"), server.endpoint, "run")
    assert good.returncode == 0, good.stderr.decode()[-2000:]
    objects = client.list_objects_v2(Bucket=BUCKET, Prefix="runs/good/")["Contents"]
    names = {o["Key"].removeprefix("runs/good/") for o in objects}
    assert "run.json" in names and any(n.startswith("manifest/") for n in names)
    assert any(n.startswith("shards/") for n in names)
    for obj in objects:  # run.json, _SUCCESS, manifest and shard parts: every byte the run left
        _assert_clean(obj["Key"], client.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read())
    verify = _cli(tmp_path, "good", _config(f"s3://{BUCKET}/runs/good"), server.endpoint, "run", "--dry-run")
    failing = {
        # The output's bucket does not exist.
        "missing-bucket": (_config("s3://no-such-bucket-here/run"), server.endpoint),
        # Nothing listens at the endpoint.
        "dead-endpoint": (_config(f"s3://{BUCKET}/runs/dead"), f"http://127.0.0.1:{free_port()}"),
        # Credentials written into the endpoint URL, in the config and in the environment.
        "userinfo-config": (
            _config(
                f"s3://{BUCKET}/runs/ui",
                s3={"endpoint_url": f"http://{KEY_ID}:{SECRET}@127.0.0.1:{server.port}"},
            ),
            server.endpoint,
        ),
        "userinfo-env": (_config(f"s3://{BUCKET}/runs/ui2"), f"http://{KEY_ID}:{SECRET}@127.0.0.1:{server.port}"),
    }
    for name, (cfg, endpoint) in failing.items():
        result = _cli(tmp_path, name, cfg, endpoint, "run")
        assert result.returncode != 0, name
        assert result.stderr.strip(), f"{name}: the failure is explained"
        _assert_clean(f"{name} stdout", result.stdout)
        _assert_clean(f"{name} stderr", result.stderr)
    _assert_clean("dry-run stdout", verify.stdout)
    _assert_clean("dry-run stderr", verify.stderr)
    for key in ("runs/ui/", "runs/ui2/"):  # refused before anything was written
        assert "Contents" not in client.list_objects_v2(Bucket=BUCKET, Prefix=key)
    _assert_clean("good stdout", good.stdout)
    _assert_clean("good stderr", good.stderr)


def test_endpoint_with_credentials_is_refused_without_quoting_them() -> None:
    from sovereign.pipeline.config import ConfigError, parse_config
    from sovereign.pipeline.storage import S3Settings, StorageError, filesystem_for

    with pytest.raises(ConfigError) as err:
        parse_config(_config("s3://b/r", s3={"endpoint_url": f"https://{KEY_ID}:{SECRET}@s3.example.eu"}))
    _assert_clean("config error", str(err.value).encode())
    assert "credentials" in str(err.value)
    with pytest.raises(StorageError) as err2:
        filesystem_for("s3://b/r", S3Settings(endpoint_url=f"https://{KEY_ID}:{SECRET}@s3.example.eu"))
    _assert_clean("storage error", str(err2.value).encode())
