"""Generators of synthetic inputs for tests, benchmarks and ``sovereign demo``: the demo crawl (crawl.py; its oracle
in expectations.py), the PII eval set (pii_evalset.py), both on one set of stdnum-checked identifiers
(identifiers.py), and hostile documents, files and configs (hostile_*.py).

Not part of a run's data path: nothing under pipeline/ or stages/ imports these modules except the demo."""

# Sizes of the demo crawl (here, not in plan.py, so that the CLI can state them without importing the generator).
MIN_PAGES = 150  # every planted case fits
MAX_PAGES = 600  # beyond this the sentence banks run out of paragraphs never used before
