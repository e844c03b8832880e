"""RLS037 security-definer-low-trust-execute: API roles may run a SECURITY DEFINER function by default.

Default privileges (``ALTER DEFAULT PRIVILEGES ... GRANT ALL ON FUNCTIONS TO
anon``, as Supabase sets up) hand EXECUTE on every new function to low-trust
roles. A SECURITY DEFINER function runs as its owner and skips RLS, so any
caller of the API (``/rest/v1/rpc/<name>``) can run it, although nobody
granted it on purpose. Low-trust roles: ``low_trust_roles`` or the profile's.

Anti-pattern::

    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon;
    CREATE FUNCTION public.reset_all() RETURNS void SECURITY DEFINER ...;

Fix::

    REVOKE EXECUTE ON FUNCTION public.reset_all() FROM anon, authenticated, PUBLIC;
    -- or put it in a schema the API does not expose
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule
from rlskit.lint.model import Model
from rlskit.lint.rules.rls012_secdef_public_execute import by_default_privileges


@make_rule("RLS037", "security-definer-low-trust-execute", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    if not config.low_trust_roles:
        return
    for f in model.functions.values():
        if not f.security_definer or f.returns_trigger:
            continue  # a trigger function cannot be called directly
        if f.public_execute:
            continue  # RLS012 reports it, naming these roles too: one finding
        by_default = by_default_privileges(model, config, f)
        if by_default:
            yield RULE.finding(
                f"SECURITY DEFINER function {f.name} is executable by {', '.join(by_default)} "
                "through default privileges: revoke EXECUTE unless the API must call it",
                f.loc,
                f"lowtrust:{f.name}",
            )
