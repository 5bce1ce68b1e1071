"""Shared test configuration."""

import os

import matplotlib

# plots render off-screen in tests, whatever the machine
os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")

# notebooks under tests/data are fixtures that the report tests execute themselves
collect_ignore_glob = ["data/*"]
