# The two commands: `make run` (local stack) and `make test` (lint + all tests).
# Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STAGE  ?= dev
DATA   ?= data/loan_applications.csv
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: install run test lint format train evaluate bench render package deploy clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Start moto server (or use AWS_ENDPOINT_URL), create tables/queues, chalice local, queue worker.
run: $(STAMP)
	$(PY) -m devstack.run

## Lint, then every test (unit, integration against real processes, template checks).
test: $(STAMP) lint
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Rebuild the model artifact and model card (deterministic: same data -> same bytes).
train: $(STAMP)
	$(PY) -m training.train

## Score a labelled CSV with the shipped run-time scorer: make evaluate DATA=path/to.csv
evaluate: $(STAMP)
	$(PY) -m training.evaluate $(DATA)

## Benchmarks: print figures against a baseline measured in the same run.
bench: $(STAMP)
	$(PY) -m bench.run_all

## Rewrite every generated file from chalicelib/resources.py: .chalice/config.json and the
## .chalice/policy-<stage>.json IAM policies (tests/infra fail while a committed file differs).
render: $(STAMP)
	$(PY) -m infra.chalice_config
	$(PY) -m infra.policies

## Build the deployable template: make package STAGE=prod
package: $(STAMP)
	$(PY) -m infra.package --stage $(STAGE)

## Deploy with the AWS CLI v2 (needs an account and an S3 bucket for the code):
##   DEPLOY_BUCKET=my-artifacts [ALARM_EMAIL=ops@example.com] make deploy STAGE=prod
deploy: package
	$(PY) -m infra.deploy --stage $(STAGE)

clean:
	rm -rf build .pytest_cache .ruff_cache .devstack
