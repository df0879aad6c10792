"""Generators of synthetic inputs (hostile documents, files and configs) for tests and benchmarks.

Not part of a run's data path: nothing under pipeline/ or stages/ imports these modules except the demo."""
