"""Real clusters on loopback for tests and benches: a wheel venv, moto_server, Spark standalone, a 2-node Ray.

Every launcher binds 127.0.0.1 on free ports chosen at run time and stops exactly the processes it started (by pid,
or by its private temp dir in their command line for the daemons Ray forks), even when the body raises.
The driver of a run is a subprocess (`sovereign run CONFIG` from the wheel venv, cwd a temp dir, no PYTHONPATH),
so the pytest process never opens a second SparkContext and workers cannot import the checkout.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

from tests.helpers.s3server import MotoServer, free_port, moto_binary  # noqa: F401 - re-exported

REPO = Path(__file__).resolve().parents[2]
DEV_BIN = Path(sys.executable).parent
# Distinctive fake credentials: a leak into a log or run.json is easy to grep for.
FAKE_KEY_ID = "AKIASOVEREIGNTESTKEY0"
FAKE_SECRET = "sovereign/fake+secret/DO-NOT-LEAK-0123456789"


def wait_for_port(port: int, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for cluster processes: no PYTHONPATH and no Python/Spark/Ray settings of the caller."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "SPARK_HOME", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("RAY_", "AWS_"))}
    env.update(extra)
    return env


def _stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the process group it leads (started with start_new_session), then SIGKILL what is left."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=timeout)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait(timeout=30)


def pids_with_arg(marker: str) -> list[int]:
    """Our own processes whose command line contains `marker` (psutil is not a dependency: /proc, Linux only)."""
    found = []
    uid = os.getuid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def proc_status_bytes(pid: int, field: str) -> int:
    """A memory field of /proc/PID/status (VmRSS, VmHWM) in bytes; 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_bytes(pid: int) -> int:
    return proc_status_bytes(pid, "VmRSS")


class RssSampler:
    """Peak of the summed RSS of the processes whose command line contains a marker (a cluster's workers)."""

    def __init__(self, marker: str, interval: float = 0.2) -> None:
        self.marker, self.interval, self.peak = marker, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(rss_bytes(p) for p in pids_with_arg(self.marker)))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- the wheel venv ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WheelVenv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def sovereign(self) -> Path:
        return self.root / "bin" / "sovereign"


def build_wheel_venv(dest: Path) -> WheelVenv:
    """Build the wheel of this checkout and install it alone (--no-deps) into a fresh venv at dest/venv; the dev
    venv's dependencies are borrowed through a .pth (no download). The .pth adds a plain path, so the dev venv's
    editable-install finder (a .pth hook of its own) is not run: `sovereign` resolves to the wheel only."""
    dist = dest / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
        env=clean_env(),
    )
    wheel = next(dist.glob("sovereign-*.whl"))
    venv = WheelVenv(dest / "venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv.root)], check=True)
    # The venv's own pip: it writes the `sovereign` console script as a user's install would.
    subprocess.run(
        [str(venv.root / "bin" / "pip"), "install", "-q", "--no-deps", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
        env=clean_env(),
    )
    purelib = subprocess.check_output(
        [str(venv.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip()
    (Path(purelib) / "zz_dev_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


# --- moto_server ---------------------------------------------------------------------------------------------------


@dataclass
class S3Server:
    endpoint: str
    env: dict[str, str]  # AWS_* settings a client (driver, worker) needs

    def client(self):  # noqa: ANN201 (boto3 is a test-only dependency)
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_DEFAULT_REGION"],
        )


@contextmanager
def moto_server(key_id: str = FAKE_KEY_ID, secret: str = FAKE_SECRET) -> Iterator[S3Server]:
    """A real S3 protocol server (moto_server, tests/helpers/s3server.py) on a free loopback port, with the
    settings a client needs for these fake credentials."""
    with MotoServer() as server:
        env = {
            "AWS_ENDPOINT_URL": server.endpoint,
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        yield S3Server(server.endpoint, env)


def upload_dir(server: S3Server, local: Path, bucket: str, prefix: str, pattern: str = "*") -> list[str]:
    client = server.client()
    keys = []
    for path in sorted(local.glob(pattern)):
        key = f"{prefix.rstrip('/')}/{path.name}"
        client.upload_file(str(path), bucket, key)
        keys.append(key)
    return keys


def object_digests(server: S3Server, bucket: str, prefix: str) -> dict[str, str]:
    """{key below prefix: sha256} of every object under s3://bucket/prefix/."""
    import hashlib

    client = server.client()
    out: dict[str, str] = {}
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/")
    for page in pages:
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            out[obj["Key"][len(prefix.rstrip("/")) + 1 :]] = hashlib.sha256(body).hexdigest()
    return out


# --- Spark standalone ----------------------------------------------------------------------------------------------


@dataclass
class SparkCluster:
    master_url: str
    webui_port: int
    work_dir: Path
    cores: int
    driver_env: dict[str, str]  # environment for a driver subprocess

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.webui_port}/json/", timeout=5) as resp:
            return json.loads(resp.read())


def spark_home() -> Path:
    spec = find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("pyspark is not installed")
    return Path(spec.origin).parent


@contextmanager
def spark_cluster(
    python: Path, base: Path, cores: int = 1, memory: str = "2g", worker_env: dict[str, str] | None = None
) -> Iterator[SparkCluster]:
    """A standalone master and one worker (separate JVMs, pyspark's own spark-class), worker registered.

    worker_env (S3 credentials) reaches executors through the worker's environment, never through Spark conf,
    which a run records in run.json."""
    home = spark_home()
    spark_class = str(home / "bin" / "spark-class")
    base.mkdir(parents=True, exist_ok=True)
    port, webui, worker_webui = free_port(), free_port(), free_port()
    env = clean_env(
        SPARK_HOME=str(home),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_DAEMON_MEMORY="256m",
        PYSPARK_PYTHON=str(python),
        SPARK_LOG_DIR=str(base / "logs"),
    )
    procs: list[subprocess.Popen] = []
    try:
        with open(base / "master.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1"]
                    + ["--port", str(port), "--webui-port", str(webui)],
                    env=env,
                    cwd=base,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        wait_for_port(port, 90, procs[0])
        wait_for_port(webui, 30, procs[0])
        master_url = f"spark://127.0.0.1:{port}"
        with open(base / "worker.log", "wb") as log:
            procs.append(
                subprocess.Popen(
                    [spark_class, "org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1"]
                    + ["--cores", str(cores), "--memory", memory, "--webui-port", str(worker_webui)]
                    + ["--work-dir", str(base / "work")],
                    env={**env, **(worker_env or {})},
                    cwd=base,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        cluster = SparkCluster(
            master_url, webui, base / "work", cores, clean_env(SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=str(python))
        )
        deadline = time.monotonic() + 90
        while not _worker_alive(cluster):
            if time.monotonic() > deadline or procs[1].poll() is not None:
                raise TimeoutError(f"Spark worker did not register; see {base / 'worker.log'}")
            time.sleep(0.3)
        yield cluster
    finally:
        for proc in reversed(procs):
            _stop(proc)


def _worker_alive(cluster: SparkCluster) -> bool:
    """Whether the master lists a live worker; False while its web UI is still starting (it answers 404 or refuses
    the connection for a moment after its port opens: seen once in bench/scaling.py)."""
    try:
        return any(w.get("state") == "ALIVE" for w in cluster.state().get("workers", []))
    except (OSError, ValueError):  # urllib's URLError and HTTPError are OSErrors; ValueError: a partial JSON
        return False


def spark_conf(cluster: SparkCluster, executor_memory: str = "1g") -> dict[str, str]:
    """executor.spark.conf for a run against the cluster (no secrets: it is recorded in run.json)."""
    return {
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.executor.memory": executor_memory,
        "spark.cores.max": str(cluster.cores),
        "spark.driver.memory": "1g",
        "spark.sql.shuffle.partitions": "4",
    }


# --- Ray -----------------------------------------------------------------------------------------------------------


@dataclass
class RayCluster:
    address: str
    temp_dir: Path
    nodes: int
    driver_env: dict[str, str]  # RAY_AUTH_* for a driver subprocess
    procs: list[subprocess.Popen] = field(default_factory=list)


def _ray_cmd(python: Path) -> list[str]:
    # The `ray` CLI run by the wheel venv's interpreter: Ray starts its workers with that interpreter, so they
    # import Sovereign from the wheel.
    return [str(python), "-c", "import sys; from ray.scripts.scripts import main; sys.exit(main())"]


@contextmanager
def ray_cluster(
    python: Path, nodes: int = 2, cpus_per_node: int = 1, env: dict[str, str] | None = None
) -> Iterator[RayCluster]:
    """A Ray head plus nodes-1 more node processes on loopback, token authentication on.

    Each `ray start --block` leads its own process group; teardown kills those groups, then any process whose command
    line names this cluster's private temp dir (never `ray stop`, which stops every Ray on the machine)."""
    # A short path: Ray's unix sockets live under it (108-byte limit).
    temp_dir = Path(tempfile.mkdtemp(prefix="sovray-", dir="/tmp"))
    port = free_port()
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    node_env = clean_env(**auth, RAY_USAGE_STATS_ENABLED="0", **(env or {}))
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", str(cpus_per_node), "--num-gpus", "0"]
    common += ["--object-store-memory", str(200 * 1024 * 1024), "--temp-dir", str(temp_dir), "--block"]
    cluster = RayCluster(f"127.0.0.1:{port}", temp_dir, nodes, clean_env(**auth, RAY_USAGE_STATS_ENABLED="0"))
    try:
        head = [*_ray_cmd(python), "start", "--head", "--port", str(port), "--include-dashboard=false"]
        head += ["--dashboard-agent-listen-port", str(free_port())]
        cluster.procs.append(_popen_logged(head + common, node_env, temp_dir / "head.log"))
        wait_for_port(port, 90, cluster.procs[0])
        for i in range(1, nodes):
            cmd = [*_ray_cmd(python), "start", "--address", cluster.address]
            cmd += ["--dashboard-agent-listen-port", str(free_port())]
            cluster.procs.append(_popen_logged(cmd + common, node_env, temp_dir / f"node{i}.log"))
        _wait_ray_nodes(python, cluster, nodes)
        yield cluster
    finally:
        # SIGKILL at once: on SIGTERM each node drains for up to 30 s waiting for a GCS that is already gone.
        for proc in reversed(cluster.procs):
            _kill_group(proc)
        for _ in range(2):
            for pid in pids_with_arg(str(temp_dir)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.5)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _popen_logged(cmd: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


RAY_NODES_PROBE = """
import json, ray
ray.init(address="{address}", log_to_driver=False, configure_logging=False)
print(json.dumps([n["NodeID"] for n in ray.nodes() if n["Alive"]]))
"""


def _wait_ray_nodes(python: Path, cluster: RayCluster, nodes: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for proc in cluster.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a Ray node exited with {proc.returncode}; see {cluster.temp_dir}/*.log")
        out = subprocess.run(
            [str(python), "-c", RAY_NODES_PROBE.format(address=cluster.address)],
            env=cluster.driver_env,
            cwd=cluster.temp_dir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode == 0 and len(json.loads(out.stdout.strip().splitlines()[-1])) >= nodes:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"Ray nodes did not join: {out.stderr[-2000:]}")
        time.sleep(1)


# --- the driver ----------------------------------------------------------------------------------------------------


@dataclass
class DriverResult:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    maxrss_bytes: int  # wait4 ru_maxrss: the driver or its largest waited-for descendant

    def check(self) -> DriverResult:
        if self.returncode != 0:
            raise AssertionError(
                f"driver exited {self.returncode}\nstdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-8000:]}"
            )
        return self


def run_driver(venv: WheelVenv, args: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> DriverResult:
    """`sovereign ARGS` from the wheel venv as a subprocess in cwd (no PYTHONPATH); peak RSS via wait4."""
    cwd.mkdir(parents=True, exist_ok=True)
    out_path, err_path = cwd / "driver.stdout", cwd / "driver.stderr"
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [str(venv.sovereign), *args], cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True
        )
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                _stop(proc)
                raise TimeoutError(f"driver ran over {timeout} s")
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return DriverResult(
        proc.returncode,
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
        time.monotonic() - start,
        usage.ru_maxrss * 1024,
    )


def _ray_logs(temp_dir: Path) -> Path:
    return temp_dir / "session_latest" / "logs"


def ray_job_ids(temp_dir: Path) -> set[str]:
    """Ids of the driver jobs that connected so far (from python-core-driver-<job id>..._<pid>.log)."""
    return {p.name.split("-")[3][:8] for p in _ray_logs(temp_dir).glob("python-core-driver-*.log")}


def ray_worker_nodes(temp_dir: Path, job_id: str) -> dict[str, int]:
    """{node id: worker processes started for job_id}: worker-<worker id>-<job id>-<pid>.out names the job, the
    worker's core log (python-core-worker-<worker id>_<pid>.log) names the node that started it."""
    logs = _ray_logs(temp_dir)
    nodes: dict[str, int] = {}
    for out in logs.glob(f"worker-*-{job_id}-*.out"):
        worker_id, _, pid = out.stem.split("-")[1:4]
        core_log = logs / f"python-core-worker-{worker_id}_{pid}.log"
        text = core_log.read_text(errors="replace") if core_log.exists() else ""
        marker = f"worker_id={worker_id} node_id="
        at = text.find(marker)
        if at >= 0:
            node = text[at + len(marker) :].split()[0]
            nodes[node] = nodes.get(node, 0) + 1
    return nodes
