"""dicom2ion: lossless, streaming conversion of DICOM Part 10 files to Amazon Ion and back."""

from ._lazy import lazy_names
from ._version import __version__
from .errors import (
    BulkDataError, Dicom2IonError, DicomParseError, DictionaryError, IonDocumentError, WriteError,
)
from .convert import (
    convert, convert_async, convert_to, load, dump, to_dicom, to_dicom_bytes,
)

# the dataset view and DICOM JSON are imported when first used (the CLI's
# start-up does not pay for them)
_LAZY = {"read": "dataset", "Dataset": "dataset", "BulkValue": "dataset",
         "to_dicom_json": "dicom_json", "from_dicom_json": "dicom_json"}

__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY)
del lazy_names

__all__ = [
    "__version__", "convert", "convert_async", "convert_to", "load", "dump", "to_dicom",
    "to_dicom_bytes", "read", "Dataset", "BulkValue", "to_dicom_json", "from_dicom_json",
    "Dicom2IonError", "DicomParseError", "IonDocumentError", "BulkDataError", "WriteError",
    "DictionaryError",
]
