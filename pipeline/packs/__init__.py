"""Tokenised packs for trainers: tokenizer training, Megatron .bin/.idx packs, and the array-program BPE encoder."""

from __future__ import annotations

from typing import Any

__all__ = ["find_documents", "verify_packs"]


def __getattr__(name: str) -> Any:
    # Lazy: verify pulls in pyarrow.dataset (and pandas, 0.25 s), which the pack's worker processes never need.
    if name in __all__:
        from sovereign.pipeline.packs import verify

        return getattr(verify, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
