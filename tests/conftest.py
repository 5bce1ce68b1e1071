"""Shared test configuration."""

import matplotlib

# plots render off-screen in this process; notebook kernels keep their inline backend
matplotlib.use("Agg")

# notebooks under tests/data are fixtures that the report tests execute themselves
collect_ignore_glob = ["data/*"]
