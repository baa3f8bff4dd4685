"""Cross-cutting request handling: request log, CSRF origin rule, content type, headers."""
