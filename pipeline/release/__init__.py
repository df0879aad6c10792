"""Releases for trainers: a finished run copied into a layout with one root per table, a dataset card,
croissant.json and checksums (docs/releases.md)."""
