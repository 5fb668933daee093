"""Engine pipelines end with close(), when dropped, and at exit, without leaking pipes.

Real child processes (``cat``, ``sleep``) stand in for an Apertium stage: the lifecycle is
the same and these run everywhere.
"""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
import time
import warnings

from mtaudit.backtranslate.pipes import PipelineProcess, dropped_pipelines, open_pipelines


def test_a_pipeline_answers_and_close_ends_it():
    dropped = dropped_pipelines()
    p = PipelineProcess("cat")
    assert p.pid in open_pipelines()
    assert p.exchange([b"one", b"two"], time.monotonic() + 10) == [b"one", b"two"]
    p.close()
    assert p.proc.returncode == 0 and p.pid not in open_pipelines()
    p.close()  # twice is harmless
    p.kill()
    assert p.proc.returncode == 0
    killed = PipelineProcess("cat")
    killed.kill()
    assert killed.proc.returncode == -signal.SIGKILL
    retired = PipelineProcess("cat")
    retired.retire()  # EOF sent on purpose (a tagger swapped out): reaped when collected
    retired_proc = retired.proc
    del killed, retired
    gc.collect()
    assert retired_proc.returncode == 0
    assert dropped_pipelines() == dropped  # closed, killed or retired: none was dropped


def test_a_dropped_pipeline_is_ended_without_a_resource_warning(monkeypatch):
    from mtaudit.backtranslate import pipes

    # This test drops one on purpose: the conftest guard must not count it.
    monkeypatch.setattr(pipes, "_DROPPED", [0])
    p = PipelineProcess("cat")
    proc, pid = p.proc, p.pid
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        del p
        gc.collect()
    assert proc.returncode == 0  # reaped: no zombie, no "still running" warning
    assert proc.stdin is not None and proc.stdin.closed and proc.stdout.closed
    assert pid not in open_pipelines() and dropped_pipelines() == 1
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_close_kills_a_pipeline_that_ignores_eof():
    p = PipelineProcess("sleep 30 < /dev/null; cat")
    started = time.monotonic()
    p.close()
    assert p.proc.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 10  # the grace period, not the 30 s sleep


def test_a_pipeline_still_open_at_exit_is_ended_quietly():
    code = (
        "import builtins\n"
        "from mtaudit.backtranslate.pipes import PipelineProcess\n"
        "builtins.kept = PipelineProcess('cat')  # alive until the interpreter exits\n"
        "print(builtins.kept.pid)\n"
    )
    out = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "always::ResourceWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(out.stdout)
    assert "ResourceWarning" not in out.stderr and "unclosed" not in out.stderr, out.stderr
