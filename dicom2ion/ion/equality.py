"""Ion data-model equality in time linear in the values' size.

amazon.ion's ``ion_equals`` compares each struct both ways, so two nested
structs at every level cost two comparisons of the level below: 2**depth for
a deeply nested document (a damaged file nested 64 levels deep never
finishes). ``ion_same`` gives the same answer, comparing containers one way
and leaving scalars (precision of decimals, timestamps, annotations) to
``ion_equals``.
"""

from __future__ import annotations

from collections.abc import Mapping

from amazon.ion.equivalence import ion_equals


def _annotations(value) -> tuple:
    return tuple(getattr(value, "ion_annotations", ()) or ())


def _values(struct, key) -> list:
    getter = getattr(struct, "get_all_values", None)
    return list(getter(key)) if getter is not None else [struct[key]]


def _same_type(x, y) -> bool:
    """list and sexp differ; a plain Python list matches either."""
    tx, ty = getattr(x, "ion_type", None), getattr(y, "ion_type", None)
    return tx is None or ty is None or tx == ty


def ion_same(a, b) -> bool:
    """Whether ``a`` and ``b`` are equal Ion values (as ``ion_equals``)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, Mapping):
            if (not isinstance(y, Mapping) or len(x) != len(y)
                    or _annotations(x) != _annotations(y)):
                return False
            keys = set(x.keys())
            if keys != set(y.keys()):
                return False
            for key in keys:
                xs, ys = _values(x, key), _values(y, key)
                if len(xs) != len(ys):
                    return False
                if len(xs) == 1:
                    stack.append((xs[0], ys[0]))
                elif not _same_multiset(xs, ys):
                    return False
        elif isinstance(x, (list, tuple)):
            if (not isinstance(y, (list, tuple)) or len(x) != len(y)
                    or not _same_type(x, y) or _annotations(x) != _annotations(y)):
                return False
            stack.extend(zip(x, y))
        elif isinstance(y, (Mapping, list, tuple)) or not ion_equals(x, y):
            return False
    return True


def _same_multiset(xs: list, ys: list) -> bool:
    """Repeated fields of a struct: each value matches a different one."""
    left = list(ys)
    for x in xs:
        for i, y in enumerate(left):
            if ion_same(x, y):
                del left[i]
                break
        else:
            return False
    return True
