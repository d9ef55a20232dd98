# The two commands: `make run` (local stack) and `make test` (lint + all tests); `make check` is
# the fast loop while editing (lint + unit tests). Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Two stamps: `make run` installs only requirements-run.txt (RUN_STAMP); `make test` and the other
# tools add the rest (DEV_STAMP, which needs RUN_STAMP first). So run-after-test installs nothing and
# test-after-run installs only what running did not need. pip without --quiet: a first start shows
# what it downloads instead of sitting silent for minutes. The installed packages are byte-compiled
# (where PYTHONDONTWRITEBYTECODE is set, as on this CI machine, nothing else ever writes a .pyc, and
# without them every process compiled its imports again: unit suite 150 s -> 183 s), but by
# compileall on every core rather than by pip, which compiles one file at a time (dev tools: 52 s ->
# 42 s).
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP       := $(PY) -m pip install --disable-pip-version-check --no-compile
COMPILE_SITE_PACKAGES := $(PY) -m compileall -q -j 0 \
	"$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" > /dev/null
STAGE  ?= dev
DATA   ?= data/loan_applications.csv
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: install run check test lint format train evaluate bench render package deploy clean browser vendor \
	vendor-check localstack-test bytecode

# Two pytest-xdist workers; a module stays on one worker (--dist loadfile), so its module-scoped
# fixtures and caches are built once. For the integration suite each worker starts its own local
# stack (moto server, chalice local, the worker). The schemathesis run is cut into eleven modules
# (tests/support/schemathesis_run.py) so that the workers share it instead of one holding it to the end.
XDIST := -n 2 --dist loadfile
# The integration suite's tests mostly wait on their stack's processes, so a third worker (a third
# stack) fills the cores the first two leave idle: on this 2-core machine the suite took 11:00 with
# two workers, 9:27 with three, 9:07 with four (then the cores are busy).
XDIST_INTEGRATION := -n 3 --dist loadfile

$(RUN_STAMP): requirements.txt requirements-run.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing what the local stack needs (requirements-run.txt; the test tools come with make test)..."
	$(PIP) -r requirements-run.txt
	$(COMPILE_SITE_PACKAGES)
	touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP) requirements-dev.txt
	@echo "Installing the test, lint, training and packaging tools (requirements-dev.txt)..."
	$(PIP) -r requirements-dev.txt
	$(COMPILE_SITE_PACKAGES)
	touch $(DEV_STAMP)

install: $(DEV_STAMP)

## The project's own bytecode, written once: where PYTHONDONTWRITEBYTECODE is set (as on this CI
## machine) Python never caches it, and every process a test starts (each stack runs about ten)
## compiled app.py, chalicelib and devstack again: 0.3 s of CPU each. compileall writes regardless.
bytecode: $(RUN_STAMP)
	$(PY) -m compileall -q -j 0 app.py chalicelib devstack infra training bench tests > /dev/null

## Start moto server (or use AWS_ENDPOINT_URL), create tables/queues, chalice local, queue worker.
run: bytecode
	$(PY) -m devstack.run

## The fast loop (under 2 minutes): ruff, mypy, the unit tests. The training-fidelity tests
## (tests/training: a scikit-learn refit, about 30 s of one core) run in make test only.
check: lint bytecode
	$(PY) -m pytest tests/unit $(XDIST)

## Lint, then every test: unit and template checks, then the integration suite against real
## processes (moto server, chalice local, the queue worker, the browser).
test: $(DEV_STAMP) lint browser bytecode
	$(PY) -m pytest tests/unit tests/training tests/infra $(XDIST)
	$(PY) -m pytest tests/integration tests/localstack $(XDIST_INTEGRATION) --durations=25

## Debian's headless Chromium and its driver for the console's browser tests (as root, here and in
## CI; a browser downloaded by a test tool does not work on this kind of machine).
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && apt-get install -y chromium chromium-driver)

## LocalStack 4.8.1 on the host (no Docker): its own venv (.venv-localstack, once), DynamoDB Local from
## npm and the system JDK (.localstack-cache), the ready.d hook, then the whole integration suite.
## Needs a JDK (javac/jar build the agent jar) and npm: from Debian when missing, as with make browser.
localstack-test: $(DEV_STAMP)
	command -v javac >/dev/null && command -v jar >/dev/null && command -v npm >/dev/null || \
		(apt-get update && apt-get install -y openjdk-17-jdk-headless $$(command -v npm >/dev/null || echo npm))
	$(PY) -m devstack.localstack_host

## Re-vendor the pinned front-end packages (devstack/vendor.py: swagger-ui-dist, chart.js) from npm.
vendor: $(DEV_STAMP)
	$(PY) -m devstack.vendor

## The committed vendored files are the registry's: re-vendor (npm pack checks each tarball against
## the registry's integrity) and fail on any difference. Needs the npm registry, so not in make test.
vendor-check: vendor
	git diff --exit-code -- chalicelib/http/static

## ruff (lint and format) and mypy --strict ([tool.mypy] in pyproject.toml names the checked code).
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(DEV_STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Rebuild the model artifact and model card (deterministic: same data -> same bytes).
train: $(DEV_STAMP)
	$(PY) -m training.train

## Score a labelled CSV with the shipped run-time scorer: make evaluate DATA=path/to.csv
evaluate: $(DEV_STAMP)
	$(PY) -m training.evaluate $(DATA)

## Benchmarks: print figures against a baseline measured in the same run.
bench: $(DEV_STAMP)
	$(PY) -m bench.run_all

## Rewrite every generated file from chalicelib/resources.py: .chalice/config.json and the
## .chalice/policy-<stage>.json IAM policies (tests/infra fail while a committed file differs).
render: $(DEV_STAMP)
	$(PY) -m infra.chalice_config
	$(PY) -m infra.policies

## Build the deployable template: make package STAGE=prod
package: $(DEV_STAMP)
	$(PY) -m infra.package --stage $(STAGE)

## Deploy with the AWS CLI v2 (needs an account and an S3 bucket for the code):
##   DEPLOY_BUCKET=my-artifacts [ALARM_EMAIL=ops@example.com] make deploy STAGE=prod
deploy: package
	$(PY) -m infra.deploy --stage $(STAGE)

clean:
	rm -rf build .pytest_cache .ruff_cache .devstack

## Decision versions (issue 18) through the staff routes of the running stack (make run):
##   make register LABEL="FOIR 55%" POLICY=policy.json [MODEL=artifact.json] [NOTES=...]
##   make promote VERSION=v2 ROLE=challenger SHARE=10 [REASON=...]   (a proposal, as modelrisk1)
##   make approve CHANGE=<change_id>                                  (as manager1)
##   make rollback REASON="..."                                       (as manager1: applied, flagged)
.PHONY: register promote approve rollback
register: $(RUN_STAMP)
	$(PY) -m devstack.versions register --label "$(LABEL)" --notes "$(NOTES)" \
		$(if $(POLICY),--policy "$(POLICY)") $(if $(MODEL),--model "$(MODEL)") \
		$(if $(HOLDOUT),--holdout "$(HOLDOUT)")

promote: $(RUN_STAMP)
	$(PY) -m devstack.versions promote "$(VERSION)" --role "$(ROLE)" --reason "$(REASON)" \
		$(if $(SHARE),--share $(SHARE))

approve: $(RUN_STAMP)
	$(PY) -m devstack.versions approve "$(CHANGE)"

rollback: $(RUN_STAMP)
	$(PY) -m devstack.versions rollback --reason "$(REASON)"

## Monitoring (issue 20), against the running local stack (`make run`):
##   make monitor [WINDOW=7]   one run now (as modelrisk1) over the last 1, 7 or 30 days: summary + alerts
.PHONY: monitor
monitor: $(RUN_STAMP)
	$(PY) -m devstack.monitoring_timer --now --window-days $(or $(WINDOW),1)
## Backtests (issue 19) through the staff routes of the running stack (make run), as modelrisk1: the
## file uploaded, scored by the versions (default: the champion), a progress bar, then the summary.
##   make backtest FILE=data/loan_applications.csv VERSIONS=v1,v2
.PHONY: backtest
backtest: $(DEV_STAMP)
	$(PY) -m devstack.backtest "$(FILE)" $(if $(VERSIONS),--versions "$(VERSIONS)")
