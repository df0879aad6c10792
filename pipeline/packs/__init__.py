"""Tokenised packs for trainers: tokenizer training, Megatron .bin/.idx packs, and the array-program BPE encoder."""

from __future__ import annotations

from pipeline.packs.verify import find_documents, verify_packs

__all__ = ["find_documents", "verify_packs"]
