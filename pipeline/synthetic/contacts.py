"""Synthetic contact data: phone numbers, e-mail addresses and IP addresses.

The demo crawl writes each language's capital-city fixed lines (``national_phone``) and role or name addresses
on the site's own domain (``contact_email``); the PII eval set draws numbers per region until libphonenumber
accepts one (``phone``), plus free-mail style addresses and IPv4/IPv6 addresses.
"""

from __future__ import annotations

import random

import phonenumbers

from sovereign.pipeline.synthetic.banks import slug
from sovereign.pipeline.synthetic.identifiers import digits


def _fmt_digits(rng: random.Random, pattern: str) -> str:
    """'D' = digit 2-9, 'E' = digit 2-8 (valid first subscriber digits), 'd' = any digit."""
    ranges = {"D": (2, 10), "E": (2, 9), "d": (0, 10)}
    return "".join(str(rng.randrange(*ranges[c])) if c in ranges else c for c in pattern)


# National formats of fixed-line numbers in capital cities (valid per libphonenumber); the UK one is in
# Ofcom's range reserved for drama.
PHONE_PATTERNS = {
    "de": ("+49 30 Dddd dddd", "030 Dddddddd"),
    "fr": ("01 4d dd dd dd", "+33 1 4d dd dd dd"),
    "es": ("+34 91D ddd ddd", "91D dd dd dd"),
    "it": ("+39 06 Dddd dddd", "06 Dddd dddd"),
    "pl": ("+48 22 Ddd dd dd", "22 Ddd dd dd"),
    "nl": ("+31 20 Ddd dddd", "020 Ddd dddd"),
    "pt": ("+351 21D ddd ddd", "21D ddd ddd"),
    "sv": ("08-Ddd dd dd", "+46 8 Ddd dd dd"),
    "cs": ("+420 2Dd ddd ddd", "2Dd ddd ddd"),
    "fi": ("09 Eddd ddd", "+358 9 Eddd ddd"),
    "hu": ("+36 1 Ddd dddd", "(06 1) Ddd dddd"),
    "el": ("+30 210 Ddd dddd", "210 Ddd dddd"),
    "bg": ("+359 2 Ddd dddd", "02 Ddd dddd"),
    "en": ("020 7946 0ddd", "+44 20 7946 0ddd"),
}


def national_phone(rng: random.Random, lang: str) -> str:
    """A fixed-line number in the capital of the language's country, in one of its usual notations."""
    return _fmt_digits(rng, rng.choice(PHONE_PATTERNS[lang]))


def contact_email(name: str, domain: str, rng: random.Random) -> str:
    """first.last[nn]@domain from a person's name; a role address where the name is not in Latin script."""
    parts = [p for p in slug(name).split("-") if p] or ["kontakt"]
    if not slug(name):  # Greek/Cyrillic names: a role address, as such offices use
        parts = [rng.choice(("info", "grammateia", "office", "priem"))]
    return ".".join(parts[:2]) + f"{rng.randrange(1, 99) if rng.random() < 0.3 else ''}@{domain}"


_FORMATS = {  # "{n}": n random digits
    "DE": ["030 {8}", "+49 30 {8}", "0171 {7}", "+49 171 {7}", "089 {7}"],
    "AT": ["01 {7}", "+43 1 {7}", "0664 {7}"],
    "FR": ["01 {2} {2} {2} {2}", "06 {2} {2} {2} {2}", "+33 1 {2} {2} {2} {2}"],
    "NL": ["020-{7}", "06-{8}", "+31 20 {7}"],
    "BE": ["02 {3} {2} {2}", "+32 2 {3} {2} {2}"],
    "ES": ["91 {3} {2} {2}", "6{2} {3} {3}", "+34 91 {3} {2} {2}"],
    "IT": ["06 {4} {4}", "3{2} {3} {4}", "+39 06 {4} {4}"],
    "PL": ["22 {3} {2} {2}", "5{2} {3} {3}", "+48 22 {3} {2} {2}"],
    "PT": ["21 {3} {4}", "91{1} {3} {3}", "+351 21 {3} {4}"],
    "SE": ["08-{3} {3} {2}", "070-{3} {2} {2}", "+46 8 {3} {3} {2}"],
    "FI": ["09 {3} {4}", "040 {3} {4}", "+358 9 {3} {4}"],
    "DK": ["{2} {2} {2} {2}", "+45 {2} {2} {2} {2}"],
    "GB": ["020 7{3} {4}", "07700 {6}", "+44 20 7{3} {4}"],
}


def phone(rng: random.Random, region: str) -> str:
    """A fixed or mobile number of the region that libphonenumber accepts as valid."""
    formats = _FORMATS[region]
    while True:
        fmt = rng.choice(formats)
        out, i = [], 0
        while i < len(fmt):
            if fmt[i] == "{":
                j = fmt.index("}", i)
                out.append(digits(rng, int(fmt[i + 1 : j])))
                i = j + 1
            else:
                out.append(fmt[i])
                i += 1
        number = "".join(out)
        if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
            return number


def email(rng: random.Random, tld: str) -> str:
    first = rng.choice(["anna", "jan", "marie", "luca", "sofia", "piotr", "joao", "emma", "mikko", "lars"])
    last = rng.choice(["schmidt", "dubois", "devries", "rossi", "garcia", "kowalski", "silva", "nielsen"])
    return f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(['mail', 'post', 'example', 'firma'])}.{tld}"


def ip_address(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return "2001:db8:" + ":".join(f"{rng.randint(0, 65535):x}" for _ in range(6))
