"""Spark-on-Kubernetes pods started from the Sovereign image, whose entrypoint is `sovereign`.

Spark's Kubernetes backend (and so the spark-on-k8s-operator) starts the driver pod with the arguments
`driver --properties-file ... --class ... APP ARGS...` and each executor pod with `executor`, and leaves the
command to the image's entrypoint; Spark's own images answer with their entrypoint.sh. These two functions do what
that script does for the two cases, with pyspark's bundled Spark (its jars include spark-kubernetes), so one image
serves `sovereign run`, Ray pods and Spark pods alike. Hand-rolled because entrypoint.sh ships only in Spark's
source tree and images, not in the pyspark wheel.
"""

from __future__ import annotations

import os
from pathlib import Path


def spark_home() -> str:
    import pyspark

    return os.environ.get("SPARK_HOME") or str(Path(pyspark.__file__).parent)


def driver_argv(args: list[str]) -> list[str]:
    """spark-submit in client mode inside the driver pod, bound to the pod's address (as Spark's entrypoint.sh)."""
    bind = os.environ.get("SPARK_DRIVER_BIND_ADDRESS", "")
    return [
        f"{spark_home()}/bin/spark-submit",
        "--conf",
        f"spark.driver.bindAddress={bind}",
        "--conf",
        f"spark.executorEnv.SPARK_DRIVER_POD_IP={bind}",
        "--deploy-mode",
        "client",
        *args,
    ]


def executor_argv() -> list[str]:
    """The executor backend JVM, from the variables Spark sets on executor pods (as Spark's entrypoint.sh)."""
    env = os.environ
    java = f"{env['JAVA_HOME']}/bin/java" if env.get("JAVA_HOME") else "java"
    memory = env.get("SPARK_EXECUTOR_MEMORY", "1g")
    java_opts = [v for k, v in sorted(env.items()) if k.startswith("SPARK_JAVA_OPT_")]
    classpath = ":".join(p for p in (f"{spark_home()}/jars/*", env.get("SPARK_CLASSPATH", "")) if p)
    return [
        java,
        *java_opts,
        f"-Xms{memory}",
        f"-Xmx{memory}",
        "-cp",
        classpath,
        "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend",
        "--driver-url",
        env["SPARK_DRIVER_URL"],
        "--executor-id",
        env["SPARK_EXECUTOR_ID"],
        "--cores",
        env["SPARK_EXECUTOR_CORES"],
        "--app-id",
        env["SPARK_APPLICATION_ID"],
        "--hostname",
        env["SPARK_EXECUTOR_POD_IP"],
        "--resourceProfileId",
        env.get("SPARK_RESOURCE_PROFILE_ID", "0"),
        "--podName",
        env.get("SPARK_EXECUTOR_POD_NAME", ""),
    ]
