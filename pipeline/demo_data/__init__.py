"""Sentence banks (one YAML file per language) for the synthetic demo crawl in pipeline/demo_corpus.py."""
