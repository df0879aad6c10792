"""What a finished run holds, for tests that search it for values that must not be there."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq


def texts_of(run: Path) -> list[str]:
    """Every string in every output file: Parquet decoded cell by cell, other files as text."""
    out: list[str] = []
    for path in sorted(p for p in run.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            for column in pq.read_table(path).columns:
                out.extend(str(v) for v in column.to_pylist() if v is not None)
        else:
            out.append(path.read_bytes().decode("utf-8", errors="replace"))
    return out
