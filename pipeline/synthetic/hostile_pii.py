"""Hostile inputs for the pii stage: texts that made presidio's e-mail pattern quadratic (and so time out and skip
the pattern), floods of detections, and URLs that carry personal data in their query, fragment or path.

Each generator takes a ``size`` so that tests and bench/hostile.py can grow it; the seeded values are fixed, so a
caller can search every output for them. The values are made up (checksums valid where the format has one).
"""

from __future__ import annotations

from urllib.parse import quote

# Values that must never reach an output (the IBAN passes its mod-97 check; the phone is a valid Berlin number).
EMAIL = "erika.mustermann@beispiel-behoerde.de"
EMAIL_2 = "max.muster@verwaltung-beispiel.de"
IBAN = "DE89370400440532013000"
PHONE = "+49 30 1234 5678"
SEEDED = (EMAIL, EMAIL_2, IBAN, PHONE)

_PROSE = (
    "Die Verwaltung veröffentlicht regelmäßig Berichte über ihre Arbeit und die Verwendung der Haushaltsmittel. "
    "Bürgerinnen und Bürger können sich an öffentliche Stellen wenden, wenn sie Fragen zu ihren Rechten haben. "
)


def adversarial_email_runs(size: int) -> dict[str, str]:
    """Strings on which an e-mail pattern with an unbounded local part backtracks from every word start (each ends
    with a real address so the regex engine cannot rule out a match by a missing '@'). Promise: every recognizer
    pattern runs in time linear in ``size``."""
    tail = " " + EMAIL
    return {
        "dotted": "aaaaaa1." * size + tail,  # the 48 KB run at size 6000
        "dots": "1." * (4 * size) + tail,
        "dashes": "a-" * (4 * size) + tail,
        "quotes": "a'" * (4 * size) + tail,
        "dotted-at": "a.a@" * (2 * size) + tail,
        "domain-dashes": "x@" + "b-" * (4 * size) + tail,
    }


def dotted_run_text(size: int) -> str:
    """Prose, a dotted run of ``size`` repetitions (48 KB at 6000), then the seeded e-mails, IBAN and phone in
    prose. Promise: after the pii stage none of the seeded values is in the kept text, or the document is
    quarantined; it is never kept with them."""
    return (
        _PROSE
        + "Kennung: "
        + "aaaaaa1." * size
        + f" Schreiben Sie an {EMAIL} oder an {EMAIL_2}. Unsere IBAN lautet {IBAN}. Telefon: {PHONE}. "
        + _PROSE
    )


def email_flood_text(size: int) -> str:
    """``size`` distinct e-mail addresses in one text. Promise: every one is replaced, in time linear in ``size``
    (overlap resolution was quadratic in the number of detections)."""
    return " ".join(f"Kontakt {i}: person.{i}@beispiel-behoerde.de." for i in range(size))


def pii_url(size: int = 1) -> str:
    """A page URL whose query (plain, percent-encoded and double-encoded), fragment and a path segment carry the
    seeded values, among ``size`` harmless parameters. Promise: none of the values (decoded or not) is in the
    shards' ``url`` column; the scheme, host and harmless parameters remain."""
    harmless = "&".join(f"p{i}=seite{i}" for i in range(size))
    return (
        f"https://www.beispiel-behoerde.de/kontakt/{quote(EMAIL_2, safe='')}/profil"
        f"?{harmless}&mail={quote(EMAIL, safe='')}&iban={IBAN}&tel={quote(PHONE, safe='')}"
        f"&q=Kontakt+{quote(quote(EMAIL_2, safe=''), safe='')}#kontakt={EMAIL}"
    )
