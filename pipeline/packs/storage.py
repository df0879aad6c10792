"""Run directories and pack outputs as URIs (local path, file://, s3://) through pyarrow.fs, with atomic writes."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow.fs as pafs
import pyarrow.parquet as pq


def resolve(uri: str | Path) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path) for a URI; a bare relative path is a local path."""
    text = str(uri)
    if "://" not in text:
        text = str(Path(text).resolve())
    fs, path = pafs.FileSystem.from_uri(text)
    return fs, path.rstrip("/")


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def exists(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def read_bytes(fs: pafs.FileSystem, path: str) -> bytes:
    with fs.open_input_stream(path) as f:
        return f.read()


def read_json(fs: pafs.FileSystem, path: str) -> Any:
    return json.loads(read_bytes(fs, path))


@contextlib.contextmanager
def atomic_output(fs: pafs.FileSystem, path: str) -> Iterator[BinaryIO]:
    """Write to a temporary name and rename on success (local); an object store PUT is atomic by itself."""
    local = isinstance(fs, pafs.LocalFileSystem)
    parent = path.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    tmp = f"{parent}/.tmp-{os.getpid()}-{path.rsplit('/', 1)[1]}" if local else path
    try:
        with fs.open_output_stream(tmp) as out:
            yield out
    except BaseException:
        if local and exists(fs, tmp):
            fs.delete_file(tmp)
        raise
    if local:
        fs.move(tmp, path)


def write_bytes(fs: pafs.FileSystem, path: str, data: bytes) -> None:
    with atomic_output(fs, path) as out:
        out.write(data)


def canonical_json(obj: Any) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def run_shards(fs: pafs.FileSystem, run: str) -> dict[str, list[str]]:
    """language -> sorted shard paths of ``RUN/shards/lang=<xx>/part-NNNNN.parquet``."""
    root = join(run, "shards")
    if not exists(fs, root):
        raise FileNotFoundError(f"no shards/ folder in run {run}")
    out: dict[str, list[str]] = {}
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        rel = info.path[len(root) + 1 :]
        lang_dir, _, name = rel.partition("/")
        if info.is_file and lang_dir.startswith("lang=") and name.endswith(".parquet") and "/" not in name:
            out.setdefault(lang_dir[5:], []).append(info.path)
    return {lang: sorted(paths) for lang, paths in sorted(out.items())}


def open_parquet(fs: pafs.FileSystem, path: str) -> pq.ParquetFile:
    return pq.ParquetFile(fs.open_input_file(path))


def run_root_hash(fs: pafs.FileSystem, run: str) -> str:
    meta = read_json(fs, join(run, "run.json"))
    root = meta.get("root_hash")
    if not isinstance(root, str) or not root:
        raise ValueError(f"run.json of {run} has no root_hash")
    return root
