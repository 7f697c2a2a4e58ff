"""Planning a batch: finding the input files (folders walked, symlinked
folders followed once), telling DICOM and Ion apart, naming each output,
and refusing plans that would overwrite an input or collide."""

from __future__ import annotations

import os
import stat
from typing import Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple

from . import storage
from .errors import Dicom2IonError

_VR_CODES = {
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
}
ION_BINARY = b"\xe0\x01\x00\xea"
MANIFEST_FOLDER = "dicom2ion-manifest.parquet"


class PlanError(Dicom2IonError):
    """A batch that must not start (it would overwrite an input, or collide)."""


def looks_like_dicom(head: bytes) -> bool:
    """Whether the first bytes of a file look like DICOM: a "DICM" prefix, or
    a first element of a plausible group with a valid VR or a sane length."""
    if head[128:132] == b"DICM":
        return True
    if len(head) < 8:
        return False
    for order in ("little", "big"):
        group = int.from_bytes(head[0:2], order)
        if group in (0x0002, 0x0004, 0x0008) and (
                head[4:6] in _VR_CODES or int.from_bytes(head[4:8], "little") < (1 << 24)):
            return True
    return False


def _head(path: str, n: int) -> bytes:
    with storage.open_read(path) as fp:   # an unreadable file is an error, not "not DICOM"
        return fp.read(n)


def sniff(path: str) -> bool:
    """Whether the file looks like DICOM (OSError when it cannot be read)."""
    return looks_like_dicom(_head(path, 132))


def looks_like_ion(path: str) -> bool:
    """Binary Ion (the version marker) or text Ion as dicom2ion writes it
    (OSError when the file cannot be read)."""
    head = _head(path, 16)
    if head.startswith(ION_BINARY):
        return True
    text = head.lstrip()
    return text.startswith(b"$ion_1_0") or (text.startswith(b"{") and
                                             path.endswith(".ion"))


class Entry(NamedTuple):
    path: str       # the input file as found
    relative: str   # where its output goes, under OUT
    root: str       # the root argument it was found under
    size: int = -1  # found in a folder: its size and mtime then (-1: not known)
    mtime_ns: int = 0
    plain: bool = False   # found in a folder as a regular file, not a symbolic link


class Note(NamedTuple):
    path: str
    status: str     # "skipped" or "failed"
    message: str


def _inside(path: str, folder: str) -> bool:
    if storage.is_url(path) or storage.is_url(folder) or os.sep == "/":
        # (both real paths: normalised, so a prefix test is commonpath's answer)
        return path == folder or path.startswith(folder.rstrip("/") + "/")
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:
        return False


def walk(paths: Iterable[str], *, keep_root_names: bool,
         exclude: Iterable[str] = ()) -> Iterator[object]:
    """Entries for files named directly and every file under named folders
    (sorted), and Notes for what was passed over: symlinked folders are
    followed, each real folder once (a loop or a second link to a folder
    already walked is reported); folders in ``exclude`` (outputs) are
    reported and not entered; manifest folders (``dicom2ion-manifest.parquet``)
    are passed over."""
    exclude = [os.path.realpath(e) for e in exclude if e]
    for root in paths:
        root = os.fspath(root)
        if root == "-":
            yield Entry("-", "stdin", "-")
            continue
        if storage.is_url(root):
            yield from _walk_store(root, keep_root_names)
            continue
        if not os.path.isdir(root):
            yield Entry(root, os.path.basename(root.rstrip(os.sep)) or root, root)
            continue
        prefix = os.path.basename(os.path.abspath(root)) if keep_root_names else ""
        seen = set()
        errors: List[OSError] = []
        for folder, dirs, files in os.walk(root, onerror=errors.append, followlinks=True):
            while errors:
                exc = errors.pop(0)
                yield Note(exc.filename or folder, "failed",
                           f"{exc.filename or folder}: cannot list: {exc.strerror or exc}")
            real = os.path.realpath(folder)
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                dirs[:] = []
                yield Note(folder, "skipped", f"symlinked folder leads to {real}, "
                                              "already walked (loop or duplicate)")
                continue
            seen.add((st.st_dev, st.st_ino))
            dirs[:] = [d for d in dirs if d != MANIFEST_FOLDER]   # our own run records
            if any(_inside(real, e) for e in exclude):
                dirs[:] = []
                yield Note(folder, "skipped", "folder is an output of this run")
                continue
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(folder, name)
                relative = os.path.relpath(full, root)
                if prefix:
                    relative = os.path.join(prefix, relative)
                try:    # (one lstat for a regular file: exists, isfile and its size)
                    st = os.lstat(full)
                    plain = not stat.S_ISLNK(st.st_mode)
                    if not plain:
                        st = os.stat(full)
                except (OSError, ValueError):
                    yield Note(full, "failed", f"{full}: broken symbolic link")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    yield Note(full, "skipped", "not a regular file (a FIFO, socket or device "
                                                "found in a folder is not read)")
                    continue
                yield Entry(full, relative, root, st.st_size, st.st_mtime_ns, plain)
        for exc in errors:
            yield Note(exc.filename or root, "failed",
                       f"{exc.filename or root}: cannot list: {exc.strerror or exc}")


def _walk_store(root: str, keep_root_names: bool) -> Iterator[Entry]:
    """Entries for a URL: the object itself, or every object under it."""
    if not storage.isdir(root):
        yield Entry(root, storage.basename(root), root)
        return
    prefix = storage.basename(root) if keep_root_names else ""
    for url, relative in storage.walk_files(root):
        if MANIFEST_FOLDER in relative.split("/"):       # our own run records
            continue
        yield Entry(url, f"{prefix}/{relative}" if prefix else relative, root)


def _real(path: str, folders: Optional[Dict[str, str]] = None, plain: bool = False) -> str:
    """``os.path.realpath``; a URL stays as it is. With ``folders`` (a cache
    of the real paths of parent folders), a name that is not a symbolic link
    costs one lstat instead of one per component (none when ``plain``: the
    walk found it is no link)."""
    if storage.is_url(path):
        return path.rstrip("/")
    if folders is None or ".." in path.split(os.sep):   # (".." after a link: realpath's rule)
        return os.path.realpath(path)
    parent, name = os.path.split(os.path.abspath(path))
    if not name or name in (".", "..") or (not plain and os.path.islink(path)):
        return os.path.realpath(path)
    real_parent = folders.get(parent)
    if real_parent is None:
        real_parent = folders[parent] = os.path.realpath(parent)
    return os.path.join(real_parent, name)


def ion_target_name(relative: str) -> str:
    """The inverse of convert's naming: ``NAME.ion`` -> ``NAME`` (``scan.dcm.ion``
    -> ``scan.dcm``, ``IM0001.ion`` -> ``IM0001``); other names get ``.dcm``."""
    if relative.endswith(".ion") and len(os.path.basename(relative)) > 4:
        return relative[:-4]
    return relative + ".dcm"


def output_for(entry: Entry, out: Optional[str], single: bool,
               rename: Callable[[str], str]) -> str:
    """Where an entry's output goes: OUT itself (one file in, OUT not a
    folder), OUT/relative (renamed), or next to the input without -o."""
    if out is None:
        return rename(entry.path) if entry.path != "-" else "-"
    if single and (out == "-" or not storage.isdir(out)) and not out.endswith(("/", os.sep)):
        return out
    return storage.join(out, rename(entry.relative))


def _refuse_input_overlap(what: str, real: str, inputs: Dict[str, str],
                          folders: List[str]) -> None:
    """An output (``what`` names it) must be neither an input nor inside an input folder."""
    if real in inputs:
        raise PlanError(f"refusing to write {what}: it is the input {inputs[real]}")
    for folder in folders:
        if _inside(real, folder):
            raise PlanError(f"refusing to write {what}: it is inside the input folder {folder}")


def check_plan(entries: List[Entry], targets: List[str], roots: Iterable[str],
               others: Dict[str, str]) -> None:
    """Refuse, before anything is written: an output that is an input or
    lies inside an input folder, two inputs with the same output, and
    other outputs (``others``: role -> path) inside an input folder."""
    folders = [_real(r) for r in roots if r != "-" and storage.isdir(r)]
    inputs = {}
    cache: Dict[str, str] = {}
    for entry in entries:
        if entry.path != "-":
            inputs[_real(entry.path, cache, entry.plain)] = entry.path
    seen: Dict[str, str] = {}
    collisions: List[str] = []
    for entry, target in zip(entries, targets):
        if target == "-" or target is None:
            continue
        real = _real(target, cache)
        _refuse_input_overlap(target, real, inputs, folders)
        key = os.path.normcase(real)
        if key in seen:
            collisions.append(f"{seen[key]} and {entry.path} would both be written to {target}")
        else:
            seen[key] = entry.path
    for role, path in others.items():
        if path and path != "-":
            _refuse_input_overlap(f"{role} {path}", _real(path), inputs, folders)
    if collisions:
        shown = "\n  ".join(collisions[:20])
        more = f"\n  ... and {len(collisions) - 20} more" if len(collisions) > 20 else ""
        raise PlanError(f"{len(collisions)} outputs collide (give each input its own -o, or "
                        f"rename):\n  {shown}{more}")


def remap(path: Optional[str], pairs: List[Tuple[str, str]]) -> Optional[str]:
    """Replace the first matching OLD prefix of ``path`` by NEW."""
    if path is None:
        return None
    for old, new in pairs:
        old = old.rstrip("/") or "/"
        if path == old or path.startswith(old.rstrip("/") + "/"):
            return new.rstrip("/") + path[len(old.rstrip("/")):]
    return path
