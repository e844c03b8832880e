"""Run the middleware against the reference schema.

    rlskit -p ../.. upgrade                      # the repository's reference schema
    python demo.py "$(rlskit -p ../.. db url --show-password)"

It stores a signing secret (as the database owner), adds two users with
documents, and serves three requests: user 1, user 2 and an anonymous one.
"""

from __future__ import annotations

import secrets
import sys
from wsgiref.util import setup_testing_defaults

import psycopg
from psycopg_pool import ConnectionPool
from rls_middleware import RlsMiddleware, documents_view, wsgi_app


def main(url: str) -> None:
    secret = secrets.token_bytes(32)
    with psycopg.connect(url, autocommit=True) as owner:  # the database owner's one-time setup
        owner.execute("DELETE FROM auth.signing_keys")
        owner.execute("INSERT INTO auth.signing_keys (id, secret) VALUES (1, %s)", (secret,))
        owner.execute(
            "INSERT INTO app.users (id, username) OVERRIDING SYSTEM VALUE VALUES "
            "(901, 'demo1'), (902, 'demo2') ON CONFLICT DO NOTHING"
        )
        owner.execute("DELETE FROM app.documents WHERE owner_id IN (901, 902)")
        owner.execute(
            "INSERT INTO app.documents (owner_id, title) VALUES "
            "(901, 'plan of user 901'), (902, 'diary of user 902')"
        )
    with ConnectionPool(url, min_size=1, max_size=2) as pool:
        app = wsgi_app(RlsMiddleware(documents_view, pool, secret))
        for user in ("901", "902", None):
            environ: dict[str, object] = {}
            setup_testing_defaults(environ)
            if user:
                environ["HTTP_X_USER_ID"] = user
            body = b"".join(app(environ, lambda status, headers: None)).decode()
            print(f"user {user or 'anonymous'}: {body.splitlines() or '(nothing)'}")


if __name__ == "__main__":
    main(sys.argv[1])
