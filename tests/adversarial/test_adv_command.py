"""Command solvers (issue #11): the run ends when the program exits, output is streamed to a
bounded log, out-of-memory programs are ``memout``, shell templates cannot be injected."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from conftest import adv_task

from schedbench.plugins.command import load_config
from schedbench.plugins.registry import RegistryError


def test_child_holding_stdout_does_not_hold_the_answer(adv_executor, adv_files):
    t0 = time.monotonic()
    rec = adv_executor.execute(adv_task(adv_files, "adv-cmd-orphan", time_limit=10.0))
    assert rec.status == "feasible" and rec.feasible  # before #11: timeout at the full 10 s, answer lost
    assert time.monotonic() - t0 < 5.0 and rec.wall_s < 5.0


def test_a_gigabyte_of_program_output_costs_no_memory(adv_executor, adv_files):
    rec = adv_executor.execute(
        adv_task(adv_files, "adv-cmd-chatty", params={"mib": 1024}, time_limit=120.0, memory_limit_mb=512)
    )
    assert rec.status == "feasible", rec.reason  # before #11: 3.1 GB, then error under --memory-limit 512
    assert rec.peak_rss_mb < 400
    assert "END-OF-CHATTER" in rec.log_tail


def test_program_out_of_memory_is_memout(adv_executor, adv_files):
    rec = adv_executor.execute(adv_task(adv_files, "adv-cmd-memhog", memory_limit_mb=512))
    assert rec.status == "memout", rec.reason  # before #11: error


def test_shell_template_placeholders_are_quoted(adv_executor, adv_files, tmp_path: Path):
    marker = tmp_path / "injected"
    rec = adv_executor.execute(adv_task(adv_files, "adv-cmd-shell", params={"label": f"x; touch {marker}"}))
    assert rec.status == "feasible", rec.reason
    assert not marker.exists()


def test_shell_template_with_a_quoted_placeholder_is_refused(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text(
        textwrap.dedent("""
        name = "quoted"
        version = "1"
        problems = { placement = ["min-cost"] }
        command = ["sh", "-c", "cp '{instance}' x && echo {solution}"]
    """),
        encoding="utf-8",
    )
    with pytest.raises(RegistryError, match=r"command\[2\].*inside quotes"):
        load_config(path)


def test_shell_argv_quotes_values():
    cfg = load_config(Path(__file__).parent / "plugins" / "cmd-shell.toml")
    argv = cfg.argv(
        instance="/a b.json", solution="/s.json", time_limit=1.0, seed=0, threads=1, params={"label": "$(reboot)"}
    )
    assert "echo '$(reboot)' >" in argv[2] and "'/a b.json'" in argv[2]
