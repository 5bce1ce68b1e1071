"""The batch's data cache: a file is read and validated once, and read back identically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import retention as rt
from retention.io.cache import CACHE_ENV


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def _log(path: Path, extra: str = "") -> Path:
    path.write_text("client;day;total\nA;03.01.2024;1,50\nB;13.01.2024;-2,50\n" + extra)
    return path


def test_a_cached_load_is_identical(tmp_path: Path, cache: Path):
    path = _log(tmp_path / "eu.csv")
    first = rt.load_transactions(path, customer="client", date="day", amount="total")
    assert len(list(cache.iterdir())) == 1
    again = rt.load_transactions(path, customer="client", date="day", amount="total")
    assert again.equals(first) and again.attrs == first.attrs
    assert list(again.dtypes) == list(first.dtypes)


def test_options_and_changes_to_the_file_are_new_entries(tmp_path: Path, cache: Path):
    path = _log(tmp_path / "eu.csv")
    rt.load_transactions(path, customer="client", date="day", amount="total")
    rt.load_transactions(path, customer="client", date="day", amount="total", dayfirst=True)
    assert len(list(cache.iterdir())) == 2
    _log(path, "C;20.01.2024;3,00\n")
    os.utime(path, ns=(1, 1))  # a changed file, whatever the clock's resolution
    tx = rt.load_transactions(path, customer="client", date="day", amount="total")
    assert len(tx) == 3


def test_excluded_rows_are_reported_again_from_the_cache(tmp_path: Path, cache: Path):
    path = _log(tmp_path / "eu.csv", ";20.01.2024;3,00\n")
    for _ in range(2):
        with pytest.warns(UserWarning, match="excluded 1 invalid rows"):
            tx = rt.load_transactions(
                path, customer="client", date="day", amount="total", drop_invalid=True
            )
        assert tx.attrs["validation"]["rows_excluded"] == 1


def test_no_cache_without_the_variable_or_with_the_report(tmp_path: Path, cache: Path,
                                                        monkeypatch):
    path = _log(tmp_path / "eu.csv")
    rt.load_transactions(path, customer="client", date="day", amount="total",
                         return_report=True)
    assert not cache.exists()
    monkeypatch.delenv(CACHE_ENV)
    rt.load_transactions(path, customer="client", date="day", amount="total")
    assert not cache.exists()


def test_the_batch_cache_folder_is_set_for_its_reports_and_removed_after(monkeypatch):
    from retention.reports.run import data_cache

    monkeypatch.setenv(CACHE_ENV, "/somewhere/else")
    with data_cache() as folder:
        assert os.environ[CACHE_ENV] == str(folder) and folder.is_dir()
    assert not folder.exists() and os.environ[CACHE_ENV] == "/somewhere/else"
