# The two README commands: `make report` (batch reports on the bundled sample data) and
# `make test` (the whole suite). Both create .venv and install the project from its own files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: report test lab lint bench notebooks clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	@echo "Setting up $(VENV): installing the project and its dependencies from pyproject.toml"
	@echo "(first run only; a few minutes, about 1 GB; later runs start at once)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench,postgres,spark]"
	# the notebooks' kernel "retention" is this environment, wherever the checkout lives
	$(BIN)/python -m ipykernel install --sys-prefix --name retention --display-name "Python (retention)"
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/retention report --by channel

test: $(STAMP)
	$(BIN)/python -m pytest tests retention notebooks --doctest-modules --nbval \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg

# re-execute the committed notebooks in place (outputs are compared by nbval in make test)
notebooks: $(STAMP)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.record_timing=False notebooks/*.ipynb

# opens on the notebooks with the project kernel as the default; as root (in a container)
# Jupyter needs --allow-root
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --MappingKernelManager.default_kernel_name=retention \
		$$([ "$$(id -u)" = 0 ] && echo --allow-root)

lint: $(STAMP)
	$(BIN)/ruff check retention tests benchmarks

# lifetimes (the comparison for the RFM and BG/NBD benchmark) needs pandas < 2.2: its own venv
LIFETIMES := .venv-lifetimes
$(LIFETIMES)/bin/python:
	$(PYTHON) -m venv $(LIFETIMES)
	$(LIFETIMES)/bin/python -m pip install --quiet lifetimes "pandas<2.2" "numpy<2" "scipy<1.14" setuptools

bench: $(STAMP) $(LIFETIMES)/bin/python
	$(BIN)/python benchmarks/bench_cohorts.py
	$(BIN)/python benchmarks/bench_rfm_models.py --lifetimes-python $(LIFETIMES)/bin/python
	$(BIN)/python benchmarks/bench_loader.py
	$(BIN)/python benchmarks/bench_engines.py --scenarios 10m

clean:
	rm -rf $(VENV) $(LIFETIMES) reports/*/ reports/index.html reports/index.json
