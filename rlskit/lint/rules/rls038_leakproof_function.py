"""RLS038 leakproof-function: a project function is declared LEAKPROOF.

The planner runs LEAKPROOF functions before the policy's filter, on rows the
caller may not see, trusting them never to reveal their arguments. A function
that raises an error with its argument, logs it or writes it somewhere leaks
those rows. Only built-in operators are audited for this.

Anti-pattern::

    CREATE FUNCTION my_eq(a text, b text) RETURNS boolean LEAKPROOF
        LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE '%', a; RETURN a = b; END $$;

Fix: drop LEAKPROOF (``ALTER FUNCTION my_eq(text, text) NOT LEAKPROOF``).
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model


@make_rule("RLS038", "leakproof-function", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    for f in model.functions.values():
        if f.leakproof:
            yield RULE.finding(
                f"function {f.name} is LEAKPROOF: it runs on rows RLS hides from the caller "
                "before the policy filters them; make sure it can reveal nothing, or drop it",
                f.loc,
                f"leakproof:{f.name}",
            )
