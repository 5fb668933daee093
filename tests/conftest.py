"""Shared fixtures: repository paths, a CLI runner that captures output, and a check that
no test module leaves an Apertium process behind."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtaudit import indexcache, zipftable
from mtaudit.backtranslate.pipes import dropped_pipelines, open_pipelines
from mtaudit.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed-article.txt"
CORPORA = ROOT / "corpora"
SCHEMA = ROOT / "mtaudit" / "schema" / "report-v2.schema.json"


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> dict:
        return json.loads(self.out)


def child_processes() -> dict[int, str]:
    """pid -> command line of this process's live (not zombie) children, from /proc."""
    out = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
            if int(fields["PPid"]) == os.getpid() and not fields["State"].startswith("Z"):
                out[int(status.parent.name)] = (
                    (status.parent / "cmdline").read_text().replace("\0", " ")
                )
        except (OSError, KeyError, ValueError):
            continue  # it ended while being read
    return out


@pytest.fixture(scope="session")
def _word_table_dir(tmp_path_factory):
    """One folder for the word-frequency table (derived from wordfreq, the same for every
    test), so it is built once per session rather than once per test."""
    return tmp_path_factory.mktemp("wordfreq-table")


@pytest.fixture(scope="session")
def _index_dir(tmp_path_factory):
    """One folder for the compiled lexicon indexes and the lemma table (built from the
    bundled lexicons and installed data, the same for every test), so a test's scan,
    in this process or a subprocess, finds them built (~17 s from nothing) as a user's
    second scan does. Tests of the index cache itself set MTAUDIT_CACHE_DIR themselves."""
    return tmp_path_factory.mktemp("indexes")


@pytest.fixture(autouse=True)
def _private_translation_cache(tmp_path_factory, monkeypatch, _word_table_dir, _index_dir):
    """Tests never read or write the user's ~/.cache/mtaudit caches (translations, results)."""
    cache = tmp_path_factory.mktemp("mt-cache")
    (cache / zipftable.TABLE_DIR).symlink_to(_word_table_dir, target_is_directory=True)
    (cache / indexcache.FOLDER).symlink_to(_index_dir, target_is_directory=True)
    monkeypatch.setenv("MTAUDIT_CACHE_DIR", str(cache))
    # A developer's own ~/.config/mtaudit/config.toml must not change test results.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))


@pytest.fixture(scope="module", autouse=True)
def _no_engine_process_left(request) -> Iterator[None]:
    """Fail the module whose tests or fixtures leave an Apertium pipeline behind.

    Set up before, so torn down after, the module's own fixtures. ``gc.collect()`` ends
    every pipeline whose owner was dropped (its finalizer runs); those are counted, as are
    the ones still held open (a fixture that never closes, a cache). Either way the
    processes and pipes outlived the test: close the detector, Auditor or back-translator
    (``with``, or a fixture that yields then closes).
    """
    before, dropped = open_pipelines(), dropped_pipelines()
    yield
    gc.collect()
    left = [c for pid, c in open_pipelines().items() if pid not in before]
    unclosed = dropped_pipelines() - dropped
    problems = [f"{len(left)} still open ({'; '.join(left)})"] if left else []
    if unclosed:
        problems.append(f"{unclosed} dropped without close()")
    if problems:
        pytest.fail(
            f"{request.module.__name__} left Apertium pipelines behind: {', '.join(problems)}",
            pytrace=False,
        )


@pytest.fixture
def cli(capsys):
    """Run ``mtaudit ARGS`` in-process; return exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse exits on usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip("shared/seed-article.txt is not present")
    return SEED.read_text(encoding="utf-8")
