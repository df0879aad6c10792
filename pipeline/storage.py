"""Every path is a URI (/local/path, file://, s3://bucket/prefix), opened through pyarrow's filesystems.

Writes are atomic: a temporary name then a rename on local disk, a single object PUT on S3. S3 endpoint and
credentials come from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...) or the run config's `s3:`
section (endpoint and region only), never from code, and are never printed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from sovereign.pipeline.errors import SovereignError

GLOB_CHARS = set("*?[")

# Fixed Parquet options: part of the determinism contract (same rows -> same bytes on every executor).
PARQUET_OPTIONS = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    version="2.6",
    data_page_size=1 << 20,
)
ROW_GROUP_SIZE = 10_000
# Object stores answer each read call with one GET: reads through these buffers make one GET per 8 MiB instead of
# one per reader call (fastwarc and zlib ask for KiBs at a time; bench/s3_read.py measures the difference).
READ_BUFFER_BYTES = 8 << 20


class StorageError(SovereignError):
    """A storage problem described in one line, without credentials."""


# Attempts per S3 request (the first one included) before an error reaches our code. The AWS SDK backs off
# exponentially between them and retries 503 SlowDown, 500, throttling and connection errors (tests/test_s3_faults.py
# runs whole pipelines through a proxy that injects them). 10 rides out a few seconds of a struggling endpoint.
MAX_ATTEMPTS_ENV = "SOVEREIGN_S3_MAX_ATTEMPTS"
DEFAULT_MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str | None = None
    region: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    @classmethod
    def from_env(cls, endpoint_url: str | None = None, region: str | None = None) -> S3Settings:
        return cls(
            endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("S3_ENDPOINT_URL"),
            region=region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"),
            max_attempts=_max_attempts_from_env(),
        )


def _max_attempts_from_env() -> int:
    raw = os.environ.get(MAX_ATTEMPTS_ENV, "")
    try:
        return max(1, int(raw)) if raw.strip() else DEFAULT_MAX_ATTEMPTS
    except ValueError:
        raise StorageError(f"{MAX_ATTEMPTS_ENV} must be a whole number, got {raw[:20]!r}") from None


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


ENDPOINT_USERINFO_MESSAGE = (
    "the S3 endpoint URL must not carry credentials (user:secret@host); "
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment instead"
)


def has_userinfo(url: str) -> bool:
    """The URL names a user (and maybe a password) before its host: credentials that would end up in configs and
    in pyarrow's error messages. Any "@" counts: an endpoint needs none, and AWS secrets hold "/" and "+", so a
    pasted user:secret@host does not parse as one."""
    return "@" in url


def _s3_filesystem(settings: S3Settings) -> pafs.S3FileSystem:
    kwargs: dict[str, object] = {}
    if settings.endpoint_url:
        if has_userinfo(settings.endpoint_url):
            raise StorageError(ENDPOINT_USERINFO_MESSAGE)
        endpoint = settings.endpoint_url
        scheme = "https"
        if "://" in endpoint:
            scheme, endpoint = endpoint.split("://", 1)
        kwargs.update(endpoint_override=endpoint, scheme=scheme)
    if settings.region:
        kwargs["region"] = settings.region
    kwargs["retry_strategy"] = pafs.AwsDefaultS3RetryStrategy(max_attempts=settings.max_attempts)
    # Credentials: pyarrow reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / profiles itself.
    s3 = pafs.S3FileSystem(**kwargs)
    return pafs.PyFileSystem(_RetryingReads(s3, settings.max_attempts))


class _RetryingReads(pafs.FileSystemHandler):
    """S3 with a retry around reads. pyarrow 26 fails a ranged GET smaller than the error body it gets back
    (a 503 SlowDown on a 23-byte Parquet footer read: "Failed to flush response stream", not retried; test:
    tests/test_s3_faults.py). Everything else is passed through to the S3 filesystem unchanged."""

    def __init__(self, fs: pafs.S3FileSystem, attempts: int) -> None:
        self.fs = fs
        self.attempts = attempts

    def __reduce__(self) -> tuple:
        return (_RetryingReads, (self.fs, self.attempts))

    def get_type_name(self) -> str:
        return "s3-retrying"

    def normalize_path(self, path: str) -> str:
        return self.fs.normalize_path(path)

    def equals(self, other: object) -> bool:
        return isinstance(other, _RetryingReads) and self.fs.equals(other.fs)

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        return self.fs.get_file_info(selector)

    def create_dir(self, path: str, recursive: bool) -> None:
        self.fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path: str) -> None:
        self.fs.delete_dir(path)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self) -> None:
        raise StorageError("refusing to delete a whole bucket's contents")

    def delete_file(self, path: str) -> None:
        self.fs.delete_file(path)

    def move(self, src: str, dest: str) -> None:
        self.fs.move(src, dest)

    def copy_file(self, src: str, dest: str) -> None:
        self.fs.copy_file(src, dest)

    def open_input_stream(self, path: str) -> pa.NativeFile:
        return pa.PythonFile(_RetryingFile(self.fs, path, self.attempts), mode="r")

    def open_input_file(self, path: str) -> pa.NativeFile:
        return pa.PythonFile(_RetryingFile(self.fs, path, self.attempts), mode="r")

    def open_output_stream(self, path: str, metadata: dict | None = None) -> pa.NativeFile:
        return self.fs.open_output_stream(path, metadata=metadata)

    def open_append_stream(self, path: str, metadata: dict | None = None) -> pa.NativeFile:
        return self.fs.open_append_stream(path, metadata=metadata)


_exhausted_reads = 0  # reads in this process that failed after every retry (see read_failures)


def read_failures() -> int:
    """How many object-storage reads in this process failed after every retry. A reader that catches errors to
    tell bad data from good (ingest) compares it before and after: a storage outage is not bad data, and the unit
    must fail (and be resumed) instead of recording its unread bytes as `ingest:unreadable-data`."""
    return _exhausted_reads


class _RetryingFile(io.RawIOBase):
    """A seekable S3 object whose reads are retried (with backoff) when the SDK gives up on a transient error."""

    def __init__(self, fs: pafs.S3FileSystem, path: str, attempts: int) -> None:
        self._file = fs.open_input_file(path)  # FileNotFoundError surfaces here, unretried
        self._size = self._file.size()
        self._pos = 0
        self._attempts = attempts

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def size(self) -> int:
        return self._size

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._read_at(self._pos, len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def read(self, n: int = -1) -> bytes:
        n = self._size - self._pos if n is None or n < 0 else min(n, max(0, self._size - self._pos))
        data = self._read_at(self._pos, n)
        self._pos += len(data)
        return data

    def _read_at(self, offset: int, n: int) -> bytes:
        if n <= 0:
            return b""
        for attempt in range(self._attempts):
            try:
                return self._file.read_at(n, offset)
            except FileNotFoundError:
                raise
            except OSError:
                if attempt + 1 == self._attempts:
                    global _exhausted_reads
                    _exhausted_reads += 1
                    raise
                time.sleep(min(0.05 * 2**attempt, 5.0))
        return b""

    def close(self) -> None:
        self._file.close()
        super().close()


def open_random(fs: pafs.FileSystem, path: str) -> BinaryIO:
    """A seekable file for readers that read small pieces in order and sometimes seek: the OS page cache on local
    disk, a big read buffer on object storage."""
    if isinstance(fs, pafs.LocalFileSystem):
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    return io.BufferedReader(fs.open_input_file(path), buffer_size=READ_BUFFER_BYTES)  # type: ignore[arg-type]


def open_sequential(fs: pafs.FileSystem, path: str, compression: str | None = None) -> pa.NativeFile:
    """A stream read front to back (decompressed when compression is "detect"), in big reads on object storage."""
    if isinstance(fs, pafs.LocalFileSystem):
        return fs.open_input_stream(path, compression=compression)
    return fs.open_input_stream(path, compression=compression, buffer_size=READ_BUFFER_BYTES)


def filesystem_for(uri: str, settings: S3Settings | None = None) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a URI or a local path."""
    if is_s3(uri):
        return _s3_filesystem(settings or S3Settings.from_env()), uri[len("s3://") :].rstrip("/")
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    return pafs.LocalFileSystem(), str(Path(uri).expanduser().absolute())


def normalise_uri(uri: str) -> str:
    """Absolute local paths (so workers in other processes agree) and s3:// URIs as given."""
    if is_s3(uri):
        return uri.rstrip("/")
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    return str(Path(uri).expanduser().absolute())


def expand_inputs(uri: str, settings: S3Settings | None = None) -> list[tuple[str, int]]:
    """Files matching a path, glob or prefix, sorted, with their sizes. Raises StorageError if none."""
    fs, path = filesystem_for(uri, settings)
    prefix = "s3://" if is_s3(uri) else ""
    if any(c in path for c in GLOB_CHARS):
        base = path
        while any(c in base for c in GLOB_CHARS):
            base = base.rsplit("/", 1)[0]
        candidates = _list_files(fs, base)
        matches = [(p, s) for p, s in candidates if fnmatch.fnmatchcase(p, path)]
    else:
        try:
            info = fs.get_file_info(path)
        except OSError as exc:
            raise StorageError(f"cannot read {uri}: {_short(exc)}") from None
        if info.type == pafs.FileType.File:
            matches = [(path, info.size or 0)]
        elif info.type == pafs.FileType.Directory:
            matches = _list_files(fs, path)
        else:
            matches = []
    if not matches:
        raise StorageError(f"no input files match {uri}")
    return sorted((prefix + p, s) for p, s in matches)


def _list_files(fs: pafs.FileSystem, base: str) -> list[tuple[str, int]]:
    try:
        infos = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    except OSError as exc:
        raise StorageError(f"cannot list {base}: {_short(exc)}") from None
    return [
        (i.path, i.size or 0) for i in infos if i.type == pafs.FileType.File and not i.base_name.startswith((".", "_"))
    ]


def sql_string(value: str) -> str:
    """A value as a DuckDB string literal. Paths come from users (`--out "out/it's"`) and settings like
    temp_directory take no bind parameters, so every path put into SQL goes through here."""
    return "'" + str(value).replace("'", "''") + "'"


def is_safe_rel(rel: object) -> bool:
    """A relative path that stays inside its root: no absolute path, no `..`, no empty or odd parts. For paths read
    from metadata (run.json outputs, pack.json files) that a run could have been handed by someone else."""
    if not isinstance(rel, str) or not rel or len(rel) > 1024 or "\\" in rel or "\0" in rel:
        return False
    if rel.startswith("/") or "://" in rel:
        return False
    return all(part not in ("", ".", "..") for part in rel.split("/"))


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


class Store:
    """A directory-like root (local path or s3:// prefix) with atomic writes."""

    def __init__(self, root_uri: str, settings: S3Settings | None = None) -> None:
        self.root_uri = normalise_uri(root_uri)
        self.settings = settings or S3Settings.from_env()
        self.fs, self.root = filesystem_for(self.root_uri, self.settings)
        self.local = isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if rel else self.root

    def uri(self, rel: str) -> str:
        return f"{self.root_uri}/{rel}" if rel else self.root_uri

    def local_path(self, rel: str) -> Path:
        if not self.local:
            raise StorageError(f"{self.root_uri} is not on local disk")
        return Path(self.path(rel))

    def contains(self, rel: object) -> bool:
        """rel names a path inside this root: safe as text and, on local disk, not leading out through a symlink."""
        if not is_safe_rel(rel):
            return False
        if not self.local:
            return True
        root = os.path.realpath(self.root)
        return os.path.realpath(self.path(str(rel))).startswith(root.rstrip("/") + "/")

    def top_level(self) -> list[str]:
        """Names directly under the root (empty if it does not exist)."""
        infos = self.fs.get_file_info(pafs.FileSelector(self.root, recursive=False, allow_not_found=True))
        return sorted(i.base_name for i in infos)

    def delete_file(self, rel: str) -> bool:
        try:
            self.fs.delete_file(self.path(rel))
        except (FileNotFoundError, OSError):
            return False
        return True

    def exists(self, rel: str) -> bool:
        return self.fs.get_file_info(self.path(rel)).type != pafs.FileType.NotFound

    def write_bytes(self, rel: str, data: bytes) -> None:
        target = self.path(rel)
        if self.local:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = f"{target}.tmp-{uuid.uuid4().hex}"
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        else:
            with self.fs.open_output_stream(target) as out:  # one PUT: the object appears whole or not at all
                out.write(data)

    def put_file(self, local_file: str | Path, rel: str) -> None:
        """Move (local) or upload (S3) a finished local file to rel, atomically."""
        target = self.path(rel)
        if self.local:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(local_file, target)
        else:
            pafs.copy_files(str(local_file), target, destination_filesystem=self.fs)
            os.unlink(local_file)

    def read_bytes(self, rel: str) -> bytes:
        with self.fs.open_input_stream(self.path(rel), compression=None) as fh:
            return fh.read()

    @contextlib.contextmanager
    def open_output(self, rel: str) -> Iterator[BinaryIO]:
        """A stream for a file too big to hold in memory: it appears at rel whole, and only if the block ends without
        an error (a temporary name then a rename on local disk; a local temporary file then one upload on S3, since
        an S3 output stream would complete its upload with partial data when the block fails)."""
        if self.local:
            target = self.path(rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = f"{target}.tmp-{uuid.uuid4().hex}"
        else:
            fd, tmp = tempfile.mkstemp(prefix="sovereign-", suffix=".tmp")
            os.close(fd)
        try:
            with open(tmp, "wb") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            self.put_file(tmp, rel)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def parquet_file(self, rel: str) -> pq.ParquetFile:
        """A Parquet file opened for reading its footer, row groups or columns (nothing is read before asked)."""
        return pq.ParquetFile(self.fs.open_input_file(self.path(rel)))

    def temporary_files(self, rel: str) -> list[str]:
        """Relative paths of the temporary files an interrupted writer left under rel (what list() leaves out)."""
        base = self.path(rel)
        infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        n = len(base.rstrip("/")) + 1
        return sorted(i.path[n:] for i in infos if i.type == pafs.FileType.File and ".tmp-" in i.base_name)

    def list(self, rel: str, suffix: str = "") -> list[str]:
        """Relative paths of files under rel (recursive), sorted."""
        base = self.path(rel)
        infos = self.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        n = len(base.rstrip("/")) + 1
        return sorted(
            i.path[n:]
            for i in infos
            if i.type == pafs.FileType.File and i.path.endswith(suffix) and ".tmp-" not in i.base_name
        )

    def delete_dir(self, rel: str) -> None:
        try:
            self.fs.delete_dir(self.path(rel))
        except (FileNotFoundError, OSError):
            pass

    def sha256(self, rel: str) -> tuple[str, int]:
        return sha256_stream(self.fs, self.path(rel))

    def write_parquet(self, rel: str, table: pa.Table) -> None:
        self.write_bytes(rel, parquet_bytes(table))

    def read_parquet(self, rel: str, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.path(rel), filesystem=self.fs, columns=columns)


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=ROW_GROUP_SIZE, **PARQUET_OPTIONS)
    return buf.getvalue()


def sha256_stream(fs: pafs.FileSystem, path: str) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open_sequential(fs, path) as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n
