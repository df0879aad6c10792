"""Reduce backends, one per executor: each implements the engine-neutral ops of pipeline.reduce_ops with its own
engine (``duckdb_engine`` for local, ``spark_engine``, ``ray_engine``). ``common`` holds the numpy/Arrow parts
they share, so their rows are byte-identical: edge verification, the survivor rule, the result rows."""
