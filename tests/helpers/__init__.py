"""Helpers the tests share (not tests themselves): WARC fixtures, run-output scans, the shared-data location."""
