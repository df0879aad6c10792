"""Sentence banks (one YAML file per language) for the synthetic demo crawl (pipeline/synthetic/banks.py)."""
