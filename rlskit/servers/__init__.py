"""The PostgreSQL servers rlskit starts itself: the project's embedded server
(``.rlskit/pg``) and the scratch server (``.rlskit/scratch``).

``cluster`` owns their lifecycle, ``binaries`` where the executables come
from, ``accounts`` the OS users they run as (as root), ``files`` how rlskit
opens the files it trusts.
"""

from rlskit.servers.binaries import find_bin_dir
from rlskit.servers.cluster import (
    DATABASE,
    SUPERUSER,
    EmbeddedServer,
    ServerState,
    ServerStatus,
)

__all__ = [
    "DATABASE",
    "SUPERUSER",
    "EmbeddedServer",
    "ServerState",
    "ServerStatus",
    "find_bin_dir",
]
