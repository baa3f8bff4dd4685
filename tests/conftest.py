"""Loaded before any test module is collected, whichever directory is run.

Because this file belongs to the ``tests`` package, pytest (in its default "prepend" import
mode) puts the project root on ``sys.path`` to import it, so test modules anywhere can import
shared helpers such as ``tests.conformance``, however pytest is started (``pytest`` or
``python -m pytest``, as nox does either way).
"""
