"""RLS018 forgeable-session-setting: access decided by a setting any client can set.

Any session can run ``SET myapp.role = 'ADMIN'``. If clients can send SQL (or
the app has an injection), they pick their own identity. Set identities through
a verifying SECURITY DEFINER function (rlskit.session signed identities), or use
database roles; list settings only your trusted connection layer sets in
``[rlskit.lint] trusted_settings``.

Anti-pattern (seed 001)::

    USING (EXISTS (SELECT FROM auth_role_permission WHERE role = current_setting('myapp.role') ...))

Fix::

    -- the role comes from a signed token verified in the database, or:
    [rlskit.lint] trusted_settings = myapp.role   -- after review: clients cannot run SQL

``trusted_settings`` entries ending in ``.*`` trust a prefix (the postgrest and
supabase profiles trust ``request.jwt.claim.*``, set from the verified JWT).
"""

from __future__ import annotations

from collections.abc import Iterator

from rlskit.lint.core import Finding, LintConfig, make_rule, setting_reads
from rlskit.lint.model import Model, Policy, calls, func_name, function_trees


def _verifies_signature(model: Model, fname: str, depth: int = 0) -> bool:
    """Does the function (or one it calls) check an HMAC? Then the setting it reads
    is a signed token, not a claim a client can simply set."""
    f = model.function(fname)
    if f is None or depth > 3:
        return False
    for tree in function_trees(f):
        for call in calls(tree):
            name = func_name(call).rsplit(".", 1)[-1]
            if name == "hmac" or (
                name != fname and _verifies_signature(model, func_name(call), depth + 1)
            ):
                return True
    return False


@make_rule("RLS018", "forgeable-session-setting", "warning", __doc__)
def RULE(model: Model, config: LintConfig) -> Iterator[Finding]:
    trusting: dict[str, list[Policy]] = {}  # setting -> the policies that trust it
    for p in sorted(model.policies.values(), key=lambda p: (p.loc.file or "", p.loc.line or 0)):
        names: set[str] = set()
        for expr in (p.using, p.check):
            if expr is None:
                continue
            names |= {n for n, _ in setting_reads(expr) if n}
            for call in calls(expr):
                f = model.function(func_name(call))
                if f is not None and not _verifies_signature(model, func_name(call)):
                    for tree in function_trees(f):
                        names |= {n for n, _ in setting_reads(tree) if n}
        for name in sorted(n for n in names if not config.trusts(n)):
            trusting.setdefault(name, []).append(p)
    for name, ps in trusting.items():  # one decision, one finding: per setting
        listed = ", ".join(f"{p.name} on {p.table}" for p in ps[:3])
        if len(ps) > 3:
            listed += f" and {len(ps) - 3} more"
        who = f"policy {listed} trusts" if len(ps) == 1 else f"{len(ps)} policies ({listed}) trust"
        yield RULE.finding(
            f"{who} the session setting {name}, which any client can set",
            ps[0].loc,
            f"setting:{name}:forge",
        )
