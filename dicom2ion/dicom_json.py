"""DICOM JSON (PS3.18 Annex F), both ways.

``to_dicom_json(source)`` gives the JSON model of a P10 file or an Ion
document (through the dataset view, so from the same reader events):
``{"GGGGEEEE": {"vr": ..., "Value": [...]}}``, the file meta group
included; numbers (IS DS US SS UL SL FL FD SV UV) as JSON numbers, PN as
``{"Alphabetic", "Ideographic", "Phonetic"}``, AT as ``"GGGGEEEE"``, empty
values without ``Value`` and empty components of a multi-valued string as
``null``. Binary values (OB OD OF OL OV OW UN) are ``InlineBinary`` (base64,
little endian) when the document holds them inline, else a ``BulkDataURI``:
the file in the bulk folder (``file:///.../ab/abcd...``) when there is one,
else the source file with ``?offset=N&length=M``. ``inline_all=True`` inlines
every value. Referenced text and number values are read and given as values.

``from_dicom_json(obj)`` builds a P10 file from such a model through the
canonical writer (explicit VR little endian for native data); an
encapsulated PixelData in ``InlineBinary`` is split into its items.
``BulkDataURI`` values are read from ``file:`` URIs (with the
``offset``/``length`` query this module writes) or by ``bulk_loader(uri)``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import urllib.parse
from typing import Callable, Optional

from . import storage
from .dataset import BulkValue, Dataset, read
from .errors import Dicom2IonError, IonDocumentError
from .frames import Encapsulated
from .ion.null import null
from .ion.visitor import annotate
from .p10.vr import NUMBER_FORMATS, SWAP_SIZE, TEXT_VRS, swap_bytes
from .typed import SINGLE_TEXT_VRS, numbers

NUMBER_TEXT_VRS = frozenset(("IS", "DS"))
BINARY_NUMBER_VRS = frozenset(NUMBER_FORMATS)
BINARY_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN"))
_ITEM = struct.Struct("<HHL")


# -- to DICOM JSON ------------------------------------------------------------------

def to_dicom_json(source, *, inline_all: bool = False, bulk_dir=None, source_file=None,
                  **read_options) -> dict:
    """The DICOM JSON model (a dict ready for ``json.dumps``) of a P10 file or
    an Ion document (path, bytes or file object)."""
    options = dict(read_options)
    if inline_all:
        options["inline_all"] = True
    ds = read(source, bulk_dir=bulk_dir, source_file=source_file, **options)
    try:
        dirs = [bulk_dir] if isinstance(bulk_dir, (str, os.PathLike)) else list(bulk_dir or ())
        return _Encoder(inline_all, dirs).data_set(ds)
    finally:
        ds.close()


class _Encoder:
    def __init__(self, inline_all: bool, bulk_dirs: list):
        self.inline_all = inline_all
        self.bulk_dirs = [os.fspath(d) for d in bulk_dirs]

    def data_set(self, ds: Dataset) -> dict:
        out = {}
        for element in ds:
            key = "%08X" % element.tag
            if key in out:          # a repeated tag: JSON keeps the first
                continue
            out[key] = self.element(ds, element)
        return out

    def element(self, ds: Dataset, element) -> dict:
        vr = element.vr
        value = element.value
        if vr == "UN" and (value is None or not isinstance(value, (bytes, bytearray, BulkValue,
                                                                      list))
                           or (isinstance(value, list) and value
                               and not isinstance(value[0], Dataset))):
            # UN bytes the view decoded with the dictionary's VR: that VR
            vr = ds.known_vr(element.tag) or vr
        entry: dict = {"vr": vr}
        if value is None and vr != "SQ":
            return entry
        if vr == "SQ" or (isinstance(value, list) and value and isinstance(value[0], Dataset)):
            entry["vr"] = "SQ"
            entry["Value"] = [self.data_set(item) for item in value or ()]
            return entry
        if isinstance(value, Encapsulated):
            return self._binary(entry, ds, element, _encapsulated_bytes(value), None)
        if isinstance(value, BulkValue):
            if vr in BINARY_VRS:
                return self._binary(entry, ds, element, None, value)
            # a referenced text or number value: read it and give its values
            value = ds._decode_un(vr, int(element.tag), value.read())
            if value is None:
                return entry
        if vr in BINARY_VRS:
            return self._binary(entry, ds, element, value, None)
        values = value if isinstance(value, list) else [value]
        if vr in BINARY_NUMBER_VRS and isinstance(value, (bytes, bytearray)):
            values = numbers(vr, bytes(value))
            if isinstance(values, bytes):
                entry["InlineBinary"] = base64.b64encode(values).decode("ascii")
                return entry
        entry["Value"] = [self.scalar(vr, v) for v in values]
        return entry

    @staticmethod
    def scalar(vr: str, value):
        if value is None:
            return None
        if vr == "PN":
            groups = str(value).split("=")
            names = ("Alphabetic", "Ideographic", "Phonetic")
            out = {name: text for name, text in zip(names, groups) if text}
            return out or None
        if vr == "AT":
            return "%08X" % value
        if vr in NUMBER_TEXT_VRS or vr in BINARY_NUMBER_VRS:
            if isinstance(value, (int, float)):
                return value
            return str(value)        # a DS/IS value that is not a number stays text
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        return str(value)

    def _binary(self, entry: dict, ds: Dataset, element, data: Optional[bytes],
                bulk: Optional[BulkValue]) -> dict:
        if data is None and bulk is not None:
            uri = None if self.inline_all else self._uri(ds, bulk)
            if uri is not None:
                entry["BulkDataURI"] = uri
                return entry
            data = bulk.read()
            unit = SWAP_SIZE.get(element.vr)
            if unit and not ds._context.little_endian:
                data = swap_bytes(data, unit)      # InlineBinary is little endian
        entry["InlineBinary"] = base64.b64encode(bytes(data)).decode("ascii")
        return entry

    def _uri(self, ds: Dataset, bulk: BulkValue) -> Optional[str]:
        for folder in self.bulk_dirs:
            name = os.path.join(folder, bulk.sha256[:2], bulk.sha256)
            if os.path.exists(name):
                return storage.file_uri(name)
        context = ds._context
        if context.source is None or context.deflate_offset is not None:
            return None          # no file offsets to point at: inline it
        if not context.little_endian and SWAP_SIZE.get(bulk.vr):
            return None          # the file's bytes are big endian: inline it swapped
        path = storage.file_uri(context.source)
        return f"{path}?offset={bulk.offset}&length={bulk.length}"


def _encapsulated_bytes(pixel: Encapsulated) -> bytes:
    """The item sequence of encapsulated pixel data, without its delimiter
    (as DICOM JSON's InlineBinary holds it)."""
    table = b"".join(struct.pack("<L", x) for x in pixel.basic_offset_table)
    parts = [_ITEM.pack(0xFFFE, 0xE000, len(table)), table]
    for index in range(len(pixel)):
        data = pixel.fragment(index)
        parts.append(_ITEM.pack(0xFFFE, 0xE000, len(data)))
        parts.append(data)
    return b"".join(parts)


# -- from DICOM JSON ----------------------------------------------------------------

def from_dicom_json(model, out=None, *, bulk_loader: Optional[Callable[[str], bytes]] = None,
                    transfer_syntax: Optional[str] = None):
    """P10 bytes (or, with ``out``, a file written atomically) from a DICOM
    JSON model (a dict, or JSON text or bytes), through the canonical writer."""
    import json
    from .convert import to_dicom, to_dicom_bytes
    if isinstance(model, (str, bytes, bytearray)):
        try:
            model = json.loads(model)
        except ValueError as exc:
            raise IonDocumentError(f"not DICOM JSON: {exc}") from None
    if not isinstance(model, dict):
        raise IonDocumentError("a DICOM JSON model is a JSON object")
    loader = bulk_loader or _load_uri
    syntax = _transfer_syntax(model)
    document = {"schemaVersion": "1.0",
                "dataSet": _Decoder(loader, syntax).data_set(model, "")}
    options = {"canonical": True, "transfer_syntax": transfer_syntax}
    if out is None:
        return to_dicom_bytes(document, **options)
    return to_dicom(document, out, **options)


def _transfer_syntax(model: dict) -> Optional[str]:
    entry = model.get("00020010")
    values = entry.get("Value") if isinstance(entry, dict) else None
    return str(values[0]).rstrip("\0 ") if values else None


_NATIVE = frozenset(("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                     "1.2.840.10008.1.2.1.99"))


def _load_uri(uri: str) -> bytes:
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "file":
        raise Dicom2IonError(f"BulkDataURI {uri}: only file: URIs can be read here "
                             "(pass bulk_loader= for others)")
    path = storage.file_path(uri)
    query = urllib.parse.parse_qs(parsed.query)
    try:
        with open(path, "rb") as fp:
            if "offset" in query:
                fp.seek(int(query["offset"][0]))
            length = int(query["length"][0]) if "length" in query else -1
            data = fp.read(length)
    except OSError as exc:
        raise Dicom2IonError(f"BulkDataURI {uri}: {exc}") from None
    if length >= 0 and len(data) != length:
        raise Dicom2IonError(f"BulkDataURI {uri}: file ends after {len(data)} bytes")
    return data


def _ds_text(value) -> str:
    if isinstance(value, bool):
        raise TypeError("a DS value must be a number")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if len(text) > 16:
            text = f"{value:.10g}"
        return text
    return str(value)


class _Decoder:
    def __init__(self, loader, syntax: Optional[str]):
        self.loader = loader
        self.encapsulated = syntax is not None and syntax not in _NATIVE

    def data_set(self, model: dict, path: str) -> dict:
        out = {}
        for key, entry in model.items():
            where = f"{path}{key}"
            if not isinstance(entry, dict) or "vr" not in entry:
                raise IonDocumentError("an attribute needs an object with 'vr'", where)
            try:
                tag = int(key, 16)
            except ValueError:
                raise IonDocumentError("attribute keys are 8 hex digits", where) from None
            name = "%08X" % tag
            out[name] = self.element(tag, str(entry["vr"]), entry, where)
        return out

    def element(self, tag: int, vr: str, entry: dict, where: str):
        if "InlineBinary" in entry or "BulkDataURI" in entry:
            if "InlineBinary" in entry:
                data = base64.b64decode(entry["InlineBinary"])
            else:
                data = self.loader(str(entry["BulkDataURI"]))
            if tag == 0x7FE00010 and self.encapsulated and data[:4] == b"\xfe\xff\x00\xe0":
                return annotate(_fragments(data, where), vr)
            return annotate(data, vr)
        values = entry.get("Value")
        if values is None or values == []:
            return annotate([], "SQ") if vr == "SQ" else null((vr,))
        if not isinstance(values, list):
            raise IonDocumentError("'Value' must be an array", where)
        if vr == "SQ":
            return annotate([self.data_set(item or {}, f"{where}[{i}].")
                             for i, item in enumerate(values)], "SQ")
        if vr == "PN":
            parts = []
            for v in values:
                if isinstance(v, dict):
                    groups = [v.get("Alphabetic", ""), v.get("Ideographic", ""),
                              v.get("Phonetic", "")]
                    parts.append("=".join(groups).rstrip("="))
                else:
                    parts.append("" if v is None else str(v))
            return annotate("\\".join(parts), vr)
        if vr in BINARY_NUMBER_VRS:
            fmt = NUMBER_FORMATS[vr][0]
            try:
                if len(values) == 1:
                    number = values[0]
                    return annotate(float(number) if vr in ("FL", "FD") else int(number), vr)
                return annotate(struct.pack("<%d%s" % (len(values), fmt), *values), vr)
            except (TypeError, ValueError, struct.error) as exc:
                raise IonDocumentError(f"value does not fit VR {vr}: {exc}", where) from None
        if vr == "AT":
            return annotate("\\".join(str(v) for v in values), vr)
        if vr in TEXT_VRS:
            if vr == "DS":
                texts = ["" if v is None else _ds_text(v) for v in values]
            else:
                texts = ["" if v is None else str(v) for v in values]
            if vr in SINGLE_TEXT_VRS and len(texts) > 1:
                raise IonDocumentError(f"VR {vr} holds one value", where)
            return annotate("\\".join(texts), vr)
        raise IonDocumentError(f"VR {vr} cannot have a 'Value'", where)


def _fragments(data: bytes, where: str) -> dict:
    """An encapsulated pixel data struct (for the writer) from its item bytes."""
    pos = 0
    items = []
    while pos + 8 <= len(data):
        group, element, length = _ITEM.unpack_from(data, pos)
        if (group, element) == (0xFFFE, 0xE0DD):
            break
        if (group, element) != (0xFFFE, 0xE000) or pos + 8 + length > len(data):
            raise IonDocumentError("encapsulated pixel data: broken item", where)
        items.append(data[pos + 8:pos + 8 + length])
        pos += 8 + length
    if not items:
        raise IonDocumentError("encapsulated pixel data without items", where)
    table = items[0]
    fragments = [{"position": 0, "length": len(f), "sha256": hashlib.sha256(f).hexdigest(),
                  "data": f} for f in items[1:]]
    bot = (list(struct.unpack("<%dL" % (len(table) // 4), table)) if not len(table) % 4
           else table)
    return {"dataOffset": 0, "length": 0, "sha256": "", "encapsulatedPixelData": True,
            "basicOffsetTable": bot, "fragments": fragments}


def write_dicom_json(source, out, *, indent: Optional[int] = None, **options) -> dict:
    """Write the DICOM JSON of ``source`` to ``out`` (a path, written
    atomically, or a binary stream); returns the model."""
    import json
    from .outputs import atomic_output
    model = to_dicom_json(source, **options)
    data = json.dumps(model, indent=indent, ensure_ascii=False).encode("utf-8")
    if isinstance(out, (str, os.PathLike)):
        with atomic_output(out) as fp:
            fp.write(data)
    else:
        out.write(data)
    return model
