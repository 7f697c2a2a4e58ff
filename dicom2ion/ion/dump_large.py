"""Writing binary Ion of a document that holds large blobs, each blob's
bytes passed to the file as they are (never copied).

amazon.ion's writers copy every value into their own buffers (the C writer
twice, the pure-Python one once). Here the document is written by the C
writer with each large blob replaced by a unique 16-byte marker; the small
result is then walked (``binary_walk``) and written out again with the
blobs in the markers' places, re-measuring the headers of the containers
(and annotation wrappers) around them. The output holds the same values,
symbol tables and field order as the C writer's for the whole document.
"""

from __future__ import annotations

import io
import os
from bisect import bisect_left
from collections.abc import Mapping

from amazon.ion import simpleion
from amazon.ion.simple_types import IonPyDict, IonPyList

from . import multimap
from .binary_walk import ANNOTATION, LIST, SEXP, STRUCT, Walker, header, value_span, var_uint

LARGE = 1 << 16          # blobs at least this long are passed through
_MARK = 16
_LOBS = (0x9, 0xA)       # clob, blob
_CONTAINERS = (LIST, SEXP, STRUCT)


def dump(document, fp, *, large: int = LARGE) -> None:
    """Write ``document`` as binary Ion to ``fp``."""
    blobs: dict = {}
    light = _lighten(document, blobs, large)
    data = simpleion.dumps(light, binary=True)
    del light
    if not blobs:
        fp.write(data)
        return
    marks = sorted(data.find(mark) for mark in blobs)
    if marks[0] < 0 or any(data.count(mark) != 1 for mark in blobs):
        # (a marker is random: never found twice but by an astronomic chance)
        simpleion.dump_python(document, fp, binary=True)
        return
    _Splicer(data, blobs, marks).write(fp)


def _lighten(value, blobs: dict, large: int):
    """``value`` with each blob of ``large`` bytes or more replaced by a new
    marker (``blobs``: marker -> blob); containers copied only on the way
    to one."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) < large:
            return value
        mark = os.urandom(_MARK)
        blobs[mark] = value
        if type(value) in (bytes, bytearray):
            return mark
        out = type(value)(mark)              # IonPyBytes: keeps its type and annotations
        out.ion_type = value.ion_type
        out.ion_annotations = value.ion_annotations
        return out
    if isinstance(value, (list, tuple)):
        items = [_lighten(item, blobs, large) for item in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        if type(value) is IonPyList:
            out = IonPyList(items)
            out.ion_type = value.ion_type
            out.ion_annotations = value.ion_annotations
            return out
        return items
    if isinstance(value, Mapping):
        pairs = multimap.pairs(value)
        lighter = [(name, _lighten(item, blobs, large)) for name, item in pairs]
        if all(a[1] is b[1] for a, b in zip(lighter, pairs)):
            return value
        if isinstance(value, IonPyDict):
            out = IonPyDict()
            out.ion_type = value.ion_type
            out.ion_annotations = value.ion_annotations
            for name, item in lighter:
                out.add_item(name, item)
            return out
        return dict(lighter)
    return value


class _Splicer:
    """Writes the C writer's output with each marker's blob in its place."""

    def __init__(self, data: bytes, blobs: dict, marks: list):
        self.data = data
        self.blobs = blobs
        self.marks = marks
        self.walker = Walker(io.BytesIO(data))

    def write(self, fp) -> None:
        walker = self.walker
        _, end = walker.document()
        top = walker.top
        if end != len(self.data):
            raise ValueError("amazon.ion wrote more than one top-level value")
        pieces, _ = self.value(top, end)
        fp.write(self.data[:top])           # version marker, local symbol table
        for piece in pieces:
            fp.write(piece)

    def holds_mark(self, start: int, end: int) -> bool:
        i = bisect_left(self.marks, start)
        return i < len(self.marks) and self.marks[i] < end

    def value(self, pos: int, end: int):
        """(pieces, length) of the value at ``pos``, blobs spliced in."""
        data = self.data
        if not self.holds_mark(pos, end):
            return [data[pos:end]], end - pos
        kind, body, vend = value_span(self.walker.window, pos)
        if kind in _LOBS and vend - body == _MARK:
            blob = self.blobs[data[body:vend]]
            head = header(kind, len(blob))
            return [head, blob], len(head) + len(blob)
        if kind == ANNOTATION:
            length, apos = var_uint(self.walker.window, body)
            inner, size = self.value(apos + length, vend)
            size += apos + length - body
            head = header(ANNOTATION, size)
            return [head, data[body:apos + length]] + inner, len(head) + size
        if kind in _CONTAINERS:
            walker = self.walker
            pieces, size = [], 0
            if kind == STRUCT:
                children = ((start, vpos, iend) for _, vpos, iend, (_, _, start)
                            in walker.fields(body, vend))
            else:
                children = ((item, item, iend) for item, iend, _, _ in walker.items(body, vend))
            for start, item, iend in children:
                pieces.append(data[start:item])             # a field's name
                inner, n = self.value(item, iend)
                pieces += inner
                size += item - start + n
            head = header(kind, size)
            return [head] + pieces, len(head) + size
        raise ValueError(f"a marker inside a value of type {kind:#x}")
