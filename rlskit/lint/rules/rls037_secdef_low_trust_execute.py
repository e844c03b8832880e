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


@make_rule("RLS037", "security-definer-low-trust-execute", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    if not config.low_trust_roles:
        return
    for f in model.functions.values():
        if not f.security_definer or f.returns_trigger:
            continue  # a trigger function cannot be called directly
        schema = f.name.split(".", 1)[0]
        if f.executors is not None:
            can = f.executors & config.low_trust_roles
        else:
            can = {
                g.grantee
                for g in model.grants
                if g.kind == "function"
                and g.target == f.name
                and g.grantee in config.low_trust_roles
            }
        by_default = sorted(
            r
            for r in can
            if any(
                d.kind == "function"
                and d.grantee == r
                and d.schema in (None, schema)
                and "EXECUTE" in d.privileges
                for d in model.default_privileges
            )
        )
        if by_default:
            yield RULE.finding(
                f"SECURITY DEFINER function {f.name} is executable by {', '.join(by_default)} "
                "through default privileges: revoke EXECUTE unless the API must call it",
                f.loc,
                f"lowtrust:{f.name}",
            )
