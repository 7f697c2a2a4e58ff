"""dicom2ion: lossless, streaming conversion of DICOM Part 10 files to Amazon Ion and back."""

from ._version import __version__
from .errors import (
    BulkDataError, Dicom2IonError, DicomParseError, DictionaryError, IonDocumentError, WriteError,
)
from .convert import (
    convert, convert_async, convert_to, load, dump, to_dicom, to_dicom_bytes,
)
from .dataset import BulkValue, Dataset, read  # noqa: E402
from .dicom_json import from_dicom_json, to_dicom_json  # noqa: E402

__all__ = [
    "__version__", "convert", "convert_async", "convert_to", "load", "dump", "to_dicom",
    "to_dicom_bytes", "read", "Dataset", "BulkValue", "to_dicom_json", "from_dicom_json",
    "Dicom2IonError", "DicomParseError", "IonDocumentError", "BulkDataError", "WriteError",
    "DictionaryError",
]
