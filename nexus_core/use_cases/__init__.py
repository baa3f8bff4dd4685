"""One function per action the product offers; each runs as one unit of work."""
