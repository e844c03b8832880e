"""The embedded default database (kept for imports): see ``rlskit.servers``."""

from rlskit.servers import (
    DATABASE,
    SUPERUSER,
    EmbeddedServer,
    ServerState,
    ServerStatus,
    find_bin_dir,
)

__all__ = [
    "DATABASE",
    "SUPERUSER",
    "EmbeddedServer",
    "ServerState",
    "ServerStatus",
    "find_bin_dir",
]
