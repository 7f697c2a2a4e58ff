"""Writing outputs safely: atomic replacement of regular files, direct
writes to devices, pipes and stdout, normal permissions, and errors that
name the output (never the input)."""

from __future__ import annotations

import os
import stat
import sys
from typing import Optional

from . import storage
from .errors import Dicom2IonError

STDOUT = "-"
TEMP_PREFIX = ".dicom2ion-"


class OutputError(Dicom2IonError):
    """An output that cannot be written; the message names the output path."""

    def __init__(self, path: str, reason: str):
        self.output = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.output}: cannot write: {reason}")


def output_error(path, exc: BaseException) -> OutputError:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return OutputError(path, reason)


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows."""
    try:
        with open("/proc/self/status") as fp:
            for line in fp:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a normal new file gets (0644 under umask 022)."""
    return 0o666 & ~current_umask()


def is_special(path: str) -> bool:
    """Whether ``path`` is stdout (``-``) or an existing non-regular file
    (a device, FIFO or socket) that must be written in place, not replaced."""
    if path == STDOUT:
        return True
    try:
        st = os.stat(path)
    except OSError:
        return False
    return not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)


def temp_name(folder: str, prefix: str, suffix: str = "") -> str:
    """A fresh temporary name in ``folder`` that says which process owns it."""
    return os.path.join(folder, f"{prefix}{os.getpid()}-{os.urandom(6).hex()}{suffix}")


def create_temp(folder: str, prefix: str, suffix: str = ""):
    """(path, binary file) of a new temporary file with ``file_mode()``;
    nothing is left behind if this is interrupted."""
    path = temp_name(folder, prefix, suffix)
    try:
        # mode 0o666 less the umask: file_mode(), set by the kernel (no umask read)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                     0o666)
        return path, os.fdopen(fd, "wb")
    except BaseException:
        try:
            os.unlink(path)
        except OSError:
            pass
        raise


def sweep(folder: str, prefix: str, pid: int) -> int:
    """Remove the temporary files a (dead) process ``pid`` left in ``folder``."""
    removed = 0
    mine = f"{prefix}{pid}-"
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        if name.startswith(mine):
            try:
                os.unlink(os.path.join(folder, name))
                removed += 1
            except OSError:
                pass
    return removed


class _Guarded:
    """A binary file whose write errors name the output path."""

    def __init__(self, fp, path: str):
        self._fp = fp
        self._path = path

    def write(self, data) -> int:
        try:
            return self._fp.write(data)
        except OSError as exc:
            raise output_error(self._path, exc) from None

    def flush(self) -> None:
        try:
            self._fp.flush()
        except OSError as exc:
            raise output_error(self._path, exc) from None

    def __getattr__(self, name):
        return getattr(self._fp, name)


# folders this process made or found for its outputs (a batch writes many
# files into each: one makedirs per folder, not per file)
_FOLDERS_MADE: set = set()


def _remember_folder(folder: str) -> None:
    if len(_FOLDERS_MADE) >= 4096:
        _FOLDERS_MADE.clear()
    _FOLDERS_MADE.add(folder)


class AtomicFile:
    """Context manager for one output.

    A regular file (or a new path) is written to a temporary file in the
    same folder and renamed over the target only on success; on any failure
    or interrupt the temporary file is removed. Stdout (``-``), devices and
    FIFOs are written directly. New files get ``file_mode()``.
    Opening happens in the constructor, so an unwritable target fails
    before any work is done.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        self.tmp: Optional[str] = None
        self._close = True
        try:
            if self.path == STDOUT:
                self._raw = sys.stdout.buffer
                self._close = False
            elif is_special(self.path):
                self._raw = open(self.path, "wb")
            else:
                folder = os.path.dirname(os.path.abspath(self.path))
                if folder not in _FOLDERS_MADE:
                    os.makedirs(folder, exist_ok=True)
                    _remember_folder(folder)
                try:
                    self.tmp, self._raw = create_temp(folder, TEMP_PREFIX, ".part")
                except FileNotFoundError:      # the folder went away since: make it again
                    os.makedirs(folder, exist_ok=True)
                    self.tmp, self._raw = create_temp(folder, TEMP_PREFIX, ".part")
        except OSError as exc:
            raise output_error(self.path, exc) from None
        self.fp = _Guarded(self._raw, self.path)

    def __enter__(self):
        return self.fp

    def commit(self) -> None:
        try:
            if self._close:
                self._raw.close()
            else:
                self._raw.flush()
            if self.tmp is not None:
                if os.name != "posix" and os.path.isdir(self.path):
                    # (POSIX's rename refuses a folder itself: EISDIR, no stat needed)
                    raise IsADirectoryError(21, "Is a directory")
                os.replace(self.tmp, self.path)
                self.tmp = None
        except OSError as exc:
            self.abort()
            raise output_error(self.path, exc) from None

    def abort(self) -> None:
        if self._close:
            try:
                self._raw.close()
            except OSError:
                pass
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False


class _StoreOutput:
    """An output on an object store (a URL): uploaded whole when the block
    succeeds, nothing otherwise (``storage.atomic_write``); errors name it."""

    def __init__(self, url: str):
        self.path = url
        try:
            self._inner = storage.atomic_write(url, prefix=TEMP_PREFIX)
        except OSError as exc:
            raise output_error(url, exc) from None

    def __enter__(self):
        return _Guarded(self._inner.__enter__(), self.path)

    def __exit__(self, exc_type, exc, tb):
        try:
            return self._inner.__exit__(exc_type, exc, tb)
        except OSError as exc:
            raise output_error(self.path, exc) from None


def atomic_output(path):
    """Write ``path`` safely (see AtomicFile; a URL goes to its store whole
    or not at all); use as ``with atomic_output(p) as fp``."""
    if storage.is_url(path):
        return _StoreOutput(path)
    return AtomicFile(path)
