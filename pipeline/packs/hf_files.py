"""The Hugging Face tokenizer files written beside every pack's tokenizer.json, so that training stacks find the
end-of-document token: ``transformers.AutoTokenizer.from_pretrained(PACKDIR)`` reads ``tokenizer_config.json`` and
``special_tokens_map.json`` and gets ``eos_token_id`` = the pack's separator id, and Megatron-LM's
``HuggingFaceTokenizer`` (whose ``eod`` is that ``eos_token_id``) masks and resets at the same id our packs end
every document with. A bare tokenizer.json gives ``eos_token_id`` None: ``--eod-mask-loss`` and the attention /
position resets then silently do nothing.
"""

from __future__ import annotations

from sovereign.pipeline.runinfo import dumps

TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"
HF_FILES = (TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP)


def special_tokens(eod_token: str) -> dict[str, str]:
    # bos = eos = pad = the separator: GPT-2 style, one special token; documents are separated, never padded.
    return {"bos_token": eod_token, "eos_token": eod_token, "pad_token": eod_token}


def hf_tokenizer_files(eod_token: str) -> dict[str, bytes]:
    """name -> bytes (canonical JSON: the same bytes for the same token, part of the pack's hashes)."""
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",  # the tokenizer.json alone; no slow (Python) tokenizer
        **special_tokens(eod_token),
        "add_bos_token": False,  # the packs hold no BOS; the separator ends each document
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,  # decode gives the bytes back, as the packs were encoded
    }
    return {TOKENIZER_CONFIG: dumps(config), SPECIAL_TOKENS_MAP: dumps(special_tokens(eod_token))}
