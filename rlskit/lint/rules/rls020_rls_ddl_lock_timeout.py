"""RLS020 rls-ddl-without-lock-timeout: RLS DDL that may wait forever for a lock.

CREATE/DROP POLICY and ALTER TABLE ... ROW LEVEL SECURITY take ACCESS
EXCLUSIVE locks. Behind a long reader they wait, and every new reader queues
behind them (FINDINGS §4). rlskit sets ``lock_timeout`` per revision; this
fires when the project sets it to 0 or a file turns it off.

Anti-pattern::

    SET lock_timeout = 0;
    CREATE POLICY p ON busy_table ...;

Fix::

    -- keep rlskit's default: [rlskit] lock_timeout = 5s, with retries
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS020", "rls-ddl-without-lock-timeout", "warning", __doc__, static_only=True)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    if model.source != "static":
        return
    off_files = {loc.file for loc in model.lock_timeout_off}
    for p in model.policies.values():
        if config.lock_timeout <= 0 or p.loc.file in off_files:
            yield RULE.finding(
                f"CREATE POLICY {p.name} runs without a lock_timeout: behind a long reader it "
                "blocks every new reader of {p.table}".replace("{p.table}", p.table),
                p.loc,
                f"locktimeout:{p.loc.file}",
            )
