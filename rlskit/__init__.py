"""rlskit: SQL-first schema migrations for PostgreSQL Row-Level Security."""

__version__ = "0.1.0"
