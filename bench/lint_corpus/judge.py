"""Write verdicts.yaml: a verdict for every finding of rlskit (before and now), pgrls and
splinter on the corpus, from the judgments below (per rule, with the reason).

    python -m bench.lint_corpus.judge

Review the judgments here, not the generated file. Known problems are the true
problems any of the three tools (or a reader) found in each schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from bench.lint_corpus.__main__ import fingerprint, peer_fingerprint, run_all

HERE = Path(__file__).resolve().parent
peers = json.loads((HERE / "peers.json").read_text())

KNOWN = {
    "01_supabase_todo_list": {
        "initplan": "auth.uid() in all four todos policies is evaluated per row (not wrapped in (SELECT ...))",
        "index_user_id": "todos.user_id, the column every policy filters on, has no index",
    },
    "02_supabase_user_management": {
        "initplan": "auth.uid() per row in the profiles policies and the avatar UPDATE policy",
        "secdef_search_path": "SECURITY DEFINER trigger function handle_new_user does not pin search_path",
        "avatar_owner_transfer": "the avatar UPDATE policy's WITH CHECK (bucket_id = 'avatars') does not keep owner = auth.uid(): a user can hand an object to someone else",
    },
    "07_graphile_starter": {
        "initplan_current_user_id": "app_public.current_user_id() (SECURITY DEFINER, so never inlined) is called per row in the users/user_emails/user_authentications policies",
        "in_subselect": "organizations/organization_memberships policies use id IN (SELECT set-returning function): a hashed subplan over the table (measured 287x on count, FINDINGS)",
    },
    "08_aws_saas_factory_rls": {
        "password": "CREATE USER app_user WITH LOGIN PASSWORD '...' inside a DO block of the migration",
        "initplan": "current_setting('app.current_tenant') per row in both policies",
        "index_tenant_id": "tenant_user.tenant_id, the policy column, has no index",
        "current_setting_unset_error": "current_setting('app.current_tenant') without missing_ok: raises when unset, and reads '' (then ''::uuid fails) on a pooled connection after any set_config",
    },
}


def v(verdict: str, why: str, problems: list[str] | None = None) -> dict[str, Any]:
    d = {"verdict": verdict, "why": why}
    if problems:
        d["problems"] = problems
    return d


def pgrls_verdict(case: str, f: dict[str, Any]) -> dict[str, Any]:
    r = f["rule_id"]
    if r == "PERF001":
        return v("tp", "per-row auth/current_setting call", ["initplan"])
    if r == "PERF003":
        if case == "01_supabase_todo_list":
            return v("tp", "no index on todos.user_id", ["index_user_id"])
        if case == "08_aws_saas_factory_rls":
            return v("tp", "no index on tenant_user.tenant_id", ["index_tenant_id"])
        return v(
            "debatable",
            "storage.objects is the platform's table (the stand-in lacks Supabase's own indexes)",
        )
    if r == "SEC015":
        return v("tp", "SECURITY DEFINER without search_path", ["secdef_search_path"])
    if r == "SEC019":
        return v("tp", "current_setting without missing_ok", ["current_setting_unset_error"])
    if r == "SEC002":
        return v(
            "fp",
            "the owner is the migrating superuser/owner role, not a role the application acts as: FORCE changes nothing",
        )
    if r == "SEC007":
        return v(
            "fp", "all-permissive policies are not a problem by themselves (informational noise)"
        )
    if r == "SEC016":
        return v("fp", "service_role BYPASSRLS is the platform's admin by design")
    if r == "SEC029":
        return v("fp", "authenticator switching to service_role is the platform's design")
    if r == "SEC042":
        return v(
            "fp",
            "handle_new_user returns trigger: it cannot be called directly, EXECUTE is irrelevant",
        )
    if r == "SEC009":
        return v("fp", "RLS without policies on a private/platform table is the intended deny-all")
    if r == "SEC001":
        return v("fp", "app_private table with no grants to any API role: RLS is not needed")
    if r == "SEC022":
        return v(
            "fp",
            "writes go through SECURITY DEFINER functions by design; no write grants to the visitor",
        )
    if r == "SEC027":
        return v("fp", "the table is scoped by tenant/membership on purpose, not by user")
    if r == "SEC013":
        return v("debatable", "triggers on RLS tables: informational, no defect shown")
    if r == "SEC014":
        return v(
            "debatable", "SECURITY DEFINER exists on purpose (documented pattern); informational"
        )
    if r in ("SEC003", "SEC005", "SEC008", "SEC038", "SEC049"):
        return v(
            "debatable",
            "policy for PUBLIC / USING (true): intentional public read or anon-safe predicate (auth.uid() is NULL for anon)",
        )
    if r in ("SEC030", "SEC035", "SEC047", "SEC050"):
        return v("debatable", "hardening advice without a demonstrated leak in this schema")
    return v("debatable", "not judged specifically")


def splinter_verdict(case: str, f: dict[str, Any]) -> dict[str, Any]:
    lint = f["lint"]
    if lint == "0003_auth_rls_initplan":
        return v("tp", "per-row auth/current_setting call", ["initplan"])
    if lint == "0001_unindexed_foreign_keys":
        return v(
            "tp",
            "the unindexed FK column is the policy column",
            ["index_user_id" if case.startswith("01") else "index_tenant_id"],
        )
    if lint == "0011_function_search_path_mutable":
        if case.startswith("02"):
            return v("tp", "SECURITY DEFINER without search_path", ["secdef_search_path"])
        return v(
            "debatable",
            "mutable search_path on a SECURITY INVOKER function: hygiene, the caller runs it with its own rights",
        )
    if lint in (
        "0028_anon_security_definer_function_executable",
        "0029_authenticated_security_definer_function_executable",
    ):
        return v("fp", "handle_new_user returns trigger: not callable through /rest/v1/rpc")
    if lint == "0005_unused_index":
        return v("fp", "a fresh database has no index usage statistics")
    if lint == "0008_rls_enabled_no_policy":
        return v("fp", "RLS without policies on app_private tables is the intended deny-all")
    if lint == "0006_multiple_permissive_policies":
        return v(
            "debatable",
            "member/invited policies are OR-ed on purpose; a per-row cost, not a defect",
        )
    if lint == "0014_extension_in_public":
        return v("debatable", "graphile/starter installs citext/pgcrypto in public on purpose")
    return v("debatable", "not judged specifically")


def rlskit_verdict(case: str, fp: str, msg: str) -> dict[str, Any]:
    rule = fp.split()[0]
    key = fp.split(" ", 1)[1]
    if rule == "RLS030":
        return v(
            "tp",
            "per-row call of a row-independent function",
            ["initplan_current_user_id" if case.startswith("07") else "initplan"],
        )
    if rule == "RLS019":
        if "current_setting" in key:
            return v("tp", "per-row current_setting", ["initplan"])
        return v("tp", "IN (SELECT ...) hashed subplan", ["in_subselect"])
    if rule == "RLS031":
        return v(
            "tp",
            "no index on the policy column",
            ["index_user_id" if case.startswith("01") else "index_tenant_id"],
        )
    if rule == "RLS011":
        return v("tp", "SECURITY DEFINER without search_path", ["secdef_search_path"])
    if rule == "RLS025":
        return v("tp", "password in the migration (inside a DO block)", ["password"])
    if rule == "RLS017":
        return v("tp", "current_setting without missing_ok", ["current_setting_unset_error"])
    if rule == "RLS034":
        if "update their own avatar" in key:
            return v("tp", "WITH CHECK lets owner change", ["avatar_owner_transfer"])
        return v(
            "debatable",
            "anyone may upload to the avatars bucket on purpose; owner is set by the storage API",
        )
    if rule == "RLS007":
        return v("fp", "owner is the migrating superuser: FORCE changes nothing")
    if rule == "RLS008":
        return v("fp", "the bootstrap superuser that ran the migrations is not an application role")
    if rule == "RLS003":
        return v(
            "fp",
            "the grant comes from the platform's blanket default privileges; no policy = the intended deny",
        )
    if rule == "RLS013":
        return v("fp", "the concatenated values go through quote_ident()")
    if rule == "RLS012":
        return v(
            "fp",
            "ALTER DEFAULT PRIVILEGES REVOKE ALL ON FUNCTIONS FROM PUBLIC: PUBLIC cannot execute",
        )
    if rule == "RLS014":
        return v(
            "fp",
            "the variable is only ambiguous with a column of a subquery table it is not used in",
        )
    if rule == "RLS018":
        if case.startswith("08"):
            return v(
                "debatable",
                "any client of app_user could SET app.current_tenant; the sample assumes only the server connects",
            )
        return v(
            "fp",
            "request.jwt.claims is set by PostgREST from a verified JWT (the platform's trusted identity)",
        )
    if rule == "RLS016":
        if key.endswith(":service_role"):
            return v("fp", "service_role is the platform's admin")
        return v(
            "debatable",
            "TRUNCATE/TRIGGER/REFERENCES for API roles come from the platform's default privileges; not reachable through the REST API",
        )
    if rule == "RLS005":
        if "WITH CHECK" in key:
            return v(
                "debatable", "same cause as the owner column left open (RLS034); wrong reason given"
            )
        return v("debatable", "the avatars bucket is public on purpose")
    if rule in ("RLS004", "RLS024"):
        return v(
            "debatable",
            "policy for PUBLIC / USING (true): intentional public read or anon-safe predicate",
        )
    if rule == "RLS032":
        return v(
            "debatable", "member/invited policies OR-ed on purpose; a per-row cost, not a defect"
        )
    return v("debatable", "not judged specifically")


def fps_from_dump(path: Path) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    case = None
    for line in path.read_text().splitlines(keepends=True):
        m = re.match(r"== (\S+)", line)
        if m:
            case = m.group(1)
            out[case] = []
            continue
        m = re.match(r"  ['\"](.*?)['\"]: (.*)$", line.rstrip("\n"))
        if m and case:
            out[case].append((m.group(1), m.group(2)))
    return out


before = fps_from_dump(HERE / "rlskit_before.txt")
after = {
    name: [(fingerprint(f.rule, f.key), f.message) for f in r.findings]
    for name, r in run_all().items()
}
doc: dict[str, Any] = {}
for case in KNOWN:
    entry = {"known_problems": KNOWN[case], "rlskit": {}, "pgrls": {}, "splinter": {}}
    for src in (before, after):
        for fp, msg in src.get(case, []):
            entry["rlskit"].setdefault(fp, rlskit_verdict(case, fp, msg))
    for f in peers[case]["pgrls"]:
        entry["pgrls"][peer_fingerprint("pgrls", f)] = pgrls_verdict(case, f)
    for f in peers[case]["splinter"]:
        k = peer_fingerprint("splinter", f)
        if k:
            entry["splinter"][k] = splinter_verdict(case, f)
    doc[case] = entry
header = (
    "# Verdicts on every finding of rlskit lint, pgrls and splinter on the corpus (issue 14).\n"
    "# verdict: tp (a real problem: listed under known_problems), fp (no problem), debatable.\n"
    "# Keys: rlskit 'RULE key'; pgrls 'RULE message[:90]'; splinter 'lint cache_key'.\n"
    "# rlskit keys include findings of the version before issue 14 (rlskit_before.txt).\n"
)
(HERE / "verdicts.yaml").write_text(
    header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
)
print(f"wrote {HERE / 'verdicts.yaml'}")
