"""The one empty value: ``None``, or ``Null`` when the null carries a VR.

amazon.ion's ``IonPyNull`` compares by identity, so two loads of one
document (or a load and the ``convert`` that made it) were never equal.
Unannotated nulls are plain ``None`` on every path; an annotated null
(``UN::null``) is a ``Null``, equal to any Ion null of the same type and
annotations.
"""

from __future__ import annotations

from amazon.ion.core import IonType
from amazon.ion.simple_types import (
    IonPyBool, IonPyBytes, IonPyDecimal, IonPyDict, IonPyFloat, IonPyInt, IonPyNull, IonPyText,
    IonPyTimestamp,
)

from . import multimap


def _texts(annotations) -> tuple:
    return tuple(getattr(a, "text", a) for a in annotations or ())


class Null(IonPyNull):
    """An annotated Ion null with value equality."""

    __slots__ = ()

    def __eq__(self, other):
        if other is None:
            return not self.ion_annotations
        if isinstance(other, IonPyNull):
            return (self.ion_type == other.ion_type
                    and _texts(self.ion_annotations) == _texts(other.ion_annotations))
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash((Null, self.ion_type, _texts(self.ion_annotations)))

    def __repr__(self):
        anns = "".join(f"{a}::" for a in _texts(self.ion_annotations))
        return f"Null({anns}null)"


def null(annotations=(), ion_type: IonType = IonType.NULL):
    """``None`` without annotations, else a ``Null`` carrying them."""
    if not annotations:
        return None
    value = Null(ion_type, None, tuple(annotations))
    return value


def normalise(value):
    """Replace every ``IonPyNull`` in a loaded tree by ``None`` or ``Null``
    (in place for structs and lists); returns the (possibly new) value."""
    if type(value) is IonPyNull:
        return null(value.ion_annotations, value.ion_type)
    _walk(value)
    return value


def _walk(value) -> None:
    if isinstance(value, list):
        _fix_list(value)
    elif isinstance(value, IonPyDict):
        lists = multimap.store(value)
        if lists is None:
            all_values = value.get_all_values
            lists = [all_values(key) for key in value]
        else:
            lists = lists.values()
        for items in lists:                        # the multimap's own lists
            if len(items) == 1 and type(items[0]) in _SCALARS:
                continue                           # (the common field: nothing to fix)
            _fix_list(items)
    elif isinstance(value, dict):
        for key, item in value.items():
            if type(item) is IonPyNull:
                value[key] = null(item.ion_annotations, item.ion_type)
            elif isinstance(item, _CONTAINERS):
                _walk(item)


def _fix_list(items: list) -> None:
    for i, item in enumerate(items):
        if type(item) in _SCALARS:
            continue
        if type(item) is IonPyNull:
            items[i] = null(item.ion_annotations, item.ion_type)
        elif isinstance(item, _CONTAINERS):
            _walk(item)


_CONTAINERS = (list, dict, IonPyDict)
# nothing to fix inside (annotated scalars included: amazon.ion's IonPy types)
_SCALARS = frozenset((str, int, float, bytes, bool, IonPyText, IonPyInt, IonPyFloat, IonPyBytes,
                      IonPyBool, IonPyDecimal, IonPyTimestamp))
