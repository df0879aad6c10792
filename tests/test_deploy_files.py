"""The deployment files (issue 11 point 5) cannot run here (no container runtime, no Kubernetes): they are checked
against the code instead. The Containerfile's instructions, pins, user, entrypoint and COPY sources; the Kubernetes
manifests' kinds, the `sovereign` commands and flags they use (parsed by the click app itself), the run configs they
mount (validated by the config model), and credentials only from Secrets."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from sovereign.pipeline.cli import main
from sovereign.pipeline.config import load_config, parse_config

REPO = Path(__file__).resolve().parents[1]
CONTAINERFILE = REPO / "infra" / "container" / "Containerfile"
K8S = REPO / "infra" / "k8s"
INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG",
    "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        word, _, rest = current.strip().partition(" ")
        out.append((word, rest.strip()))
        current = ""
    assert not current, "the Containerfile ends inside a continued line"
    return out


@pytest.fixture(scope="module")
def containerfile() -> list[tuple[str, str]]:
    return _instructions(CONTAINERFILE.read_text())


def test_containerfile_instructions_are_valid_and_pinned(containerfile: list[tuple[str, str]]) -> None:
    assert {word for word, _ in containerfile} <= INSTRUCTIONS, "unknown instruction (or lower-case)"
    froms = [args.split() for word, args in containerfile if word == "FROM"]
    assert len(froms) >= 2, "multi-stage: a build stage and a runtime stage"
    for parts in froms:
        image = parts[0]
        assert re.search(r":3\.11\.\d+-", image), f"FROM {image} is not pinned to a Python 3.11 patch version"
    assert froms[0][1:] == ["AS", "build"]


def test_containerfile_user_entrypoint_and_cmd(containerfile: list[tuple[str, str]]) -> None:
    users = [args for word, args in containerfile if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image must run as a non-root user"
    entry = [args for word, args in containerfile if word == "ENTRYPOINT"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry and json.loads(entry[-1]) == ["sovereign"] and "sovereign" in scripts
    assert json.loads([args for word, args in containerfile if word == "CMD"][-1]) == ["--help"]
    env = " ".join(args for word, args in containerfile if word == "ENV")
    assert "RAY_USAGE_STATS_ENABLED=0" in env, "Ray would report usage over the network"


def test_containerfile_copies_exist_and_installs_the_wheel_it_builds(containerfile: list[tuple[str, str]]) -> None:
    ignored = [p.strip() for p in (REPO / ".containerignore").read_text().splitlines() if p and not p.startswith("#")]
    for word, args in containerfile:
        if word != "COPY" or args.startswith("--from="):
            continue
        *sources, _dest = args.split()
        for src in sources:
            assert (REPO / src).exists(), f"COPY {src}: not in the repository"
            assert src.rstrip("/") not in ignored, f"COPY {src}: excluded by .containerignore"
    runs = " && ".join(args for word, args in containerfile if word == "RUN")
    wheel_dir = re.search(r"pip wheel --no-deps --wheel-dir (\S+) \.", runs)
    assert wheel_dir, "the build stage builds the wheel from the copied checkout"
    install = re.search(r'pip install "\$\(ls (\S+)/sovereign-\*\.whl\)\[([a-z,]+)\]"', runs)
    assert install and install.group(1) == wheel_dir.group(1), "pip install must install the wheel built above"
    assert set(install.group(2).split(",")) == {"spark", "ray"}
    assert "openjdk-17-jre-headless" in runs
    copied = [args for word, args in containerfile if word == "COPY" and args.startswith("--from=build")]
    assert copied == ["--from=build /opt/sovereign /opt/sovereign"], "the runtime stage takes the built venv only"


@pytest.mark.slow
def test_the_wheel_builds_from_what_the_containerfile_copies(
    containerfile: list[tuple[str, str]], tmp_path: Path
) -> None:
    """The build stage sees only its COPY sources: the wheel must build from them alone (about 20 s)."""
    src = tmp_path / "src"
    src.mkdir()
    for word, args in containerfile:
        if word == "COPY" and not args.startswith("--from="):
            for s in args.split()[:-1]:
                p = REPO / s
                if p.is_dir():
                    shutil.copytree(p, src / s, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(p, src / s)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(src)],
        check=True,
        timeout=300,
    )
    assert len(list((tmp_path / "dist").glob("sovereign-*.whl"))) == 1


# --- Kubernetes --------------------------------------------------------------------------------------------------


def _docs() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            out[doc["kind"]] = doc
    return out


def _walk(node: Any):
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _parse_cli(args: list[str]) -> click.Context:
    """What `sovereign ARGS` would run, parsed by the click app itself (unknown commands and flags raise)."""
    assert args and args[0] != "sovereign", "args go to the image's entrypoint: they start with a subcommand"
    cmd = main.commands.get(args[0])
    assert cmd is not None, f"`sovereign {args[0]}` does not exist"
    return cmd.make_context(args[0], list(args[1:]))


def test_manifests_parse_with_the_named_kinds() -> None:
    docs = _docs()
    assert docs["SparkApplication"]["apiVersion"] == "sparkoperator.k8s.io/v1beta2"
    assert docs["RayJob"]["apiVersion"] == "ray.io/v1"
    assert docs["ConfigMap"]["apiVersion"] == "v1"


def test_configmap_holds_the_example_configs_and_they_validate() -> None:
    data = _docs()["ConfigMap"]["data"]
    assert set(data) == {"example-spark.yaml", "example-ray.yaml"}
    for name, text in data.items():
        assert text == (REPO / "configs" / name).read_text(), f"{name} in the ConfigMap differs from configs/{name}"
        cfg = parse_config(yaml.safe_load(text), name)
        assert cfg == load_config(REPO / "configs" / name)
        assert cfg.output.startswith("s3://") and all(i.uri.startswith("s3://") for i in cfg.inputs)
        assert cfg.s3.endpoint_url, "the S3 endpoint is part of the run config"
    assert parse_config(yaml.safe_load(data["example-spark.yaml"])).executor.kind == "spark"
    assert parse_config(yaml.safe_load(data["example-ray.yaml"])).executor.ray.address == "auto"


def test_credentials_come_only_from_secret_key_refs() -> None:
    secret_like = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL", re.I)
    found = 0
    for path in K8S.glob("*.yaml"):
        assert "kind: Secret" not in path.read_text(), "no Secret with values in the repository"
        for doc in yaml.safe_load_all(path.read_text()):
            for node in _walk(doc):
                if isinstance(node, dict) and isinstance(node.get("env"), list):
                    for var in node["env"]:
                        if secret_like.search(var["name"]):
                            assert "value" not in var, f"{var['name']} is set inline"
                            assert set(var["valueFrom"]) == {"secretKeyRef"}, var
                            found += 1
    assert found >= 6  # the key id and the secret on the Spark driver, executors, Ray head and workers


def _mounted_config(pod_parts: list[dict[str, Any]], volumes: list[dict[str, Any]], path: str) -> None:
    """CONFIG in the command line is a key of the ConfigMap, mounted where the command reads it."""
    cm = _docs()["ConfigMap"]
    folder, name = path.rsplit("/", 1)
    vol = next(v["name"] for v in volumes if v.get("configMap", {}).get("name") == cm["metadata"]["name"])
    assert any(m["name"] == vol and m["mountPath"] == folder for p in pod_parts for m in p.get("volumeMounts", []))
    assert name in cm["data"]


def test_spark_application_uses_the_entrypoint_and_existing_commands() -> None:
    spec = _docs()["SparkApplication"]["spec"]
    assert spec["type"] == "Python" and spec["mode"] == "cluster"
    # The driver runs the installed CLI module with `arguments` = what follows `sovereign` on a command line.
    assert spec["mainApplicationFile"].endswith("/site-packages/sovereign/pipeline/cli.py")
    assert 'if __name__ == "__main__":' in (REPO / "pipeline" / "cli.py").read_text()
    ctx = _parse_cli(spec["arguments"])
    assert ctx.command.name == "run"
    _mounted_config([spec["driver"]], spec["volumes"], ctx.params["config"].as_posix())
    # Spark's Kubernetes backend starts the image's entrypoint with `driver ...` / `executor`: sovereign answers both.
    _parse_cli(["driver", "--properties-file", "/opt/spark/conf/spark.properties", "--class", "x", "app.py"])
    _parse_cli(["executor"])
    for part in (spec["driver"], spec["executor"]):
        assert "command" not in part and part["securityContext"]["runAsNonRoot"] is True
    master = parse_config(yaml.safe_load(_docs()["ConfigMap"]["data"]["example-spark.yaml"])).executor.spark.master
    assert master.startswith("k8s://"), "the run's SparkSession must keep the master spark-submit gave the driver"


def test_ray_job_submits_an_existing_sovereign_command() -> None:
    spec = _docs()["RayJob"]["spec"]
    argv = shlex.split(spec["entrypoint"])
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert argv[0] in scripts, "the job runs the installed console script"
    ctx = _parse_cli(argv[1:])
    assert ctx.command.name == "run"
    head = spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    _mounted_config(head["containers"], head["volumes"], ctx.params["config"].as_posix())
    groups = [head, *(g["template"]["spec"] for g in spec["rayClusterSpec"]["workerGroupSpecs"])]
    for pod in groups:
        for c in pod["containers"]:
            assert "command" not in c and "args" not in c, "KubeRay sets the Ray pods' command itself"
    import ray

    assert spec["rayClusterSpec"]["rayVersion"] == ray.__version__, "the image's Ray must match the cluster's"
