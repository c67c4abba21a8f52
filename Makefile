# archviz: every target installs what it needs first (Debian packages, then the venv).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MODEL  ?= vgg16
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := graphviz chromium chromium-driver fonts-dejavu-core

.PHONY: setup system profile report diagram dashboard test bench bench-peers clean

setup: system $(STAMP)

system:
	@if ! command -v dot >/dev/null || ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing Debian packages: $(APT)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT) >/dev/null; \
	fi

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[test,timm]'
	touch $(STAMP)

profile: setup
	$(VENV)/bin/archviz profile $(MODEL)

report: setup
	$(VENV)/bin/archviz report $(MODEL)

diagram: setup
	$(VENV)/bin/archviz diagram $(MODEL)

dashboard: setup
	$(VENV)/bin/archviz dashboard

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/bench_profile.py
	$(PY) benchmarks/bench_report.py
	$(PY) benchmarks/bench_diagram.py
	$(PY) benchmarks/bench_dashboard.py
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_start.py
	$(PY) benchmarks/bench_measure.py alexnet resnet18 googlenet vgg11
	$(PY) benchmarks/bench_atlas.py
	$(PY) benchmarks/bench_sweep.py --subset

# Peers for bench_profile.py (thop, ptflops, torchinfo): installed into .venv-bench only, which the
# benchmark alone puts on sys.path; never archviz dependencies.
bench-peers: setup
	$(PY) -m pip install -q --no-deps --target .venv-bench -r benchmarks/requirements-peers.txt

clean:
	rm -rf $(VENV) .venv-bench reports artifacts .pytest_cache
