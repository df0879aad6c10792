"""Bring a Ray Dataset's blocks back as Arrow tables without Ray Data's streaming iterator.

Ray 2.60's iterator can deadlock when the garbage collector finalises it while its executor shuts down
(StreamingExecutor.shutdown waits on a lock its own __del__ holds; seen in our executor tests), so results are
fetched as block references instead."""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def collect_tables(ds: Any) -> list[pa.Table]:
    import ray

    return [t for t in ray.get(ds.to_arrow_refs()) if t.num_rows]
