"""Executors run the same task functions over a list of items: a process pool, Spark or Ray.

Tasks read and write through the run's storage and return small summaries, so the three executors differ
only in how they schedule work; the bytes written come from the same code. Global reduces are the one place
where each executor runs its own engine: a global stage states an engine-neutral op (pipeline.reduce_ops) and the
executor's backend (pipeline/reduce/) implements it: DuckDB for local, DataFrames for Spark, Ray Data for Ray.
Reduces read the key files and write their result parts where they run: the driver sees file names and counts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from sovereign.pipeline.config import ExecutorSpec
from sovereign.pipeline.reduce_ops import ReduceContext, ReduceOp, ReducePart

Progress = Callable[[Any], None]


class Executor:
    kind = "base"

    def map(self, fn: Callable[[Any], Any], items: list[Any], on_done: Progress | None = None) -> list[Any]:
        raise NotImplementedError

    def reduce(self, op: ReduceOp, ctx: ReduceContext) -> list[ReducePart]:
        """Write op's REDUCE_SCHEMA rows over ctx.key_files under ctx.output_dir(), one file per shard sorted by
        id (the same rows on every executor); returns the parts written, sorted by shard."""
        raise NotImplementedError

    def close(self) -> None:
        pass


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


def _ordered(results: Iterable[tuple[int, Any]], n: int) -> list[Any]:
    out: list[Any] = [None] * n
    for i, r in results:
        out[i] = r
    return out


class LocalExecutor(Executor):
    """A process pool (spawned, so no lock or model handle leaks into workers); inline when workers == 1."""

    kind = "local"

    def __init__(self, spec: ExecutorSpec) -> None:
        self.workers = spec.workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing as mp

            from sovereign.pipeline.procs import die_with_parent

            # Workers die with the driver: a SIGKILLed driver cannot shut its pool down, and orphaned workers would
            # go on committing units after the run's lock is gone.
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=mp.get_context("spawn"), initializer=die_with_parent
            )
        return self._pool

    def map(self, fn: Callable[[Any], Any], items: list[Any], on_done: Progress | None = None) -> list[Any]:
        if self.workers <= 1 or len(items) <= 1:
            results = []
            for item in items:
                results.append(fn(item))
                if on_done:
                    on_done(results[-1])
            return results
        pool = self._get_pool()
        futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        done: list[tuple[int, Any]] = []
        for fut in as_completed(futures):
            result = fut.result()
            done.append((futures[fut], result))
            if on_done:
                on_done(result)
        return _ordered(done, len(items))

    def reduce(self, op: ReduceOp, ctx: ReduceContext) -> list[ReducePart]:
        from sovereign.pipeline.reduce import duckdb_engine

        if self.workers <= 1:  # one worker: the driver is the worker, as in map()
            return duckdb_engine.write(op, ctx)
        # In a worker process: DuckDB's buffers and the rows it streams never enter the driver.
        return self._get_pool().submit(duckdb_engine.write, op, ctx).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class SparkExecutor(Executor):
    """Tasks as Spark jobs (one partition per item); reduces as DataFrame groupBy/joins."""

    kind = "spark"

    def __init__(self, spec: ExecutorSpec, session: Any = None) -> None:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        if session is None:
            builder = SparkSession.builder.master(spec.spark.master).appName("sovereign")
            builder = builder.config("spark.ui.enabled", "false")
            for k, v in spec.spark.conf.items():
                builder = builder.config(k, v)
            session = builder.getOrCreate()
        self.spark = session

    def map(self, fn: Callable[[Any], Any], items: list[Any], on_done: Progress | None = None) -> list[Any]:
        if not items:
            return []
        rdd = self.spark.sparkContext.parallelize(list(enumerate(items)), numSlices=len(items))
        results = _ordered(rdd.map(lambda pair: (pair[0], fn(pair[1]))).collect(), len(items))
        if on_done:
            for r in results:
                on_done(r)
        return results

    def reduce(self, op: ReduceOp, ctx: ReduceContext) -> list[ReducePart]:
        from sovereign.pipeline.reduce import spark_engine

        return spark_engine.write(self.spark, op, ctx)


class RayExecutor(Executor):
    """Tasks as Ray remote functions; reduces over Ray Data datasets."""

    kind = "ray"

    def __init__(self, spec: ExecutorSpec) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(
                address=spec.ray.address,
                num_cpus=spec.ray.num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        self.ray = ray
        import logging

        import ray.data

        # A run prints its own progress; Ray Data's per-operator bars and INFO lines would drown it.
        ray.data.DataContext.get_current().enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)

    def map(self, fn: Callable[[Any], Any], items: list[Any], on_done: Progress | None = None) -> list[Any]:
        remote_call = self.ray.remote(_call)
        refs = [remote_call.remote(fn, item) for item in items]
        index = {ref: i for i, ref in enumerate(refs)}
        done: list[tuple[int, Any]] = []
        pending = list(refs)
        while pending:
            ready, pending = self.ray.wait(pending, num_returns=1)
            result = self.ray.get(ready[0])
            done.append((index[ready[0]], result))
            if on_done:
                on_done(result)
        return _ordered(done, len(items))

    def reduce(self, op: ReduceOp, ctx: ReduceContext) -> list[ReducePart]:
        from sovereign.pipeline.reduce import ray_engine

        return ray_engine.write(op, ctx)


def make_executor(spec: ExecutorSpec, spark_session: Any = None) -> Executor:
    if spec.kind == "spark":
        return SparkExecutor(spec, spark_session)
    if spec.kind == "ray":
        return RayExecutor(spec)
    return LocalExecutor(spec)
