"""Contact file readers: CSV, XLSX and vCard uploads turned into numbered rows of text, lazily.

``StreamingContactFileReader`` implements the core's ``ContactFileReader`` port: it sniffs the
file type, then hands back the header and an iterator over the data rows that reads the upload
as it goes, so a file is never held whole in memory.
"""

from nexus_adapters.files.reader import StreamingContactFileReader

__all__ = ["StreamingContactFileReader"]
