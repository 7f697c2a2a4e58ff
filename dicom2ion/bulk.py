"""Bulk values: the content-addressed bulk folder and the resolver that
fetches referenced bytes (from the bulk folder or the source P10 file),
checking each against its sha256."""

from __future__ import annotations

import atexit
import hashlib
import os
import tempfile
import weakref
import zlib
from typing import Iterator, Optional, Sequence

from . import storage
from .errors import BulkDataError
from .outputs import create_temp, output_error

PART_PREFIX = ".part-"

CHUNK = 1 << 20


_OPEN_PARTS: "weakref.WeakSet[BulkDir]" = weakref.WeakSet()


class BulkDir:
    """A folder of values named by their sha256 (``ab/abcdef...``).

    Values are written to ``.part-*`` files and renamed into place when
    complete; ``discard_unfinished()`` removes every part not finished (on a
    failure, a full disk or an interrupt), and process exit does too. Errors
    name the bulk folder, never the input.
    """

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self._parts: dict = {}
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as exc:
            raise output_error(self.path, exc) from None

    def file_for(self, sha256: str) -> str:
        return os.path.join(self.path, sha256[:2], sha256)

    def has(self, sha256: str) -> bool:
        return os.path.exists(self.file_for(sha256))

    # BulkSink interface (see ion.visitor)
    def store(self, sha256: str, data: bytes) -> None:
        if self.has(sha256):
            return
        handle = self.begin()
        self.write(handle, data)
        self.finish(handle, sha256)

    def begin(self):
        try:
            tmp, fp = create_temp(self.path, PART_PREFIX)
        except OSError as exc:
            raise output_error(self.path, exc) from None
        handle = [fp, tmp]
        try:
            self._parts[tmp] = handle
            _OPEN_PARTS.add(self)
        except BaseException:
            self._drop(handle)
            raise
        return handle

    def write(self, handle, data: bytes) -> None:
        try:
            handle[0].write(data)
        except OSError as exc:
            self._drop(handle)
            raise output_error(self.path, exc) from None

    def finish(self, handle, sha256: str) -> None:
        fp, tmp = handle
        final = self.file_for(sha256)
        try:
            fp.close()
            if os.path.exists(final):
                os.unlink(tmp)
            else:
                os.makedirs(os.path.dirname(final), exist_ok=True)
                os.replace(tmp, final)
        except OSError as exc:
            self._drop(handle)
            raise output_error(final, exc) from None
        self._parts.pop(tmp, None)

    def _drop(self, handle) -> None:
        fp, tmp = handle
        try:
            fp.close()
        except OSError:
            pass
        try:
            os.unlink(tmp)
        except OSError:
            pass
        self._parts.pop(tmp, None)

    def discard(self) -> None:
        """Remove this folder's unfinished parts."""
        for handle in list(self._parts.values()):
            self._drop(handle)


def discard_unfinished() -> None:
    """Remove the unfinished parts of every bulk folder in this process."""
    for bulk in list(_OPEN_PARTS):
        bulk.discard()


atexit.register(discard_unfinished)


def open_bulk_dir(path):
    """The bulk folder at ``path``: a local ``BulkDir``, or for a URL
    (``s3://...``) a ``bulk_store.StoreBulkDir`` of the same layout."""
    if isinstance(path, BulkDir) or hasattr(path, "file_for"):
        return path
    if storage.is_url(path):
        from .bulk_store import StoreBulkDir

        sink = StoreBulkDir(path)
        _OPEN_PARTS.add(sink)
        return sink
    return BulkDir(storage.local(path))


def _verified(chunks: Iterator[bytes], length: int, sha256: str, path: str, where: str,
              check_sha256: bool = True):
    hasher = hashlib.sha256() if check_sha256 else None
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if hasher is not None:
            hasher.update(chunk)
        yield chunk
    if seen != length:
        raise BulkDataError(f"{path}: {where} holds {seen} bytes, the reference says {length}")
    if hasher is not None and hasher.hexdigest() != sha256:
        raise BulkDataError(f"{path}: the bytes in {where} do not match sha256 {sha256}")


def _read_range(file_path: str, offset: int, length: int) -> Iterator[bytes]:
    """Local files in CHUNK reads; URLs by ranged reads (storage.read_range)."""
    return storage.read_range(file_path, offset, length,
                              storage.RANGE_CHUNK if storage.is_url(file_path) else CHUNK)


class Resolver:
    """Fetches referenced bytes: ``resolver(offset, length, sha256, path)``.

    Looks in the bulk folders first (by sha256), then in the source file.
    ``deflate_offset`` is the file offset where a deflated data set starts;
    offsets past it count inflated bytes, so the source is inflated into a
    temporary file once. Every value is checked against its sha256.
    """

    def __init__(self, source: Optional[str] = None, bulk_dirs: Sequence[str] = (),
                 deflate_offset: Optional[int] = None, keep_open: bool = False):
        self.source = os.fspath(source) if source is not None else None
        self.bulk_dirs = [open_bulk_dir(d) for d in bulk_dirs]
        self.deflate_offset = deflate_offset
        self._inflated: Optional[str] = None
        # ``keep_open``: a local source file is opened once, for every value,
        # until ``close`` (for one document's rebuild; a long-lived resolver
        # opens it per value and holds no descriptor)
        self._keep_open = keep_open and self.source is not None \
            and not storage.is_url(self.source)
        self._source_fp = None
        # False: the caller checks a digest over everything it rebuilds (see
        # convert.to_dicom), so each value is read with its length checked
        # but without a sha256 of its own
        self.check_sha256 = True

    def __call__(self, offset: int, length: int, sha256: str, path: str,
                 raw: bool = False) -> Iterator[bytes]:
        for bulk in self.bulk_dirs:
            name = bulk.file_for(sha256)
            if storage.exists(name):
                return _verified(_read_range(name, 0, storage.getsize(name)), length, sha256,
                                 path, name, self.check_sha256)
        if self.source is None:
            raise BulkDataError(f"{path}: value {sha256} is not in the bulk folder and no "
                                "source file was given (use --source or --bulk-dir)")
        try:
            missing = self._source_fp is None and not storage.exists(self.source)
        except OSError as exc:          # (a URL of no known store, say)
            raise BulkDataError(f"{path}: source file {self.source}: {exc.strerror or exc}"
                                " (use --source or --bulk-dir)") from None
        if missing:
            raise BulkDataError(f"{path}: source file {self.source} is missing "
                                "(use --source or --bulk-dir)")
        file_path = self.source
        if self.deflate_offset is not None and not raw and offset >= self.deflate_offset:
            file_path = self._inflated_copy()
        elif self._keep_open:
            return _verified(self._source_range(offset, length), length, sha256, path,
                             f"{file_path} at offset {offset}", self.check_sha256)
        return _verified(_read_range(file_path, offset, length), length, sha256, path,
                         f"{file_path} at offset {offset}", self.check_sha256)

    def _source_range(self, offset: int, length: int) -> Iterator[bytes]:
        """``_read_range`` of the source file through the one handle kept
        open (each read seeks: two values' chunks may interleave)."""
        if self._source_fp is None:
            self._source_fp = open(storage.local(self.source), "rb")
        fp = self._source_fp
        position, left = offset, length
        while left:
            fp.seek(position)
            data = fp.read(min(CHUNK, left))
            if not data:
                return
            position += len(data)
            left -= len(data)
            yield data

    def _inflated_copy(self) -> str:
        if self._inflated is None:
            fd, tmp = tempfile.mkstemp(prefix="dicom2ion-inflated-")
            with os.fdopen(fd, "wb") as out, storage.open_read(self.source) as src:
                out.write(src.read(self.deflate_offset))
                inflater = zlib.decompressobj(-15)
                try:
                    for chunk in iter(lambda: src.read(CHUNK), b""):
                        while chunk and not inflater.eof:
                            # at most CHUNK inflated bytes at a time (a deflate bomb)
                            out.write(inflater.decompress(chunk, CHUNK))
                            chunk = inflater.unconsumed_tail
                        if inflater.eof:
                            break
                    out.write(inflater.flush())
                except zlib.error:
                    pass      # a damaged stream: the values it held come before the damage
            self._inflated = tmp
        return self._inflated

    def close(self) -> None:
        if self._source_fp is not None:
            self._source_fp.close()
            self._source_fp = None
        if self._inflated is not None:
            try:
                os.unlink(self._inflated)
            except OSError:
                pass
            self._inflated = None


def deflate_offset(document) -> Optional[int]:
    """The file offset where a document's deflated data set starts (its
    bulk offsets beyond it count inflated bytes), or None."""
    wire = document.get("wire") if hasattr(document, "get") else None
    deflate = wire.get("deflate") if hasattr(wire, "get") else None
    offset = deflate.get("dataOffset") if hasattr(deflate, "get") else None
    return int(offset) if offset is not None else None


def raw_deflated_from(resolver: Resolver):
    """The writer's ``raw_deflated`` callback: the original compressed bytes
    of a deflated data set, kept in the document or fetched by the resolver."""
    def raw_deflated(info):
        if info.raw is not None:
            return [info.raw]
        return resolver(info.offset, info.length, info.sha256, "wire.deflate", raw=True)
    return raw_deflated
