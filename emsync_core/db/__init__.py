"""SQLAlchemy models, sessions, migrations and queries (SQLite embedded, PostgreSQL in production)."""
