# GNU make. Everything runs from the project venv so local runs, CI and the book agree.
PYTHON ?= python3
VENV ?= .venv
PROFILE ?= quick

VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Datasets missing from every data root (./data, $MRVAE_DATA, ../shared/data) are downloaded
# from their official sources into ./data (or $MRVAE_DATA), checked against their md5s.
# Offline, nothing is fetched where the files are found; MRVAE_DOWNLOAD=0 forbids downloads.
export MRVAE_DOWNLOAD ?= 1

.PHONY: venv notebooks figures book book-only test refresh-references cpu-profile gap-study benchmark-overhead clean clean-runs lint

# The stamp makes the venv rebuild only when dependencies change. ipykernel ships a
# "python3" kernelspec into the venv; --check-kernel fails early if papermill would
# launch some other interpreter under that name.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -e ".[dev]"
	$(VPY) scripts/run_notebooks.py --check-kernel
	touch $@

venv: $(STAMP)

notebooks: $(STAMP)
	$(VPY) scripts/run_notebooks.py --profile $(PROFILE) --out-dir book/executed

figures: notebooks

book: $(STAMP) notebooks
	$(MAKE) book-only

# Build the site from the notebooks already in book/executed (no execution). The intro's
# claims scoreboard is generated from the figure JSON of the same run.
book-only: $(STAMP)
	$(VPY) scripts/build_scoreboard.py
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going

# `-p no:nbval` keeps the reference notebooks out of the unit-test run; the nbval run
# writes figures to a throwaway dir so the committed ones are not overwritten. With
# MRVAE_EXECUTED_DIR=book/executed (CI), the nbval run also writes each chapter as it ran
# (tests/notebooks/conftest.py) and its figures to figures/, and `make book-only` builds the
# site from that one execution. Chapter 3's training cell takes most of the chapter's 28 min on
# 2 cores, near nbval's default 2,000 s cell timeout on a slower or busier machine; hence 3,600 s.
test: $(STAMP)
	$(VPY) -m pytest tests -q -p no:nbval
	@if ls tests/notebooks/*.ipynb >/dev/null 2>&1; then \
		figures=$${MRVAE_EXECUTED_DIR:+$(CURDIR)/figures}; \
		MRVAE_FIGURE_DIR=$${figures:-$$(mktemp -d)} $(VPY) -m pytest --nbval tests/notebooks \
			--nbval-sanitize-with tests/notebooks/sanitize.cfg --nbval-cell-timeout=3600 -q; \
	else \
		echo "no reference notebooks in tests/notebooks; skipping nbval (run 'make refresh-references')"; \
	fi

refresh-references: $(STAMP)
	$(VPY) scripts/run_notebooks.py --profile quick --out-dir tests/notebooks

# One panel of the `cpu` profile (full-width networks, full data; about 70-90 min on 2 cores):
#   make cpu-profile PANEL="binary_mnist resnet"
PANEL ?= binary_mnist resnet
cpu-profile: $(STAMP)
	$(VPY) scripts/run_cpu_profile.py $(PANEL)

# The study of the Figure 1 panel's gap to the β-VAEs (quick profile; about 21 min on 2 cores):
gap-study: $(STAMP)
	$(VPY) scripts/run_gap_study.py

# What an MR-VAE costs over a β-VAE per training step, per network (about 23 min on 2 CPU
# cores; run nothing else meanwhile). Writes figures/overhead.{json,png}; DEVICE=cuda on a GPU.
DEVICE ?= cpu
benchmark-overhead: $(STAMP)
	$(VPY) scripts/benchmark_overhead.py --device $(DEVICE)

clean:
	rm -rf _build book/executed

# Trained models cached by the notebooks (keyed by the package's source digest).
clean-runs:
	rm -rf runs

lint:
	@if [ -x $(VENV)/bin/ruff ]; then $(VENV)/bin/ruff check mrvae tests scripts book/_ext; \
	elif command -v ruff >/dev/null 2>&1; then ruff check mrvae tests scripts book/_ext; \
	else echo "ruff not installed; skipping lint"; fi
