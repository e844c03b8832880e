"""A Django-style middleware acting as the signed-in user for each request.

The seeds did this with ``cursor.execute(f'SET ROLE "{user_id}"')``, session-wide,
by string formatting. Here each request runs in one transaction opened by
``rlskit.session.act_as``: the role and the signed identity end with it, so the
pooled connection goes back clean, and the user id cannot be forged by SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from psycopg_pool import ConnectionPool

from rlskit.session import act_as, sign_identity


class RlsMiddleware:
    """``get_response(request, conn)``: the view runs inside the request's transaction."""

    def __init__(
        self,
        get_response: Callable[[dict[str, Any], Any], Any],
        pool: ConnectionPool,
        secret: bytes,
        role: str = "app_user",
    ) -> None:
        self.get_response = get_response
        self.pool = pool
        self.secret = secret
        self.role = role

    def __call__(self, request: dict[str, Any]) -> Any:
        user_id = request.get("user_id")  # set by the authentication middleware before us
        token = sign_identity(self.secret, {"user_id": user_id}, ttl=60) if user_id else None
        with self.pool.connection() as conn, act_as(conn, self.role, token=token):
            return self.get_response(request, conn)


def documents_view(request: dict[str, Any], conn: Any) -> list[str]:
    """A view: no WHERE owner_id = ... here; RLS decides."""
    return [r[0] for r in conn.execute("SELECT title FROM app.documents ORDER BY id")]


def wsgi_app(middleware: RlsMiddleware) -> Callable[..., Iterable[bytes]]:
    """The same as a WSGI application; the user id comes from a header for the demo."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        user = environ.get("HTTP_X_USER_ID")
        titles = middleware({"user_id": int(user) if user else None})
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["\n".join(titles).encode()]

    return app
