"""The errors packs raise: one line a user can act on, never document text. The CLI's shared handler prints them."""

from __future__ import annotations

from sovereign.pipeline.errors import SovereignError


class PackError(SovereignError):
    """A pack (or a tokenizer) cannot be made."""


class UnsupportedTokenizer(PackError):
    """A tokenizer.json feature the array encoder does not reproduce exactly."""


class EncoderError(PackError):
    """This encoder cannot reproduce the tokenizer exactly."""


class NoDevice(PackError):
    """The device asked for (a CUDA GPU) is not usable here."""
