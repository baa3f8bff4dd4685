"""One controller per resource; each handler parses, calls one use case, shapes the answer."""
