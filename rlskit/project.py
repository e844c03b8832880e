"""An rlskit project: where its files are and how it is configured.

A project is a folder with an ``alembic.ini`` whose ``[rlskit]`` section holds
rlskit's options. Pure: reads files only, never imports the database layers.
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from rlskit.errors import ProjectError

INI_NAME = "alembic.ini"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min)?\s*$")


def parse_duration(value: str | float | int, what: str) -> float:
    """Parse ``"5s"``, ``"500ms"``, ``"2min"`` or a number of seconds into seconds."""
    if isinstance(value, int | float):
        return float(value)
    m = _DURATION.match(value)
    if not m:
        raise ProjectError(f"{what} must be a duration like 5s, 500ms or 2min, not {value!r}.")
    n = float(m.group(1))
    unit = m.group(2) or "s"
    return n / 1000 if unit == "ms" else n * 60 if unit == "min" else n


def pg_duration(seconds: float) -> str:
    """Seconds as a PostgreSQL duration setting (``'5000ms'``)."""
    return f"{round(seconds * 1000)}ms"


@dataclass(frozen=True)
class Settings:
    """Run-time options; ``[rlskit]`` in alembic.ini, overridden by CLI flags."""

    lock_timeout: float = 5.0  # seconds a DDL statement may wait for a lock
    lock_retries: int = 3  # extra attempts after a lock timeout
    retry_backoff: float = 1.0  # seconds before the first retry; doubles each time
    migration_lock_wait: float = 300.0  # seconds to wait for another upgrade
    per_revision: bool = False  # commit each revision on its own
    version_table: str = "alembic_version"
    version_table_schema: str | None = "rlskit"  # bookkeeping lives here, no PUBLIC access
    embedded: bool = True  # fall back to the embedded server when no URL is given
    # SQL files applied to every scratch database before the migrations (a platform's
    # roles, schemas and extensions); never to a real database. Relative to the project.
    scratch_setup: tuple[str, ...] = ()
    # The role migrations run as in production (managed PostgreSQL: not a superuser).
    # Scratch databases create it with CREATEROLE CREATEDB, no SUPERUSER/BYPASSRLS,
    # owning the database, and run the migrations as it.
    migrate_as: str | None = None

    def with_overrides(self, **kw: object) -> Settings:
        """Copy with the options that are not None replaced."""
        return replace(self, **{k: v for k, v in kw.items() if v is not None})  # type: ignore[arg-type]


def _bool(value: str, key: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ProjectError(f"[rlskit] {key} must be true or false, not {value!r}.")


def settings_from_section(section: dict[str, str]) -> Settings:
    """Build :class:`Settings` from the ``[rlskit]`` section's strings."""
    s = Settings()
    kw: dict[str, object] = {}
    try:
        if "lock_timeout" in section:
            kw["lock_timeout"] = parse_duration(section["lock_timeout"], "lock_timeout")
        if "lock_retries" in section:
            kw["lock_retries"] = int(section["lock_retries"])
        if "retry_backoff" in section:
            kw["retry_backoff"] = parse_duration(section["retry_backoff"], "retry_backoff")
        if "migration_lock_wait" in section:
            kw["migration_lock_wait"] = parse_duration(
                section["migration_lock_wait"], "migration_lock_wait"
            )
    except ValueError as exc:
        raise ProjectError(f"[rlskit] in alembic.ini has a bad value: {exc}.") from exc
    if "per_revision" in section:
        kw["per_revision"] = _bool(section["per_revision"], "per_revision")
    if "embedded" in section:
        kw["embedded"] = _bool(section["embedded"], "embedded")
    if section.get("version_table"):
        kw["version_table"] = section["version_table"]
    if section.get("scratch_setup", "").strip():
        kw["scratch_setup"] = tuple(
            part for part in re.split(r"[\s,]+", section["scratch_setup"].strip()) if part
        )
    if section.get("migrate_as", "").strip():
        kw["migrate_as"] = section["migrate_as"].strip()
    if section.get("version_table_schema"):
        kw["version_table_schema"] = section["version_table_schema"]
    return replace(s, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Project:
    """Paths and options of one project."""

    root: Path
    ini: Path
    script_location: Path
    sql_dir: Path
    policies_dir: Path
    ini_url: str | None
    settings: Settings = field(default_factory=Settings)

    @property
    def scratch_setup_files(self) -> list[Path]:
        """The ``scratch_setup`` files, resolved against the project root."""
        out = []
        for name in self.settings.scratch_setup:
            path = (self.root / name).resolve()
            if not path.is_file():
                raise ProjectError(
                    f"[rlskit] scratch_setup names {name}, which does not exist in {self.root}.",
                    "Fix the path in alembic.ini (relative to the project folder).",
                )
            out.append(path)
        return out

    @property
    def embedded_home(self) -> Path:
        """Where the embedded server's cluster lives."""
        return self.root / ".rlskit" / "pg"

    def display(self, path: Path) -> str:
        """``path`` relative to the project root, for messages."""
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    @classmethod
    def load(cls, ini: Path) -> Project:
        """Read a project from its alembic.ini."""
        ini = ini.absolute()
        if not ini.is_file():
            raise ProjectError(
                f"{ini.parent} is not an rlskit project: there is no {ini.name}.",
                "Run `rlskit init` there to create one, or pass --project/-c to point at one.",
            )
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(ini, encoding="utf-8")
        except configparser.Error as exc:
            raise ProjectError(f"{ini} cannot be read: {exc}.") from exc
        if not parser.has_section("alembic") or not parser.get(
            "alembic", "script_location", fallback=""
        ):
            raise ProjectError(
                f"{ini} has no [alembic] script_location, so it is not a migration project.",
                "Run `rlskit init` in an empty folder to create one.",
            )
        root = ini.parent
        here = str(root)
        raw_loc = parser.get("alembic", "script_location").replace("%(here)s", here)
        script_location = (root / raw_loc).resolve()
        if not (script_location / "env.py").is_file():
            raise ProjectError(
                f"{ini} points to migrations in {script_location}, but there is no env.py there.",
                "Run `rlskit init` to scaffold the project, or fix script_location.",
            )
        section = dict(parser.items("rlskit")) if parser.has_section("rlskit") else {}
        # None: not set. Set but empty, Alembic's driver:// placeholder or an
        # interpolation rlskit does not expand is an error when it is used, never
        # a silent fallback to the embedded server.
        url = (
            parser.get("alembic", "sqlalchemy.url").strip()
            if parser.has_option("alembic", "sqlalchemy.url")
            else None
        )
        return cls(
            root=root,
            ini=ini,
            script_location=script_location,
            sql_dir=(root / section.get("sql_dir", "sql")).resolve(),
            policies_dir=(root / section.get("policies_dir", "policies")).resolve(),
            ini_url=url,
            settings=settings_from_section(section),
        )

    def given_url(self, url: str | None = None) -> tuple[str, str] | None:
        """The database URL a command uses and where it came from, checked: ``url``
        (``--url``), else RLSKIT_DATABASE_URL or DATABASE_URL, else ``sqlalchemy.url``
        in alembic.ini; None means the embedded server. A source that is set but
        unusable is an error, never a fallback to the next one."""
        if url is not None:
            return check_url(url, "--url"), "--url"
        found = env_url()
        if found is not None:
            return found
        if self.ini_url is not None:
            return check_url(self.ini_url, "sqlalchemy.url in alembic.ini"), "alembic.ini"
        return None

    @classmethod
    def find(cls, start: Path | None = None, ini: Path | None = None) -> Project:
        """Load the project whose alembic.ini is ``ini``, or in ``start``, or in
        the current folder or the nearest folder above it that has one."""
        if ini is not None:
            return cls.load(ini)
        env = os.environ.get("RLSKIT_PROJECT")
        if start is not None or env:
            return cls.load((start or Path(env or ".")) / INI_NAME)
        here = Path.cwd()
        for folder in (here, *here.parents):
            if (folder / INI_NAME).is_file():
                return cls.load(folder / INI_NAME)
        return cls.load(here / INI_NAME)


URL_SCHEMES = ("postgresql", "postgres")


def check_url(url: str, source: str) -> str:
    """``url`` if it is a usable PostgreSQL URL; a ProjectError naming ``source`` if not.

    A source that is set but empty or unparsable never falls back to another one
    (a deploy job with a typo must fail, not deploy to the embedded server).
    """
    from urllib.parse import urlsplit

    from rlskit.urls import mask_url

    value = url.strip()
    if not value:
        raise ProjectError(
            f"{source} is set but empty, so rlskit does not know which database to use.",
            f"Set {source} to a postgresql:// URL, or unset it; nothing was changed.",
        )
    problem = ""
    try:
        parts = urlsplit(value)
        scheme = parts.scheme.split("+", 1)[0]
        if "%(" in value:
            problem = "it holds a %(...)s interpolation, which rlskit does not expand"
        elif scheme not in URL_SCHEMES:
            problem = f"it does not start with postgresql:// (scheme {parts.scheme or 'missing'!r})"
        else:
            parts.port  # noqa: B018 - raises ValueError on a bad port
            if not parts.hostname and parts.path in ("", "/") and not parts.query:
                problem = (
                    "it names no host and no database (a URL template whose variables were empty?)"
                )
    except ValueError as exc:
        problem = str(exc)
    if problem:
        raise ProjectError(
            f"The database URL from {source} ({mask_url(value)}) cannot be used: {problem}.",
            "Write it as postgresql://user:password@host:port/database; nothing was changed.",
        )
    return value


def env_url() -> tuple[str, str] | None:
    """The database URL from the environment, with the variable it came from.

    A variable that is set (even to an empty string) must hold a valid URL.
    """
    for var in ("RLSKIT_DATABASE_URL", "DATABASE_URL"):
        if var in os.environ:
            return check_url(os.environ[var], var), var
    return None
