"""P10 bytes <-> events. Knows nothing of Ion."""

from .._lazy import lazy_names

# the modules are imported when a name is first used: importing one of
# them (dicom2ion.p10.reader, say) does not import the others
_LAZY = {"P10Reader": "reader", "iter_events": "source", "aiter_events": "source",
         "P10Writer": "writer", "write_events": "writer"}

__getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY)
del lazy_names

__all__ = ["P10Reader", "P10Writer", "iter_events", "aiter_events", "write_events"]
