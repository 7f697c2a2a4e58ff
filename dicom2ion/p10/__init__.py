"""P10 bytes <-> events. Knows nothing of Ion."""

# the modules are imported when a name is first used: importing one of
# them (dicom2ion.p10.reader, say) does not import the others
_LAZY = {"P10Reader": "reader", "iter_events": "source", "aiter_events": "source",
         "P10Writer": "writer", "write_events": "writer"}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dicom2ion.p10' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["P10Reader", "P10Writer", "iter_events", "aiter_events", "write_events"]
