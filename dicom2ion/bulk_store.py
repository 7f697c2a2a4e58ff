"""A bulk folder on an object store (``s3://bucket/bulk``, ``memory://...``):
the same layout as ``bulk.BulkDir`` (``ab/abcdef...``, named by sha256),
each value uploaded whole, once. A value is spooled locally while it
streams past and uploaded only when complete, so readers never see part of
one and a failure leaves nothing behind."""

from __future__ import annotations

from typing import List

from . import storage


class StoreBulkDir:
    """``BulkSink`` (see ion.visitor) over fsspec URLs."""

    def __init__(self, url: str):
        self.path = url.rstrip("/")
        self._open: List[storage.Upload] = []
        storage.makedirs(self.path)

    def file_for(self, sha256: str) -> str:
        return storage.join(self.path, sha256[:2], sha256)

    def has(self, sha256: str) -> bool:
        return storage.exists(self.file_for(sha256))

    def store(self, sha256: str, data: bytes) -> None:
        if not self.has(sha256):
            with storage.atomic_write(self.file_for(sha256)) as fp:
                fp.write(data)

    def begin(self) -> storage.Upload:
        upload = storage.Upload(prefix=".part-")
        self._open.append(upload)
        return upload

    def write(self, handle: storage.Upload, data: bytes) -> None:
        handle.write(data)

    def finish(self, handle: storage.Upload, sha256: str) -> None:
        try:
            if self.has(sha256):
                handle.discard()
            else:
                handle.commit(self.file_for(sha256))
        finally:
            if handle in self._open:
                self._open.remove(handle)

    def discard(self) -> None:
        """Drop every value still being received."""
        for upload in self._open:
            upload.discard()
        self._open.clear()
