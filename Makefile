# The two commands a new user needs: `make up` runs the whole system locally,
# `make test` runs every test (it starts its own isolated stack).
VENV ?= .venv
FRAUDLAKE := $(VENV)/bin/fraudlake

.PHONY: help bootstrap up down status test test-fast faults bench clean-run airflow airflow-down

help:
	@echo "make up        start PostgreSQL, Kafka, Kafka Connect + Debezium and MinIO locally"
	@echo "make down      stop them (data is kept in .run/)"
	@echo "make status    state of each component, the connector and the topic"
	@echo "make test      run every test (starts its own stack on ports +10000)"
	@echo "make test-fast only the tests that need no running service"
	@echo "make faults    only the fault-injection suite (kill -9 of each component mid-stream)"
	@echo "make airflow   Airflow (its own virtualenv) with the fraudlake DAGs on 127.0.0.1:8080; make airflow-down stops it"
	@echo "make bench     the whole system's figures, on a stack of its own: reports/bench/<date>/summary.md"

bootstrap:
	@scripts/bootstrap.sh

up: bootstrap
	$(FRAUDLAKE) up

down:
	$(FRAUDLAKE) down

status:
	$(FRAUDLAKE) status

test: bootstrap
	$(VENV)/bin/pytest

test-fast: bootstrap
	$(VENV)/bin/pytest -m "not stack and not spark"

faults: bootstrap
	$(VENV)/bin/pytest -m faults

bench: bootstrap
	$(VENV)/bin/python bench/run.py

airflow: bootstrap
	@scripts/airflow.sh start

airflow-down:
	@scripts/airflow.sh stop

# Forget the local stack's data (PostgreSQL, Kafka, MinIO); artifacts stay cached.
clean-run: down
	rm -rf .run
