"""RLS036 transaction-control-in-migration: BEGIN/COMMIT/ROLLBACK inside a migration file.

rlskit runs every pending file in one transaction and commits it only when all
succeeded. A COMMIT in a file (or in a DO block) ends that transaction early:
what ran before it stays applied when a later statement fails, and the
database is left half-migrated.

Anti-pattern::

    BEGIN;
    CREATE TABLE t (...);
    COMMIT;

Fix: leave the statements bare; rlskit wraps them in the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS036", "transaction-control-in-migration", "error", __doc__, static_only=True)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for loc, what in model.transaction_control:
        yield RULE.finding(
            f"{what} in a migration ends or nests rlskit's transaction: remove it",
            loc,
            f"txn:{loc}",
        )
