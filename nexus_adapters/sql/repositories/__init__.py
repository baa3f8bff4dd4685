"""Repositories on SQLAlchemy Core: rows in, domain objects out."""
