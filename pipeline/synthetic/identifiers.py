"""Valid synthetic identifiers (national ids, IBANs, cards, VAT numbers): one generator per type.

Check digits come from python-stdnum, an implementation independent of presidio's and of our recognizers'
pattern code, and every value is checked with stdnum's validator before it is returned. Values are compact
(no spaces); the ``grouped_*`` helpers write them as people do.

Two seeded consumers pin their output: the demo crawl (plan.py) and the PII eval set (pii_evalset.py). Where
the two used to draw an identifier's random body with different rng call sequences, the generator keeps both
draws behind ``draw`` ("eval" or "demo") so that the same seed still gives the same bytes; the layout, check
digits and validation are shared.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Literal

from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.at import vnr
from stdnum.be import nn
from stdnum.de import idnr
from stdnum.dk import cpr
from stdnum.es import ccc, dni, nie
from stdnum.eu import vat as std_vat
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.pt import nif
from stdnum.se import personnummer

Draw = Literal["eval", "demo"]


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _checked(value: str, is_valid: Callable[[str], bool]) -> str:
    if not is_valid(value):  # a generator bug, never a property of the seed: fail loudly (no value in the message)
        raise ValueError("synthetic identifier failed its python-stdnum validation")
    return value


def _complete(rng: random.Random, base: Callable[[], str], ok: Callable[[str], bool], alphabet: str) -> str:
    """A base plus the one final character that makes it valid (redrawn until some character does)."""
    while True:
        b = base()
        for c in alphabet:
            if ok(b + c):
                return b + c


def _date6(rng: random.Random, order: str = "dmy") -> str:
    y, m, d = rng.randint(1940, 2004), rng.randint(1, 12), rng.randint(1, 28)
    parts = {"d": f"{d:02d}", "m": f"{m:02d}", "y": f"{y % 100:02d}"}
    return "".join(parts[k] for k in order)


def grouped_nir(n: str) -> str:
    """NIR as printed: s yy mm dd ccc ooo kk."""
    return " ".join([n[0], n[1:3], n[3:5], n[5:7], n[7:10], n[10:13], n[13:]])


def grouped4(code: str) -> str:
    """IBAN / card number in groups of four."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


# ---------------------------------------------------------------------------------------------- national ids


def de_tax_id(rng: random.Random, draw: Draw = "eval") -> str:
    """Steuerliche Identifikationsnummer: 10 digits (first not 0, one digit repeated) + ISO 7064 MOD 11,10."""
    if draw == "eval":
        return _complete(rng, lambda: str(rng.randint(1, 9)) + digits(rng, 9), idnr.is_valid, string.digits)
    while True:  # nine distinct digits and one of them again: the repetition rule holds by construction
        body_digits = rng.sample(range(10), 9)
        body_digits.insert(rng.randrange(1, 10), body_digits[rng.randrange(9)])
        if body_digits[0] != 0:
            body = "".join(map(str, body_digits))
            return _checked(body + mod_11_10.calc_check_digit(body), idnr.is_valid)


_ICAO = "CFGHJKLMNPRTVWXYZ"


def de_id_card(rng: random.Random) -> str:
    """Personalausweis serial: 9 characters + ICAO 9303 check digit (weights 7, 3, 1).
    Hand-rolled: python-stdnum has no module for the German identity card."""
    body = rng.choice(_ICAO) + "".join(rng.choice(_ICAO + string.digits) for _ in range(7))
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]  # ICAO 9303: A=10 ... Z=35
    return body + str(sum(v * (7, 3, 1)[i % 3] for i, v in enumerate(values)) % 10)


def fr_nir(rng: random.Random, draw: Draw = "eval") -> str:
    """Numéro de sécurité sociale: sex, yy, mm, département, commune, order + key (97 - n mod 97)."""
    if draw == "eval":
        base = str(rng.randint(1, 2)) + _date6(rng, "ym")[:4] + f"{rng.randint(1, 95):02d}" + digits(rng, 6)
    else:
        base = f"{rng.choice('12')}{rng.randrange(50, 100):02d}{rng.randrange(1, 13):02d}{rng.randrange(1, 96):02d}"
        base += f"{rng.randrange(1, 990):03d}{rng.randrange(1, 999):03d}"
    return _checked(base + nir.calc_check_digits(base), nir.is_valid)


def es_nif(rng: random.Random, draw: Draw = "eval") -> str:
    """DNI/NIF: 8 digits + control letter."""
    base = digits(rng, 8) if draw == "eval" else f"{rng.randrange(10_000_000, 99_999_999):08d}"
    return _checked(base + dni.calc_check_digit(base), dni.is_valid)


def es_nie(rng: random.Random) -> str:
    base = rng.choice("XYZ") + digits(rng, 7)
    return _checked(base + nie.calc_check_digit(base), nie.is_valid)


_CONSONANTS = "BCDFGHLMNPRSTVZ"


def it_fiscal_code(rng: random.Random, draw: Draw = "eval") -> str:
    """Codice fiscale: 3+3 letters, yy, month letter, day (+40 women), Belfiore code, control letter."""
    if draw == "eval":
        name = "".join(rng.choice(_CONSONANTS) if i % 3 != 2 else rng.choice("AEIOU") for i in range(6))  # "RSSMRA"
        base = name + f"{rng.randint(40, 99)}" + rng.choice("ABCDEHLMPRST")
        base += f"{rng.randint(1, 28) + rng.choice((0, 40)):02d}"
        base += rng.choice("ABCDEFGHILM") + f"{rng.randint(1, 999):03d}"
    else:
        letters = "".join(rng.choice("BCDFGLMNPRSTVZ") for _ in range(6))
        day = rng.randrange(1, 29) + rng.choice((0, 40))
        belfiore = rng.choice(("H501", "F205", "L219", "G273", "A944", "D612"))
        base = f"{letters}{rng.randrange(50, 100):02d}{rng.choice('ABCDEHLMPRST')}{day:02d}{belfiore}"
    return _checked(base + codicefiscale.calc_check_digit(base), codicefiscale.is_valid)


def pl_pesel(rng: random.Random, draw: Draw = "eval") -> str:
    """PESEL: yymmdd (month + 20 from 2000) + 4-digit serial + check digit."""
    if draw == "eval":
        y, m, d = rng.randint(1940, 2010), rng.randint(1, 12), rng.randint(1, 28)
        serial = digits(rng, 4)
    else:
        y, m = rng.randrange(1950, 2006), rng.randrange(1, 13)
        d, serial = rng.randrange(1, 29), f"{rng.randrange(10_000):04d}"
    base = f"{y % 100:02d}{m + (20 if y >= 2000 else 0):02d}{d:02d}" + serial
    return _checked(base + pesel.calc_check_digit(base), pesel.is_valid)


def nl_bsn(rng: random.Random) -> str:
    """Burgerservicenummer: 9 digits passing the 11-test (bodies whose check would be 10 are redrawn)."""
    return _complete(rng, lambda: str(rng.randint(1, 9)) + digits(rng, 7), bsn.is_valid, string.digits)


def pt_nif(rng: random.Random) -> str:
    base = str(rng.choice((1, 2))) + digits(rng, 7)
    return _checked(base + nif.calc_check_digit(base), nif.is_valid)


def be_national_number(rng: random.Random) -> str:
    def base() -> str:
        return _date6(rng, "ymd") + f"{rng.randint(1, 997):03d}" + str(rng.randint(0, 9))

    return _complete(rng, base, nn.is_valid, string.digits)


def at_social_security(rng: random.Random) -> str:
    """Versicherungsnummer: serial, check digit, date of birth (ddmmyy)."""
    while True:  # serials whose check digit would be 10 are not issued
        serial, date = str(rng.randint(100, 999)), _date6(rng, "dmy")
        check = vnr.calc_check_digit(serial + "0" + date)
        if len(check) == 1:
            return _checked(serial + check + date, vnr.is_valid)


def se_personnummer(rng: random.Random) -> str:
    return _complete(rng, lambda: _date6(rng, "ymd") + "-" + digits(rng, 3), personnummer.is_valid, string.digits)


_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def fi_hetu(rng: random.Random) -> str:
    def base() -> str:
        d = _date6(rng, "dmy")
        return d + ("-" if int(d[4:]) > 10 else "A") + f"{rng.randint(2, 899):03d}"

    return _complete(rng, base, hetu.is_valid, _HETU_CHECK)


def dk_cpr(rng: random.Random) -> str:
    return _complete(rng, lambda: _date6(rng, "dmy") + "-" + digits(rng, 3), cpr.is_valid, string.digits)


_NINO_LETTERS = "ABCEGHJKLMNPRSTWXYZ"


def uk_nino(rng: random.Random) -> str:
    """National Insurance number (compact): two prefix letters, six digits, suffix letter. No check digit:
    python-stdnum has no module for it; the prefixes HMRC never issues are avoided."""
    first, second = rng.choice(_NINO_LETTERS), rng.choice(_NINO_LETTERS)
    while first + second in {"BG", "GB", "NK", "KN", "NT", "TN", "ZZ"}:
        second = rng.choice(_NINO_LETTERS)
    return f"{first}{second}{digits(rng, 6)}{rng.choice('ABCD')}"


# ---------------------------------------------------------------------------------------------- money


# BBAN shapes per country: n = digit, a = capital letter (lengths from the IBAN registry).
BBAN_SHAPES = {
    "AT": "n" * 16, "BG": "aaaa" + "n" * 14, "CZ": "n" * 20, "DE": "n" * 18, "DK": "n" * 14, "ES": "n" * 20,
    "FI": "n" * 14, "FR": "n" * 23, "GB": "aaaa" + "n" * 14, "GR": "n" * 23, "HU": "n" * 24, "IT": "a" + "n" * 22,
    "NL": "aaaa" + "n" * 10, "PL": "n" * 24, "PT": "n" * 21, "SE": "n" * 20,
}  # fmt: skip


def iban_from_bban(country: str, bban: str) -> str:
    """ISO 13616 IBAN of a BBAN (check digits by python-stdnum)."""
    return _checked(country + std_iban.calc_check_digits(country + "00" + bban) + bban, std_iban.is_valid)


def iban(rng: random.Random, country: str = "DE") -> str:
    """A random account of the country's BBAN shape; Spanish ones carry valid CCC check digits too."""
    bban = "".join(
        rng.choice(string.ascii_uppercase) if c == "a" else str(rng.randrange(10)) for c in BBAN_SHAPES[country]
    )
    if country == "ES":  # the national check digits are validated too (e.g. by python-stdnum)
        bban = bban[:8] + ccc.calc_check_digits(bban) + bban[10:]
    return iban_from_bban(country, bban)


def card(rng: random.Random) -> str:
    """A 16-digit Visa or Mastercard number (Luhn)."""
    base = rng.choice(["4" + digits(rng, 14), str(rng.randint(51, 55)) + digits(rng, 13)])
    return _checked(base + luhn.calc_check_digit(base), luhn.is_valid)


_VAT_BASES: dict[str, Callable[[random.Random], str]] = {
    "DE": lambda r: "DE" + str(r.randint(1, 9)) + digits(r, 7),
    "AT": lambda r: "ATU" + digits(r, 7),
    "NL": lambda r: "NL" + digits(r, 8),
    "FR": lambda r: "FR",
    "IT": lambda r: "IT" + digits(r, 10),
    "PL": lambda r: "PL" + str(r.randint(1, 9)) + digits(r, 8),
    "PT": lambda r: "PT" + str(r.randint(1, 2)) + digits(r, 7),
    "ES": lambda r: "ESB" + digits(r, 7),
    "FI": lambda r: "FI" + digits(r, 7),
    "DK": lambda r: "DK" + str(r.randint(1, 9)) + digits(r, 6),
}


def vat(rng: random.Random, country: str = "DE") -> str:
    """An EU VAT number of the country (stdnum.eu.vat valid)."""
    if country == "FR":  # check digits come first: key = (12 + 3 * (SIREN % 97)) % 97
        siren = _complete(rng, lambda: str(rng.randint(1, 9)) + digits(rng, 7), luhn.is_valid, string.digits)
        return _checked(f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}", std_vat.is_valid)
    if country == "NL":
        base = _complete(rng, lambda: "NL" + digits(rng, 8), lambda v: std_vat.is_valid(v + "B01"), string.digits)
        return base + "B01"
    return _complete(rng, lambda: _VAT_BASES[country](rng), std_vat.is_valid, string.digits + "ABCDEFGHJ")
