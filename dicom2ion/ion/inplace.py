"""Large byte strings filled in place: one copy of a value's bytes in memory
instead of two.

A ``bytes`` object (or an instance of a subclass such as amazon.ion's
``IonPyBytes``) can only be made from bytes that already exist, so reading
a 200 MB blob into one holds it twice for a moment. Here a fresh, zeroed
object of the final length is made first and then written through a
writable view of its own storage (CPython's layout: the bytes follow the
object header) before anything else sees it -- the way CPython's own C code
fills new bytes objects. Where that layout cannot be checked (another
Python implementation), ``allocate`` returns None and callers copy as
before.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Optional, Tuple

# Shorter values are copied: cheap, and the 0- and 1-byte bytes objects are
# shared singletons that must never be written.
MIN_SIZE = 1 << 16

_OFFSET = bytes.__basicsize__ - 1      # offsetof(PyBytesObject, ob_sval)


def _view(obj: bytes, size: int) -> memoryview:
    return memoryview((ctypes.c_char * size).from_address(id(obj) + _OFFSET)).cast("B")


def _layout_holds() -> bool:
    """Whether writing through ``_view`` changes the object's value (checked
    once, on bytes and on a subclass, with objects made here)."""
    if sys.implementation.name != "cpython":
        return False
    try:
        class _Sub(bytes):
            pass
        for cls in (bytes, _Sub):
            probe = cls(64)
            _view(probe, 64)[:] = bytes(range(64))
            if probe != bytes(range(64)) or len(probe) != 64:
                return False
    except Exception:  # pragma: no cover - any failure: copy instead
        return False
    return True


_SUPPORTED = _layout_holds()


def allocate(cls, size: int) -> Optional[Tuple[bytes, memoryview]]:
    """A new zeroed ``cls`` (``bytes`` or a subclass) of ``size`` bytes and a
    writable view of its storage; None when the value is short or the layout
    is unknown. Fill the view before the object is hashed or shared, then
    release it (the view does not keep the object alive)."""
    if not _SUPPORTED or size < MIN_SIZE:
        return None
    obj = cls(size)           # (bytes(n) takes zeroed pages the kernel maps on first write)
    return obj, _view(obj, size)


class Filling:
    """A value arriving in chunks, written straight into its final object
    (from ``allocate``); ``extend`` (or ``append``) takes each chunk."""

    __slots__ = ("value", "view", "size")

    def __init__(self, value: bytes, view: memoryview):
        self.value, self.view, self.size = value, view, 0

    def extend(self, data) -> None:
        end = self.size + len(data)
        if end > len(self.view):
            raise ValueError(f"{end} bytes for a value of {len(self.view)}")
        self.view[self.size:end] = data
        self.size = end

    append = extend

    def take(self) -> bytes:
        """The filled object; when fewer bytes came than its length (a cut
        input), a ``bytes`` copy of those that did."""
        value, view, size = self.value, self.view, self.size
        self.value = self.view = None
        if size != len(view):
            value = bytes(view[:size])
        view.release()
        return value


def filling(cls, size: int) -> Optional[Filling]:
    """A ``Filling`` for a value of ``size`` bytes, or None (see ``allocate``)."""
    made = allocate(cls, size)
    return Filling(*made) if made is not None else None
