"""Reading and writing Ion documents (binary or text) with amazon.ion."""

from __future__ import annotations

import io
from typing import BinaryIO, Union

from amazon.ion import simpleion

from ..errors import IonDocumentError
from .null import normalise

# Bare Python values where Ion allows (str, int, bytes, list, None for an
# unannotated null); annotated values keep amazon.ion's IonPy types.
_BARE = simpleion.IonPyValueModel.MAY_BE_BARE

# Text Ion read with the C extension needs a buffer that fits the longest
# value; binary Ion has no such limit.
TEXT_BUFFER_LIMIT = 256 << 20
_BVM = b"\xe0\x01\x00\xea"


def dump(document, fp: BinaryIO, *, binary: bool = True, pretty: bool = False) -> None:
    """Write a document; pretty text is for people (slower, pure Python)."""
    if binary:
        simpleion.dump(document, fp, binary=True)
        return
    text = simpleion.dumps(document, binary=False, indent="  " if pretty else None)
    fp.write(text.encode("utf-8"))
    fp.write(b"\n")


def dumps(document, *, binary: bool = True, pretty: bool = False) -> bytes:
    buffer = io.BytesIO()
    dump(document, buffer, binary=binary, pretty=pretty)
    return buffer.getvalue()


def loads(data: Union[bytes, str], *, source: str = "") -> object:
    """Load one Ion document from bytes (binary or text). Empty values are
    ``None`` (``Null`` when annotated), as ``convert`` gives them."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        if data[:4] == _BVM:
            return normalise(simpleion.loads(data, single_value=True, value_model=_BARE))
        try:
            return normalise(simpleion.load(io.BytesIO(data), single_value=True,
                                            text_buffer_size_limit=TEXT_BUFFER_LIMIT,
                                            value_model=_BARE))
        except Exception as exc:
            if "INVALID_UTF8" not in str(exc):
                raise
            # amazon.ion's C text reader rejects \U escapes of characters beyond
            # the BMP (which its own pretty writer emits): read with the pure-Python one
            return normalise(simpleion.load_python(io.BytesIO(data), single_value=True))
    except Exception as exc:  # amazon.ion raises many kinds
        hint = ""
        if "BUFFER_TOO_SMALL" in str(exc) or "LOOKAHEAD" in str(exc):
            hint = f" (a text value is longer than {TEXT_BUFFER_LIMIT} bytes; use binary Ion)"
        raise IonDocumentError(f"not a readable Ion document: {exc}{hint}", source=source) from None


def load_path(path) -> object:
    with open(path, "rb") as fp:
        return loads(fp.read(), source=str(path))
