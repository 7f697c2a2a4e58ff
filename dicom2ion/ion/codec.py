"""Reading and writing Ion documents (binary or text) with amazon.ion."""

from __future__ import annotations

import codecs
import io
import re
from typing import BinaryIO, Union

from amazon.ion import simpleion

from ..errors import IonDocumentError
from . import dump_large, load_large, multimap
from .binary_walk import Unsupported, check_symbol_tables
from .null import normalise
from .writable import writable

# Bare Python values where Ion allows (str, int, bytes, list, None for an
# unannotated null); annotated values keep amazon.ion's IonPy types.
_BARE = simpleion.IonPyValueModel.MAY_BE_BARE

# Text Ion read with the C extension needs a buffer that fits the longest
# value; binary Ion has no such limit.
TEXT_BUFFER_LIMIT = 256 << 20
_BVM = b"\xe0\x01\x00\xea"

# amazon.ion's C writer is in use (its pure-Python writer does not take the
# types of ``writable``)
_C_WRITER = bool(getattr(simpleion, "c_ext", False)
                 and vars(simpleion).get("__IS_C_EXTENSION_SUPPORTED", False))


# an escape written by amazon.ion's pretty printer, not itself escaped
_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))")


def _readable_char(match) -> str:
    code = int(match.group(2) or match.group(3) or match.group(4), 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return match.group(0)
    char = chr(code)
    if code < 0x10000 and (code < 0xA0 or not char.isprintable()):
        return match.group(0)        # controls, invisible characters: stay escaped
    # (every character beyond the BMP is written as itself: amazon.ion's C reader
    # rejects \U escapes of unassigned ones)
    return match.group(1) + char


def readable(text: str) -> str:
    """Ion text with the non-ASCII escapes of amazon.ion's pretty printer
    turned back into the characters (UTF-8 when written), except controls."""
    return _ESCAPE.sub(_readable_char, text)


# Binary Ion of a document that holds this many value bytes inline (at the
# top level of its data set: pixel data, mostly) is written by ``dump_large``:
# amazon.ion's C writer builds the output in a buffer and then copies it into
# a bytes object (three times the values in memory), its pure-Python writer
# copies each value once; ``dump_large`` passes the large blobs through.
LARGE_INLINE = 1 << 20
_NOT_LARGE = frozenset((str, int, float, list, type(None)))


def inline_bytes(document) -> int:
    """Bytes held inline by the top-level values of ``dataSet`` (blobs, and
    the fragments of encapsulated pixel data)."""
    data_set = document.get("dataSet") if hasattr(document, "get") else None
    if not hasattr(data_set, "values"):
        return 0
    lists = multimap.store(data_set)    # (a loaded IonPyDict: its values at C speed)
    values = (data_set.values() if lists is None
              else [value for values in lists.values() for value in values])
    total = 0
    for value in values:
        if type(value) in _NOT_LARGE:
            continue
        if isinstance(value, (bytes, bytearray)):
            total += len(value)
        elif hasattr(value, "get") and not isinstance(value, str):
            fragments = value.get("fragments")
            if isinstance(fragments, list):
                for fragment in fragments:
                    data = fragment.get("data") if hasattr(fragment, "get") else None
                    if isinstance(data, (bytes, bytearray)):
                        total += len(data)
    return total


def dump(document, fp: BinaryIO, *, binary: bool = True, pretty: bool = False) -> None:
    """Write a document; pretty text is for people (slower, pure Python) and
    keeps non-ASCII text readable. Binary Ion holding large values inline
    goes through ``dump_large`` (see LARGE_INLINE)."""
    if binary:
        if inline_bytes(document) >= LARGE_INLINE:
            dump_large.dump(document, fp)
        elif _C_WRITER:
            simpleion.dump_extension(writable(document), fp, binary=True)
        else:
            simpleion.dump(document, fp, binary=True)
        return
    if not pretty and _C_WRITER:
        simpleion.dump_extension(writable(document), fp, binary=False)
        fp.write(b"\n")
        return
    text = simpleion.dumps(document, binary=False, indent="  " if pretty else None)
    if pretty:
        text = readable(text)
    fp.write(text.encode("utf-8"))
    fp.write(b"\n")


def dumps(document, *, binary: bool = True, pretty: bool = False) -> bytes:
    buffer = io.BytesIO()
    dump(document, buffer, binary=binary, pretty=pretty)
    return buffer.getvalue()


def loads(data: Union[bytes, str], *, source: str = "") -> object:
    """Load one Ion document from bytes (binary or text). Empty values are
    ``None`` (``Null`` when annotated), as ``convert`` gives them. Binary
    Ion of ``LARGE_INLINE`` bytes or more is walked (see ``load_path``)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if data[:4] == _BVM and len(data) >= LARGE_INLINE:
        document = _walked(io.BytesIO(data), source)
        if document is not None:
            return document
    try:
        if data[:4] == _BVM:
            check_symbol_tables(io.BytesIO(data))
            return normalise(simpleion.loads(data, single_value=True, value_model=_BARE))
        _check_utf8(data)
        try:
            return normalise(simpleion.load(io.BytesIO(data), single_value=True,
                                            text_buffer_size_limit=TEXT_BUFFER_LIMIT,
                                            value_model=_BARE))
        except Exception as exc:
            if "INVALID_UTF8" not in str(exc):
                raise
            # amazon.ion's C text reader rejects \U escapes of characters beyond
            # the BMP (which its own pretty writer emits): read with the pure-Python one
            try:
                stream = io.StringIO(data.decode("utf-8"))
            except UnicodeDecodeError:
                stream = io.BytesIO(data)
            return normalise(simpleion.load_python(stream, single_value=True))
    except Exception as exc:  # amazon.ion raises many kinds
        raise _unreadable(exc, source) from None


def _check_utf8(data: bytes, chunk: int = 1 << 20) -> None:
    """Text Ion is UTF-8: refuse other bytes before amazon.ion's C text
    reader sees them (0.15 crashes the process on a symbol, such as a
    quoted field name, that is not UTF-8). Checked a chunk at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for start in range(0, len(data), chunk):
        try:
            decoder.decode(view[start:start + chunk], start + chunk >= len(data))
        except UnicodeDecodeError as exc:
            where = start + exc.start if exc.start < chunk else start
            raise IonDocumentError(f"text Ion that is not UTF-8 (byte {where})") from None


def _unreadable(exc: Exception, source: str) -> IonDocumentError:
    hint = ""
    if "BUFFER_TOO_SMALL" in str(exc) or "LOOKAHEAD" in str(exc):
        hint = f" (a text value is longer than {TEXT_BUFFER_LIMIT} bytes; use binary Ion)"
    return IonDocumentError(f"not a readable Ion document: {exc}{hint}", source=source)


def _walked(fp, source: str):
    """The document loaded by ``load_large``, or None where it does not
    handle the stream (amazon.ion then loads it whole)."""
    try:
        return load_large.load(fp)
    except Unsupported:
        return None
    except IonDocumentError as exc:
        raise IonDocumentError(f"not a readable Ion document: {exc.message}",
                               source=source) from None


def load_path(path) -> object:
    """Load one Ion document from a file. Binary Ion is read from the file
    itself, not from a copy of its bytes; one of ``LARGE_INLINE`` bytes or
    more is walked (``load_large``), its large blobs read once each (peak
    memory about the file's size instead of twice)."""
    with open(path, "rb") as fp:
        if fp.read(4) == _BVM:
            if fp.seek(0, 2) >= LARGE_INLINE:
                document = _walked(fp, str(path))
                if document is not None:
                    return document
            fp.seek(0)
            try:
                check_symbol_tables(fp)
                return normalise(simpleion.load(fp, single_value=True, value_model=_BARE))
            except Exception as exc:  # amazon.ion raises many kinds
                raise _unreadable(exc, str(path)) from None
        fp.seek(0)
        return loads(fp.read(), source=str(path))
