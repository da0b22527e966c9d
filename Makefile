# The two commands a newcomer needs (each does the set-up first, idempotently):
#   make demo   serve the bundled demo sites on 127.0.0.1 and crawl them into output/
#   make test   run the test suite (what .ci/run runs)
.PHONY: setup demo test lint bench

setup:
	./scripts/setup.sh

demo: setup
	./scripts/demo.sh

test: setup
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check vendornews spiders pipelines bench tests
	.venv/bin/mypy vendornews spiders pipelines bench
