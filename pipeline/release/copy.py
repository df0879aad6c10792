"""Copy one file between two Stores (local or S3) without holding it in memory, and return the sha256 of what
landed. The same filesystem copies natively (a server-side CopyObject on S3, a kernel copy on disk) and the result
is read back for its digest; across filesystems the bytes stream through here once, hashed on the way."""

from __future__ import annotations

import hashlib
import os
import uuid

import pyarrow.fs as pafs

from sovereign.pipeline.storage import Store, open_sequential, sha256_stream

CHUNK = 8 << 20


def same_filesystem(a: Store, b: Store) -> bool:
    """Both stores on local disk, or both on the same S3 endpoint (a server-side copy is possible)."""
    if a.local or b.local:
        return a.local and b.local
    return a.settings.endpoint_url == b.settings.endpoint_url and a.fs.equals(b.fs)


def copy_file(src: Store, src_rel: str, dest: Store, dest_rel: str) -> tuple[str, int]:
    """(sha256, bytes) of dest_rel after copying src_rel there; the file appears whole or not at all."""
    if same_filesystem(src, dest):
        target = dest.path(dest_rel)
        if dest.local:
            # copy to a temporary name, then rename: a reader never sees half a file
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = f"{target}.tmp-{uuid.uuid4().hex}"
            src.fs.copy_file(src.path(src_rel), tmp)
            os.replace(tmp, target)
        else:
            try:
                src.fs.copy_file(src.path(src_rel), target)  # CopyObject: atomic, no bytes through this machine
            except OSError:  # e.g. objects over CopyObject's 5 GiB limit: stream instead
                return _stream(src, src_rel, dest, dest_rel)
        return sha256_stream(dest.fs, target)
    return _stream(src, src_rel, dest, dest_rel)


def _stream(src: Store, src_rel: str, dest: Store, dest_rel: str) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open_sequential(src.fs, src.path(src_rel)) as fh, dest.open_output(dest_rel) as out:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
            out.write(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def is_file(store: Store, rel: str) -> bool:
    return store.fs.get_file_info(store.path(rel)).type == pafs.FileType.File
