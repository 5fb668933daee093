"""The package's layers hold: import-linter's contracts in pyproject.toml are all kept.

``make lint`` runs the same check; running it here too puts it in CI (``make test``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` run from ``root``: the graph is built from ``root``'s mtaudit (the
    working directory comes first on sys.path), not from an installed copy."""
    pytest.importorskip(
        "importlinter", reason="import-linter is a dev dependency: pip install -e '.[dev]'"
    )
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
            "--no-logo",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_are_kept():
    proc = lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_an_import_from_a_higher_layer_breaks_the_contract(tmp_path):
    """The check is live: the pipeline importing the review command (the cycle issue 16
    removed) is reported."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for src in (ROOT / "mtaudit").rglob("*.py"):
        dst = tmp_path / src.relative_to(ROOT)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    pipeline = tmp_path / "mtaudit" / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + "\nfrom mtaudit import review  # noqa\n")
    proc = lint_imports(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "mtaudit.pipeline is not allowed to import mtaudit.review" in proc.stdout


def test_contract_lists_every_layer_of_the_issue():
    """The layers contract is exhaustive and keeps the issue's order, lowest last."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    assert layers["exhaustive"] is True and layers["containers"] == ["mtaudit"]
    flat = [name.strip() for entry in layers["layers"] for name in entry.split("|")]
    order = [
        "cli",
        "server",
        "distributed",
        "pipeline",
        "report",
        "known",
        "config",
        "detectors",
        "backtranslate",
        "ingest",
        "lexicons",
        "segment",
        "model",
    ]
    assert [flat.index(name) for name in order] == sorted(flat.index(name) for name in order)


#: Issue 16: no module over 500 lines except data tables (there are none in the package:
#: lexicons and word lists are TOML and data files).
MAX_MODULE_LINES = 500


def test_no_module_of_the_package_is_over_500_lines():
    package = ROOT / "mtaudit"
    sizes = {
        path.relative_to(package).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in package.rglob("*.py")
    }
    assert len(sizes) > 100  # the whole package was read
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}
