"""The one way the pipeline opens DuckDB: memory limit, spill directory and thread count set in one place, every
value put into SQL escaped (paths come from users: `--out "out/it's"`, TMPDIR)."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from sovereign.pipeline.storage import sql_string

__all__ = ["connect", "ident", "parquet_list"]


def connect(
    memory_mb: int | None = None,
    temp_dir: str | None = None,
    threads: int | None = 1,
    *,
    database: str = ":memory:",
    preserve_insertion_order: bool = True,
) -> duckdb.DuckDBPyConnection:
    """A connection whose sorts and joins beyond ``memory_mb`` spill to ``temp_dir``.

    threads=1 by default: the executor already runs one task per core, and each DuckDB thread holds its own
    buffers. None leaves a setting at DuckDB's default (read-only tools: explain, verify).
    """
    con = duckdb.connect(database)
    try:
        if memory_mb is not None:
            con.execute(f"SET memory_limit={sql_string(f'{int(memory_mb)}MB')}")
        if temp_dir is not None:
            con.execute(f"SET temp_directory={sql_string(temp_dir)}")
        if threads is not None:
            con.execute(f"SET threads={int(threads)}")
        if not preserve_insertion_order:
            con.execute("SET preserve_insertion_order=false")
    except BaseException:
        con.close()
        raise
    return con


def parquet_list(paths: Iterable[str]) -> str:
    """Paths as a DuckDB list literal for read_parquet([...]), each escaped."""
    return "[" + ", ".join(sql_string(p) for p in paths) + "]"


def ident(name: str) -> str:
    """A column name as a quoted DuckDB identifier (ops name their columns; they are not trusted as SQL)."""
    return '"' + name.replace('"', '""') + '"'
