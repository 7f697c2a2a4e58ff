"""A document's values in the types amazon.ion's C writer takes fastest.

For every value it writes, amazon.ion's C writer (``ionc_write``, 0.15)
asks ``hasattr(value, "ion_type")`` and ``hasattr(value, "ion_annotations")``.
A plain ``str``, ``int``, ``list`` or ``dict`` has neither, so each value
raises and clears two AttributeErrors inside the writer: about 2 µs a value,
most of the time of writing a document. ``writable`` gives the same tree with
those values as subclasses that carry both attributes on the class (a
string of 500 plain ``str`` is written in about 1 ms, of these in about
0.1 ms). The bytes written are the same.

Only for ``ionc_write``: amazon.ion's pure-Python writer does not know these
types.
"""

from __future__ import annotations

from amazon.ion.core import IonType
from amazon.ion.simple_types import IonPyDict, IonPyList

# bytes up to this size are copied into a _Blob; larger ones are written as
# they are (the two lookups cost nothing next to the copy)
_COPY_BYTES = 4096


def _typed(base: type, ion_type: IonType, name: str) -> type:
    """A subclass of ``base`` with the writer's two attributes on the class."""
    return type(name, (base,), {"__slots__": (), "ion_type": ion_type, "ion_annotations": (),
                                "__module__": __name__})


_Str = _typed(str, IonType.STRING, "_Str")
_Int = _typed(int, IonType.INT, "_Int")
_Float = _typed(float, IonType.FLOAT, "_Float")
_Blob = _typed(bytes, IonType.BLOB, "_Blob")
_List = _typed(list, IonType.LIST, "_List")
_Struct = _typed(dict, IonType.STRUCT, "_Struct")


def _struct(value: dict) -> _Struct:
    out = {}
    for name, item in value.items():
        kind = type(item)
        if kind is str:
            out[name] = _Str(item)
        elif kind is int:
            out[name] = _Int(item)
        elif item is None:
            out[name] = None
        else:
            convert = _CONVERT.get(kind)
            out[name] = item if convert is None else convert(item)
    return _Struct(out)


def _list(value: list) -> _List:
    out = []
    append = out.append
    for item in value:
        kind = type(item)
        if kind is str:
            append(_Str(item))
        elif kind is int:
            append(_Int(item))
        else:
            convert = _CONVERT.get(kind)
            append(item if convert is None else convert(item))
    return _List(out)


def _ion_py_dict(value: IonPyDict):
    store = getattr(value, "_IonPyDict__store", None)
    if type(store) is not dict:       # another amazon.ion: leave it as it is
        return value
    return IonPyDict._factory(None, {name: [_one(item) for item in items]
                                     for name, items in store.items()},
                              value.ion_annotations)


def _ion_py_list(value: IonPyList) -> IonPyList:
    return IonPyList.from_value(value.ion_type, _list(value), value.ion_annotations)


def _blob(value: bytes):
    return _Blob(value) if len(value) <= _COPY_BYTES else value


_CONVERT = {
    str: _Str, int: _Int, float: _Float, bytes: _blob, dict: _struct, list: _list,
    IonPyDict: _ion_py_dict, IonPyList: _ion_py_list,
}


def _one(value):
    convert = _CONVERT.get(type(value))
    return value if convert is None else convert(value)


def writable(document):
    """``document`` with its plain values as the C writer's fast types
    (a new tree; the document itself is not changed)."""
    return _one(document)
