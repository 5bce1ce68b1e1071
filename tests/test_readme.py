"""Every command the README shows, run verbatim from the repository root.

The README's own files stand in for a user's: ``data/my_log.csv`` (the sample with a user's
column names, written here) and ``jobs.yml`` (the README's YAML block). The two ``make``
commands are what CI runs, so they are not run again here.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _commands() -> list[str]:
    lines = [line for block in _blocks("bash") for line in block.splitlines()]
    commands = [re.sub(r"\s+#.*$", "", line).strip() for line in lines]
    return [c for c in commands if c and not c.startswith("make ")]


COMMANDS = _commands()


def test_the_readme_shows_the_commands_tested_here():
    assert any("--data data/my_log.csv" in c for c in COMMANDS)
    assert any(c.startswith(".venv/bin/papermill notebooks/") for c in COMMANDS)
    assert len(_blocks("yaml")) == 1


@pytest.fixture(scope="module")
def users_files():
    """data/my_log.csv and jobs.yml as the README expects them, removed afterwards."""
    log, config = ROOT / "data" / "my_log.csv", ROOT / "jobs.yml"
    lake, db = ROOT / "data" / "my_log_parquet", ROOT / "data" / "my_shop.db"
    made = [p for p in (log, config, lake, db) if not p.exists()]
    tx = pd.read_csv(ROOT / "data" / "sample_transactions.csv").rename(
        columns={"customer_id": "client_id", "order_date": "order_day", "revenue": "total"}
    ).drop(columns=["order_id", "channel"])
    if log in made:
        tx.to_csv(log, index=False)
    if config in made:
        config.write_text(_blocks("yaml")[0], encoding="utf-8")
    if lake in made:  # the same log as a folder of Parquet files and as a DuckDB table
        lake.mkdir()
        tx = tx.assign(order_day=pd.to_datetime(tx["order_day"]))
        tx.iloc[::2].to_parquet(lake / "part-0.parquet")
        tx.iloc[1::2].to_parquet(lake / "part-1.parquet")
    if db in made:
        import ibis

        con = ibis.duckdb.connect(db)
        con.create_table("orders", tx.assign(order_day=pd.to_datetime(tx["order_day"])))
        con.disconnect()
    yield
    for path in made:
        shutil.rmtree(path) if path.is_dir() else path.unlink()


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs_from_the_repository_root(command: str, users_files):
    argv = shlex.split(command)
    assert Path(argv[0]).parts[:2] == (".venv", "bin"), command
    argv[0] = str(Path(sys.executable).parent / Path(argv[0]).name)  # this environment's
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    if " report " in f" {command} " and "--dry-run" not in argv:
        out = ROOT / (argv[argv.index("-o") + 1] if "-o" in argv else "reports")
        index = json.loads((out / "index.json").read_text())
        entries = index["reports"] if isinstance(index, dict) else index
        assert entries and all(e["status"] == "ok" for e in entries), entries
