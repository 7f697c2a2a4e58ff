"""P10 bytes <-> events. Knows nothing of Ion."""

from .reader import P10Reader
from .source import aiter_events, iter_events
from .writer import P10Writer, write_events

__all__ = ["P10Reader", "P10Writer", "iter_events", "aiter_events", "write_events"]
