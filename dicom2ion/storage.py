"""Where files live: plain local paths, or fsspec URLs (``s3://``, ``gs://``,
``memory://``, ...) for inputs, outputs and bulk folders.

Local paths (and ``file://`` URLs, which become local paths) take the
ordinary ``os``/``open`` route and never import fsspec; only a URL with
another scheme imports it (install with ``pip install 'dicom2ion[dask]'``).
Object-store writes are write-once: the bytes are spooled locally and
uploaded in one put, so a reader sees the whole object or nothing, and a
failed write leaves nothing behind. Ranged reads fetch only the bytes asked
for (one GET with a Range header per chunk on S3).

Options for a store (endpoint, credentials) come from fsspec's usual
configuration: ``FSSPEC_S3_ENDPOINT_URL=...`` style environment variables,
fsspec's config files, or the store's own (``AWS_*`` for S3).
"""

from __future__ import annotations

import os
import re
import tempfile
import urllib.parse
from typing import BinaryIO, Iterator, Optional, Tuple

# "scheme://..." with a scheme of two letters or more ("C://" is a Windows drive)
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")
# Stores whose uploads appear whole or not at all, and have no rename
_OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "memory", "oss", "r2"}
RANGE_CHUNK = 8 << 20          # one ranged GET per this many bytes
SPOOL_IN_MEMORY = 16 << 20     # uploads smaller than this never touch the local disk


def scheme(path) -> Optional[str]:
    """The URL scheme of ``path`` (lower case), or None for a local path."""
    if not isinstance(path, str):
        return None
    match = _URL.match(path)
    return match.group(1).lower() if match else None


def is_url(path) -> bool:
    """Whether ``path`` goes through fsspec (a URL other than ``file://``)."""
    s = scheme(path)
    return s is not None and s != "file"


def local(path):
    """``path`` as a local path when it is one (``file://`` URLs included)."""
    if scheme(path) == "file":
        return file_path(path)
    return path


def file_path(uri: str) -> str:
    """The local path of a ``file:`` URI: ``url2pathname`` of its path, which
    on POSIX is ``unquote`` (urllib.request, 30-40 ms to import with the
    http.client, email and ssl it brings, only elsewhere)."""
    path = urllib.parse.urlparse(uri).path
    if os.name == "posix":
        return urllib.parse.unquote(path)
    from urllib.request import url2pathname

    return url2pathname(path)


def _fs(url: str):
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise OSError(f"{url}: URLs need fsspec: pip install 'dicom2ion[dask]'") from None
    try:
        return url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise OSError(f"{url}: {exc}") from None


def filesystem(url: str):
    """(fsspec filesystem, path inside it) for a URL (pyarrow takes both)."""
    return _fs(url)


def join(base: str, *parts: str) -> str:
    """``os.path.join`` for paths, ``/``-joining for URLs."""
    if not is_url(base):
        return os.path.join(local(base), *parts)
    out = base.rstrip("/")
    for part in parts:
        out += "/" + part.replace(os.sep, "/").strip("/")
    return out


def dirname(path: str) -> str:
    if not is_url(path):
        return os.path.dirname(local(path))
    return path.rstrip("/").rsplit("/", 1)[0]


def basename(path: str) -> str:
    if not is_url(path):
        return os.path.basename(local(path))
    return path.rstrip("/").rsplit("/", 1)[-1]


def isdir(path) -> bool:
    if not is_url(path):
        return os.path.isdir(local(path))
    fs, p = _fs(path)
    return fs.isdir(p)


def isfile(path) -> bool:
    if not is_url(path):
        return os.path.isfile(local(path))
    fs, p = _fs(path)
    return fs.isfile(p)


def exists(path) -> bool:
    if not is_url(path):
        return os.path.exists(local(path))
    fs, p = _fs(path)
    return fs.exists(p)


def stat(path) -> Tuple[int, Optional[float]]:
    """(size in bytes, modification time as a POSIX timestamp or None)."""
    if not is_url(path):
        st = os.stat(local(path))
        return st.st_size, st.st_mtime
    fs, p = _fs(path)
    try:
        info = fs.info(p)
    except FileNotFoundError:
        raise FileNotFoundError(2, "No such file", path) from None
    return int(info.get("size") or 0), _mtime(info)


def stat_ns(path) -> Tuple[int, int]:
    """(size, modification time in integer nanoseconds; 0 when unknown)."""
    if not is_url(path):
        st = os.stat(local(path))
        return st.st_size, st.st_mtime_ns
    size, mtime = stat(path)
    return size, round(mtime * 1e9) if mtime is not None else 0


def _mtime(info: dict) -> Optional[float]:
    for key in ("mtime", "LastModified", "updated", "last_modified", "created"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        try:
            import datetime
            return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            continue
    return None


def file_uri(path) -> str:
    """The ``file://`` URI of a local path (made absolute), exactly as
    ``pathlib.Path(...).as_uri()`` writes it (without building a Path)."""
    full = os.path.abspath(path)
    if os.name != "posix":
        import pathlib

        return pathlib.Path(full).as_uri()
    return "file://" + urllib.parse.quote_from_bytes(os.fsencode(full))


def source_info(url: str) -> dict:
    """A document's ``sourceInfo`` for an input on a store: its URL (so
    to-dicom finds the original there) and its modification time."""
    info = {"uri": url}
    try:
        _, mtime = stat(url)
    except OSError:
        return info
    if mtime is not None:
        import datetime

        info["modificationDate"] = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)
    return info


def getsize(path) -> int:
    return stat(path)[0]


def walk_files(root: str) -> Iterator[Tuple[str, str]]:
    """(file, its path relative to ``root``) for every file under ``root``,
    sorted. Local folders are walked by ``os.walk``."""
    if not is_url(root):
        root = local(root)
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(folder, name)
                yield full, os.path.relpath(full, root)
        return
    fs, p = _fs(root)
    base = p.rstrip("/")
    for found in sorted(fs.find(p)):
        if found.rstrip("/") == base:            # the root is itself an object
            yield root, basename(root)
            continue
        rel = found[len(base):].lstrip("/") if found.startswith(base) else basename(found)
        yield join(root, rel), rel               # spelled as the caller spelled the root


def open_read(path) -> BinaryIO:
    """A binary file object to read ``path`` (local or URL)."""
    if not is_url(path):
        return open(local(path), "rb")
    fs, p = _fs(path)
    return fs.open(p, "rb")


def read_bytes(path) -> bytes:
    with open_read(path) as fp:
        return fp.read()


def read_range(path, offset: int, length: int, chunk: int = RANGE_CHUNK) -> Iterator[bytes]:
    """The bytes ``[offset, offset + length)`` of ``path`` in chunks; on a
    store, one ranged read per chunk, never the whole object. Stops early
    (yields fewer bytes) when the file is shorter."""
    if not is_url(path):
        with open(local(path), "rb") as fp:
            fp.seek(offset)
            left = length
            while left:
                data = fp.read(min(chunk, left))
                if not data:
                    return
                left -= len(data)
                yield data
        return
    fs, p = _fs(path)
    position, end = offset, offset + length
    while position < end:
        stop = min(position + chunk, end)
        data = fs.cat_file(p, start=position, end=stop)
        if not data:
            return
        position += len(data)
        yield data
        if len(data) < stop - (position - len(data)):
            return


def makedirs(path) -> None:
    if not is_url(path):
        os.makedirs(local(path), exist_ok=True)
        return
    fs, p = _fs(path)
    if scheme(path) not in _OBJECT_STORES:
        fs.makedirs(p, exist_ok=True)


def remove(path) -> None:
    if not is_url(path):
        os.unlink(local(path))
        return
    fs, p = _fs(path)
    fs.rm_file(p)


class _LocalAtomic:
    """A temporary file next to ``path``, renamed over it on success."""

    def __init__(self, path: str, prefix: str):
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".part")
        self.fp = os.fdopen(fd, "wb")

    def __enter__(self) -> BinaryIO:
        return self.fp

    def __exit__(self, exc_type, exc, tb):
        try:
            self.fp.close()
        except BaseException:
            self._discard()
            raise
        if exc_type is None:
            try:
                os.replace(self.tmp, self.path)
            except BaseException:
                self._discard()
                raise
        else:
            self._discard()
        return False

    def _discard(self) -> None:
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


class Upload:
    """Bytes for one object on a store, spooled here until ``commit(url)``
    uploads them whole: memory first, a local temporary file past
    ``SPOOL_IN_MEMORY`` bytes (so large outputs keep memory bounded).
    ``discard()`` (or ``commit``) frees the spool."""

    def __init__(self, prefix: str = ".dicom2ion-"):
        self._prefix = prefix
        self._memory: Optional[bytearray] = bytearray()
        self._file = None
        self.name: Optional[str] = None     # the local spool file, once there is one

    def write(self, data) -> int:
        if self._memory is not None:
            self._memory += data
            if len(self._memory) > SPOOL_IN_MEMORY:
                fd, self.name = tempfile.mkstemp(prefix=self._prefix, suffix=".part")
                self._file = os.fdopen(fd, "wb")
                self._file.write(self._memory)
                self._memory = None
        else:
            self._file.write(data)
        return len(data)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def commit(self, url: str) -> None:
        """Upload to ``url`` (write-once on object stores; elsewhere to a
        temporary name, then moved), then free the spool."""
        try:
            fs, path = _fs(url)
            if scheme(url) in _OBJECT_STORES:
                self._put(fs, path)
                return
            folder, _, name = path.rstrip("/").rpartition("/")
            tmp = f"{self._prefix}{os.getpid()}-{name}.part"
            tmp = f"{folder}/{tmp}" if folder else tmp
            if folder:
                fs.makedirs(folder, exist_ok=True)
            self._put(fs, tmp)
            try:
                fs.mv(tmp, path)
            except BaseException:
                try:
                    fs.rm_file(tmp)
                except Exception:
                    pass
                raise
        finally:
            self.discard()

    def _put(self, fs, target: str) -> None:
        if self._memory is not None:
            fs.pipe_file(target, bytes(self._memory))
        else:
            self._file.flush()
            fs.put_file(self.name, target)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            try:
                os.unlink(self.name)
            except OSError:
                pass
        self._memory = None


class _StoreAtomic:
    """``atomic_write`` for a URL: an Upload committed when the block succeeds."""

    def __init__(self, url: str, prefix: str):
        _fs(url)                         # fail early on an unknown store
        self.url = url
        self.fp = Upload(prefix)

    def __enter__(self):
        return self.fp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.fp.commit(self.url)
        else:
            self.fp.discard()
        return False


def atomic_write(path, prefix: str = ".dicom2ion-"):
    """Context manager giving a binary file; the output appears whole when
    the block ends without an error, and not at all otherwise."""
    if not is_url(path):
        return _LocalAtomic(local(path), prefix)
    return _StoreAtomic(path, prefix)
