"""Real multilingual text from the shared data (EU public-sector laws, Wikipedia paragraphs) and hand-made hard
cases: the corpus the tokenizer and pack tests share."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.helpers.shared import shared_path


def _json_texts(path: Path) -> list[str]:
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and "text" in key and len(value) > 20:
                    out.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(path.read_text(encoding="utf-8")))
    return out


def real_texts() -> list[str]:
    SHARED = shared_path("conformance")  # noqa: N806 - skips the calling test where the data is absent
    texts = [s["text"] for s in json.loads((SHARED / "resiliparse-lang-samples/samples.json").read_text())]
    for p in sorted((SHARED / "public-sector").rglob("*.md")) + sorted((SHARED / "de-bundesgesetze").glob("*.md")):
        text = p.read_text(encoding="utf-8")
        texts += [text[i : i + 4000] for i in range(0, min(len(text), 40_000), 4000)]
    texts += _json_texts(SHARED / "public-sector/eurlex_digital_acquis_en.json")[:300]
    texts += _json_texts(SHARED / "public-sector/napoleonic_codes_fr.json")[:300]
    return texts


SPACES = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000"


def hard_texts(seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    fixed = [
        "",
        " ",
        "a",
        "aaaaaaaaaaa",
        "ääääääää",
        "Ελληνικά: Η Ευρωπαϊκή Ένωση (ΕΕ) είναι πολιτική και οικονομική ένωση 27 κρατών-μελών.",
        "Русский: Европейский союз — объединение 27 европейских государств. Ёжик ЁЛКА",
        "Български, Српски, Українська: ґанок, їжак, Ђорђе",
        "emoji 😀👍🏽👨‍👩‍👧‍👦🇪🇺 🏳️‍🌈 ok",
        "bad utf-8 " + b"caf\xe9 \xff\xfe na\xefve \xc3".decode("utf-8", errors="replace"),
        "   leading and trailing   ",
        "tabs\t\t\tand\n\n\n\nnewlines \r\n\r\n x",
        "don't it's we're I've I'm you'll he'd 'S 'T O'Neil ''s",
        "<|endoftext|>inside<|endoftext|><|endoftext|> text <|endoftext",
        "Donaudampfschifffahrtsgesellschaftskapitänswitwe " * 3,
        "x" * 3000,  # long word: array path in one word of 3000 bytes is above long_word_bytes -> heap path
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyzäöüß") for _ in range(700)),  # long word, heap path
        "".join(rng.choice("abcdefghij") for _ in range(400)),  # long word, array path
        "1234567890" * 50 + " ٣٤٥ ४५६ ½ Ⅻ",
        "e\u0301 a\u0308 n\u0303 combining marks, ZWJ\u200dand ZWNJ\u200c",
        "ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ　日本語の文章です。中文句子。한국어 문장입니다.",
        "mixed" + SPACES + "spaces" + SPACES,
        "http://example.org/a_b-c?d=e&f=g#h ~~~ !!! ??? ... --- ___",
        "\x00\x01\x1f control \x7f chars \ufeff BOM \U0010fffd private",
    ]
    pool = "aAzZ09 ''sdtmlrve.,;:!?-\n\tÄßéΩЖ中😀\u0301\ufffd\u3000\xa0١٢" + SPACES
    fuzz = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 200))) for _ in range(300)]
    return fixed + fuzz
