"""Reading amazon.ion's ``IonPyDict`` (the struct type of a loaded document)
at C speed.

An ``IonPyDict`` keeps its fields in a private dict, name -> [values] (the
values of a repeated name in one list). Its public iteration goes through
Python generators, one step per field; the document walks here read that
dict directly, and fall back to the public interface if a version of
amazon.ion keeps its fields otherwise.
"""

from __future__ import annotations

from typing import Optional


def store(struct_value) -> Optional[dict]:
    """The name -> [values] dict of an ``IonPyDict`` (its own lists, so
    changing one changes the struct), or None for any other mapping."""
    found = getattr(struct_value, "_IonPyDict__store", None)
    return found if type(found) is dict else None


def pairs(struct_value) -> list:
    """(name, value) pairs of a struct, repeated names included, in the
    order the struct's own iteration gives them."""
    lists = store(struct_value)
    if lists is not None:
        return [(name, value) for name, values in lists.items() for value in values]
    items = getattr(struct_value, "iteritems", None)
    if items is not None:
        return list(items())
    return list(struct_value.items())
