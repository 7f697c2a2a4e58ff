"""Round-trip verification: P10 -> Ion -> P10, compared byte for byte,
with differences classified by kind, tag path and byte offset."""

from __future__ import annotations

import os
import tempfile
from itertools import zip_longest
from typing import Iterable, List


from . import storage
from .convert import convert, to_dicom
from .engine import CountingReader, CountingWriter, sha256_of
from .errors import Dicom2IonError, format_tag
from .events import (
    UNDEFINED, Element, FileMetaStart, FragmentsEnd, FragmentsStart, ItemEnd, ItemStart,
    Preamble, SequenceEnd, SequenceStart, Trailing, DeflateInfo, DataSetStart,
)
from .ion import codec
from .ion.equality import ion_same
from .p10.source import iter_events
from .p10.vr import CHARSET_VRS

KINDS = ("value", "VR", "length form", "length", "padding", "order", "charset bytes",
         "preamble", "meta", "trailing bytes", "deflate", "encoding", "structure")


def _without_offset(event):
    if hasattr(event, "offset"):
        return event._replace(offset=0)
    return event


def diff_events(original: Iterable, rebuilt: Iterable, limit: int = 20) -> List[dict]:
    """Classified differences between two event streams (at most ``limit``)."""
    diffs: List[dict] = []
    path: List[int] = []
    in_meta = False
    for a, b in zip_longest(original, rebuilt):
        ta = type(a)
        if ta is FileMetaStart:
            in_meta = True
        elif ta is DataSetStart:
            in_meta = False
        if a is not None and b is not None and _without_offset(a) == _without_offset(b):
            _track(path, a)
            continue
        kind, detail = _classify(a, b, in_meta)
        where = a if a is not None else b
        tag = getattr(where, "tag", None)
        tags = path + ([tag] if tag is not None and ta not in (SequenceEnd,) else [])
        diffs.append({
            "kind": kind,
            "path": "/".join(format_tag(t) for t in tags),
            "offset": getattr(a, "offset", None) if a is not None else None,
            "detail": detail,
        })
        if len(diffs) >= limit or kind == "structure":
            break
        if a is not None:
            _track(path, a)
    return diffs


def _track(path: List[int], event) -> None:
    kind = type(event)
    if kind in (SequenceStart, FragmentsStart):
        path.append(event.tag)
    elif kind in (SequenceEnd, FragmentsEnd) and path:
        path.pop()


def _short(value, n: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= n else text[:n] + "..."


def _classify(a, b, in_meta: bool):
    if a is None or b is None:
        return "structure", f"one stream ends early: {_short(a or b, 80)}"
    ta, tb = type(a), type(b)
    if ta is not tb:
        if {ta, tb} <= {ItemEnd, SequenceEnd, ItemStart, Element}:
            return "length form", f"{ta.__name__} vs {tb.__name__}"
        return "structure", f"{ta.__name__} vs {tb.__name__}"
    if ta is Preamble:
        return "preamble", "preamble bytes differ" if a.data and b.data else "preamble presence"
    if ta is DataSetStart:
        return "encoding", f"{_short(a)} vs {_short(b)}"
    if ta is Trailing:
        return "trailing bytes", f"{_short(a.value)} vs {_short(b.value)}"
    if ta is DeflateInfo:
        return "deflate", f"level {a.level} vs {b.level}"
    if ta is Element:
        if a.tag != b.tag:
            return "order", f"{format_tag(a.tag)} vs {format_tag(b.tag)}"
        if a.vr != b.vr or a.raw_vr != b.raw_vr:
            return "VR", f"{a.vr} vs {b.vr}"
        if in_meta:
            return "meta", f"{_short(a.value)} vs {_short(b.value)}"
        va, vb = a.value, b.value
        if va is not None and vb is not None:
            if va.rstrip(b" \0") == vb.rstrip(b" \0"):
                return "padding", f"{_short(va)} vs {_short(vb)}"
            if a.vr in CHARSET_VRS and not (va.isascii() and vb.isascii()):
                return "charset bytes", f"{_short(va)} vs {_short(vb)}"
        return "value", f"{_short(va)} vs {_short(vb)}"
    if ta in (SequenceStart, ItemStart):
        if (a.length == UNDEFINED) != (b.length == UNDEFINED):
            return "length form", f"length {a.length} vs {b.length}"
        if getattr(a, "tag", None) != getattr(b, "tag", None):
            return "order", f"{format_tag(a.tag)} vs {format_tag(b.tag)}"
        return "length", f"length {a.length} vs {b.length}"
    if ta in (ItemEnd, SequenceEnd):
        if a.delimited != b.delimited:
            return "length form", "delimiter present in one only"
        return "length", f"delimiter length {a.length} vs {b.length}"
    return "value", f"{_short(a)} vs {_short(b)}"


def verify_p10(path: str, *, check_text: bool = True, report=None, strict: bool = False,
               **options) -> dict:
    """Convert one P10 file, rebuild it from the Ion and compare.

    Returns ``status`` ("identical", "different" or "failed": unreadable
    input or an Ion/bulk problem), ``sha256`` (of the file), ``differences``,
    ``error``, ``checks`` and ``document`` (the Ion document, when read).
    A damaged file that rebuilds exactly is "identical" (its document lists
    the damage); with ``strict`` it fails like any unreadable file.
    ``report(bytes_read)`` is called as the file is read."""
    result = {"path": os.fspath(path), "status": "failed", "differences": [], "checks": {},
              "document": None, "sha256": None}
    options["strict"] = strict
    try:
        reader = CountingReader(os.fspath(path), report)
        try:
            doc = convert(reader, source_info={"uri": path if storage.is_url(path) else os.path.abspath(path)}, **options)
        finally:
            reader.close()
        result["document"] = doc
        binary = codec.dumps(doc, binary=True)
        loaded = codec.loads(binary)
        checks = result["checks"]
        digest = result["sha256"] = sha256_of(path)   # the file's bytes, read again
        checks["fileSha256"] = str(doc["fileInfo"]["sha256"]) == digest
        if check_text:
            text_loaded = codec.loads(codec.dumps(doc, binary=False))
            # the same binary Ion means the same values (and is cheaper to find
            # than comparing the values, kept for the rest)
            checks["textEqualsBinary"] = (codec.dumps(text_loaded, binary=True) == binary
                                          or ion_same(loaded, text_loaded))
        rebuilt = to_dicom(loaded, CountingWriter(), source=path, check=False)
        checks["referencesVerified"] = True
        identical = rebuilt["sha256"] == digest
        if not identical:
            result["differences"] = _differences(loaded, path)
        result["status"] = "identical" if identical and all(checks.values()) else "different"
        if identical and not all(checks.values()):
            result["differences"].append({"kind": "structure", "path": "", "offset": None,
                                          "detail": "failed checks: " + ", ".join(
                                              k for k, v in checks.items() if not v)})
    except Dicom2IonError as exc:
        result["error"] = str(exc)
    except OSError as exc:
        result["error"] = f"{getattr(exc, 'filename', None) or path}: {exc.strerror or exc}"
    return result


def _differences(document, path: str) -> List[dict]:
    fd, tmp = tempfile.mkstemp(prefix="dicom2ion-verify-", suffix=".dcm")
    os.close(fd)
    try:
        to_dicom(document, tmp, source=path, check=False)
        if storage.is_url(path):
            with storage.open_read(path) as original:
                found = diff_events(iter_events(original, strict=False),
                                     iter_events(tmp, strict=False))
        else:
            found = diff_events(iter_events(path, strict=False), iter_events(tmp, strict=False))
    finally:
        os.unlink(tmp)
    return found or [{"kind": "structure", "path": "", "offset": None,
                      "detail": "bytes differ but events agree"}]


def verify_file(path: str, *, check_text: bool = True, **options) -> dict:
    """``verify_p10`` as a JSON-ready report (no document)."""
    result = verify_p10(path, check_text=check_text, **options)
    result.pop("document", None)
    try:
        result["size"] = storage.getsize(path)
    except OSError:
        result["size"] = 0
    return result
