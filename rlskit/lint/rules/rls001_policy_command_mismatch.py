"""RLS001 policy-command-mismatch: the policy's name says one command, its FOR clause another.

A policy meant for UPDATE or DELETE but declared ``FOR SELECT`` gives no
UPDATE/DELETE policy at all: those statements silently affect 0 rows.

Anti-pattern (seed 001)::

    CREATE POLICY articles_policy_update ON articles FOR SELECT USING (...);

Fix::

    CREATE POLICY articles_policy_update ON articles FOR UPDATE USING (...) WITH CHECK (...);
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model

WORDS = {
    "SELECT": ("select", "read", "view", "see", "list"),
    "INSERT": ("insert", "create", "add"),
    "UPDATE": ("update", "edit", "modify", "change"),
    "DELETE": ("delete", "remove", "destroy"),
}


def said(name: str) -> set[str]:
    tokens = set(re.split(r"[^a-z]+", name.lower()))
    return {cmd for cmd, words in WORDS.items() if tokens & set(words)}


@make_rule("RLS001", "policy-command-mismatch", "error", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for p in model.policies.values():
        named = said(p.name)
        if len(named) != 1 or p.command == "ALL":
            continue
        cmd = next(iter(named))
        if cmd != p.command:
            yield RULE.finding(
                f"policy {p.name} on {p.table} is named for {cmd} but declared FOR {p.command}; "
                f"{cmd} statements get no policy from it",
                p.loc,
                p.key,
            )
