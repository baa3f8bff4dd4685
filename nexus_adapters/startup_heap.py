"""Keep what a process builds at start-up out of the garbage collector's full passes.

A server process holds some 130,000 objects once its application is built (routes and
schemas, tables and compiled statements, phone-number metadata, …), all of them for its
whole life, and every full pass of the cyclic collector walked them: 60–90 ms with the
interpreter stopped, several times a minute under load. A pass that came while the process
held SQLite's turn to write stalled the writers of every process. ``gc.freeze()`` moves the
objects that exist now to a generation the collector never scans; those made later are
collected as usual.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Call once the process is built, before it serves: what is garbage by then is
    collected first, the rest is never scanned again."""
    gc.collect()
    gc.freeze()
