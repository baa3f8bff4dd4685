"""SQLAlchemy Core persistence: tables, engines, repositories, unit of work, migrations."""
