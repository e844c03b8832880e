"""Deeply nested YAML must be refused, not crash the process.

Red-team finding L2: ``policies: [[[...]]]`` nested 50,000 deep (about 100 KB)
made libyaml's composer recurse until the process died (exit 139, SIGSEGV)
before rlskit's own limits ran. The loader is shared by policies/*.yaml,
tests/rls/*.yaml and fleet.yaml. Run in a subprocess, so a crash shows as a
failed test instead of killing pytest.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rlskit.errors import SpecError
from rlskit.policies.spec import load_text

from ..conftest import rlskit, rlskit_process

DEEP = 50_000


def _flow(depth: int) -> str:
    return "policies: " + "[" * depth + "]" * depth + "\n"


def _block(depth: int) -> str:
    return "policies:\n" + "".join("  " * i + "- a:\n" for i in range(depth)) + "  " * depth + "x\n"


@pytest.mark.parametrize("where", ["policies", "tests/rls", "fleet"])
def test_deep_flow_nesting_is_refused_in_a_subprocess(tmp_path: Path, where: str) -> None:
    proj = tmp_path / "proj"
    assert rlskit("init", str(proj)).exit_code == 0
    text = "\n" * 4 + _flow(DEEP)
    if where == "policies":
        (proj / "policies" / "deep.yaml").write_text(text)
        args: tuple[str, ...] = ("render",)
        shown = "deep.yaml:5"
    elif where == "tests/rls":
        (proj / "tests" / "rls").mkdir(parents=True)
        (proj / "tests" / "rls" / "deep.yaml").write_text(text)
        args = ("test", "--url", "postgresql://nobody@127.0.0.1:1/none")
        shown = "deep.yaml:5"
    else:
        (proj / "fleet.yaml").write_text(text)
        args = ("fleet", "status")
        shown = "fleet.yaml:5"
    res = rlskit_process(*args, cwd=proj, timeout=60)
    assert res.returncode > 0, (res.returncode, res.stdout, res.stderr)  # not a signal
    out = res.stdout + res.stderr
    assert shown in out, out
    assert "nest" in out


def test_deep_block_nesting_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        load_text(_block(200), "policies/deep.yaml", Path("/nonexistent"))
    assert re.search(r"policies/deep\.yaml:\d+: .*nest", str(info.value))


def test_ordinary_nesting_still_loads() -> None:
    from rlskit.policies.yamlload import load_yaml

    assert load_yaml("a: " + "[" * 40 + "1" + "]" * 40 + "\n", "x.yaml").data["a"]
