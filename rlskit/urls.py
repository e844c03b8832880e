"""Database URL helpers: normalise the driver and never show a password."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_PASSWORD = re.compile(r"^(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*):(?P<pw>[^@]*)@")


def mask_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    return _PASSWORD.sub(lambda m: f"{m.group('head')}:***@", url, count=1)


def sqlalchemy_url(url: str) -> str:
    """Turn ``postgres://`` / ``postgresql://`` into the psycopg 3 dialect URL."""
    scheme = urlsplit(url).scheme
    if scheme in ("postgres", "postgresql"):
        return "postgresql+psycopg" + url[len(scheme) :]
    return url


def libpq_url(url: str) -> str:
    """Turn a SQLAlchemy URL into one that libpq (psql, psycopg) accepts."""
    scheme = urlsplit(url).scheme
    if scheme.startswith("postgresql+"):
        return "postgresql" + url[len(scheme) :]
    return url
