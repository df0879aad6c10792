"""The PII stage's labelled multilingual evaluation set (used by bench/pii_bench.py and the PII tests).

Valid identifiers come from ``identifiers.py`` (python-stdnum computes and checks the check digits: an
implementation independent of presidio's and of our recognizers' pattern code) and are embedded in natural
sentences in the country's language. Hard negatives sit in the same documents: the same identifiers with a
wrong check digit in the same sentences, order and invoice numbers, dates, prices and legal citations
(``pii_negatives.py``). ``generate()`` returns documents in the stage's column layout plus ``gold`` spans;
``score()`` scores predicted spans against them.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

from stdnum import iban, luhn
from stdnum.at import vnr
from stdnum.be import nn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.eu import vat
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.pt import nif
from stdnum.se import personnummer

from sovereign.pipeline.schema import document_id
from sovereign.pipeline.synthetic import contacts
from sovereign.pipeline.synthetic import identifiers as ids
from sovereign.pipeline.synthetic.identifiers import digits
from sovereign.pipeline.synthetic.pii_negatives import NEGATIVES

# Entities whose validity rests on a check digit / checksum (the recall >= 0.98 target).
CHECKSUM_ENTITIES = frozenset(
    {
        "IBAN_CODE", "CREDIT_CARD", "EU_VAT", "AT_SOCIAL_SECURITY", "BE_NATIONAL_NUMBER", "DE_ID_CARD",
        "DE_TAX_ID", "ES_NIE", "ES_NIF", "FI_PERSONAL_IDENTITY_CODE", "FR_NIR", "IT_FISCAL_CODE", "NL_BSN",
        "PL_PESEL", "PT_NIF", "SE_PERSONNUMMER",
    }
)  # fmt: skip


@dataclass
class EvalDoc:
    id: str
    text: str
    language: str
    url: str
    domain: str
    gold: list[tuple[int, int, str]] = field(default_factory=list)  # start, end, entity

    def row(self) -> dict[str, object]:
        return {"id": self.id, "text": self.text, "language": self.language, "url": self.url, "domain": self.domain}


Gen = Callable[[random.Random], str]


def _spaced(rng: random.Random, value: str, p: float, layout: Callable[[str], str]) -> str:
    """The value as people write it (``layout``) with probability ``p``, else compact."""
    return layout(value) if rng.random() < p else value


def gen_de_tax_id(rng: random.Random) -> str:
    return ids.de_tax_id(rng)


def gen_fr_nir(rng: random.Random) -> str:
    return _spaced(rng, ids.fr_nir(rng), 0.6, ids.grouped_nir)


def gen_pl_pesel(rng: random.Random) -> str:
    return ids.pl_pesel(rng)


def gen_iban(rng: random.Random, country: str = "DE") -> str:
    return _spaced(rng, ids.iban(rng, country), 0.7, ids.grouped4)


def _gen_be_nn(rng: random.Random) -> str:
    return _spaced(rng, ids.be_national_number(rng), 0.6, lambda n: f"{n[0:2]}.{n[2:4]}.{n[4:6]}-{n[6:9]}.{n[9:]}")


def _gen_at_vsnr(rng: random.Random) -> str:
    return _spaced(rng, ids.at_social_security(rng), 0.6, lambda n: f"{n[:4]} {n[4:]}")


def _gen_uk_nino(rng: random.Random) -> str:
    return _spaced(rng, ids.uk_nino(rng), 0.5, lambda v: f"{v[:2]} {v[2:4]} {v[4:6]} {v[6:8]} {v[8]}")


def _gen_card(rng: random.Random) -> str:
    return _spaced(rng, ids.card(rng), 0.7, ids.grouped4)


# (entity, language, tld, generator, sentences with {v}): sentences in the country's language.
POSITIVES: list[tuple[str, str, str, Gen, list[str]]] = [
    ("DE_TAX_ID", "de", "de", gen_de_tax_id, [
        "Bitte geben Sie Ihre Steuer-ID {v} bei der Anmeldung an.",
        "Meine steuerliche Identifikationsnummer lautet {v}.",
        "Die IdNr {v} steht auf dem Bescheid des Finanzamts.",
    ]),
    ("DE_ID_CARD", "de", "de", ids.de_id_card, [
        "Die Nummer meines Personalausweises ist {v}.",
        "Ausweisnummer: {v}, gültig bis 2031.",
    ]),
    ("AT_SOCIAL_SECURITY", "de", "at", _gen_at_vsnr, [
        "Meine Sozialversicherungsnummer lautet {v}.",
        "Bitte die SV-Nummer {v} auf dem Formular eintragen.",
    ]),
    ("FR_NIR", "fr", "fr", gen_fr_nir, [
        "Mon numéro de sécurité sociale est le {v}.",
        "Indiquez votre NIR {v} sur la feuille de soins.",
    ]),
    ("BE_NATIONAL_NUMBER", "nl", "be", _gen_be_nn, [
        "Mijn rijksregisternummer is {v}.",
        "Vermeld uw rijksregisternummer {v} op het formulier.",
    ]),
    ("BE_NATIONAL_NUMBER", "fr", "be", _gen_be_nn, ["Mon numéro de registre national est le {v}."]),
    ("ES_NIF", "es", "es", ids.es_nif, [
        "Mi DNI es {v} y vivo en Madrid.",
        "Por favor, indique su NIF {v} en la factura.",
    ]),
    ("ES_NIE", "es", "es", ids.es_nie, ["El NIE del solicitante es {v}.", "Número de identidad de extranjero: {v}."]),
    ("IT_FISCAL_CODE", "it", "it", ids.it_fiscal_code, [
        "Il mio codice fiscale è {v}.",
        "Inserire il codice fiscale {v} nel modulo.",
    ]),
    ("PL_PESEL", "pl", "pl", gen_pl_pesel, ["Mój numer PESEL to {v}.", "Proszę podać PESEL {v} w formularzu."]),
    ("NL_BSN", "nl", "nl", ids.nl_bsn, [
        "Mijn BSN is {v}.",
        "Vul uw burgerservicenummer {v} in op het formulier.",
    ]),
    ("PT_NIF", "pt", "pt", ids.pt_nif, [
        "O meu NIF é {v}.",
        "Indique o número de contribuinte {v} na fatura.",
    ]),
    ("SE_PERSONNUMMER", "sv", "se", ids.se_personnummer, [
        "Mitt personnummer är {v}.",
        "Ange ditt personnummer {v} i ansökan.",
    ]),
    ("FI_PERSONAL_IDENTITY_CODE", "fi", "fi", ids.fi_hetu, [
        "Henkilötunnukseni on {v}.",
        "Hetu: {v}, syntynyt Helsingissä.",
    ]),
    ("DK_CPR", "da", "dk", ids.dk_cpr, ["Mit CPR-nummer er {v}.", "Oplys venligst dit cpr-nummer {v}."]),
    ("UK_NINO", "en", "uk", _gen_uk_nino, [
        "My national insurance number is {v}.",
        "Please quote your NINO {v} on the form.",
    ]),
    ("IBAN_CODE", "de", "de", lambda r: gen_iban(r, "DE"), ["Bitte überweisen Sie den Betrag auf IBAN {v}."]),
    ("IBAN_CODE", "nl", "nl", lambda r: gen_iban(r, "NL"), ["Ons rekeningnummer is {v}."]),
    ("IBAN_CODE", "pl", "pl", lambda r: gen_iban(r, "PL"), ["Numer rachunku: {v}."]),
    ("IBAN_CODE", "it", "it", lambda r: gen_iban(r, "IT"), ["Il pagamento va effettuato sull'IBAN {v}."]),
    ("IBAN_CODE", "fi", "fi", lambda r: gen_iban(r, "FI"), ["Tilinumero: {v}."]),
    ("CREDIT_CARD", "en", "uk", _gen_card, ["I paid with my card {v} yesterday."]),
    ("CREDIT_CARD", "de", "de", _gen_card, ["Kreditkarte: {v}, Ablauf 09/27."]),
    ("EU_VAT", "de", "de", lambda r: ids.vat(r, "DE"), ["Unsere USt-IdNr. lautet {v}."]),
    ("EU_VAT", "de", "at", lambda r: ids.vat(r, "AT"), ["UID-Nummer: {v}"]),
    ("EU_VAT", "fr", "fr", lambda r: ids.vat(r, "FR"), ["Numéro de TVA intracommunautaire : {v}."]),
    ("EU_VAT", "nl", "nl", lambda r: ids.vat(r, "NL"), ["Ons btw-nummer is {v}."]),
    ("EU_VAT", "it", "it", lambda r: ids.vat(r, "IT"), ["Partita IVA: {v}."]),
    ("EU_VAT", "pl", "pl", lambda r: ids.vat(r, "PL"), ["NIP UE: {v}."]),
    ("EU_VAT", "es", "es", lambda r: ids.vat(r, "ES"), ["Nuestro número de IVA es {v}."]),
    ("EMAIL_ADDRESS", "de", "de", lambda r: contacts.email(r, "de"), ["Schreiben Sie mir an {v}, danke."]),
    ("EMAIL_ADDRESS", "fr", "fr", lambda r: contacts.email(r, "fr"), ["Contactez-moi à l'adresse {v}."]),
    ("EMAIL_ADDRESS", "pl", "pl", lambda r: contacts.email(r, "pl"), ["Mój adres e-mail to {v}."]),
    ("IP_ADDRESS", "en", "uk", contacts.ip_address, ["The request came from {v} at noon."]),
    ("IP_ADDRESS", "de", "de", contacts.ip_address, ["Zugriff von der IP-Adresse {v} protokolliert."]),
]  # fmt: skip

for _region, _lang, _tld, _sentences in [
    ("DE", "de", "de", ["Rufen Sie mich unter {v} an.", "Telefon: {v}", "Sie erreichen uns unter {v}."]),
    ("AT", "de", "at", ["Tel. {v}", "Erreichbar unter {v}."]),
    ("FR", "fr", "fr", ["Appelez-moi au {v}.", "Tél. : {v}"]),
    ("BE", "fr", "be", ["Téléphone : {v}"]),
    ("NL", "nl", "nl", ["Bel mij op {v}.", "Telefoon: {v}"]),
    ("ES", "es", "es", ["Llámame al {v}.", "Teléfono: {v}"]),
    ("IT", "it", "it", ["Chiamami al {v}.", "Telefono: {v}"]),
    ("PL", "pl", "pl", ["Zadzwoń pod numer {v}.", "Tel. {v}"]),
    ("PT", "pt", "pt", ["Ligue-me para o {v}.", "Telefone: {v}"]),
    ("SE", "sv", "se", ["Ring mig på {v}.", "Tfn {v}"]),
    ("FI", "fi", "fi", ["Soita minulle numeroon {v}.", "Puh. {v}"]),
    ("DK", "da", "dk", ["Ring til mig på {v}.", "Tlf. {v}"]),
    ("GB", "en", "uk", ["Call me on {v}.", "Phone: {v}"]),
]:
    POSITIVES.append(("PHONE_NUMBER", _lang, _tld, lambda r, g=_region: contacts.phone(r, g), _sentences))

_CORRUPT_TEMPLATES = {  # wrong check digit in the positive sentences: must NOT be flagged
    "DE_TAX_ID": idnr.is_valid, "FR_NIR": nir.is_valid, "ES_NIF": dni.is_valid, "ES_NIE": nie.is_valid,
    "IT_FISCAL_CODE": codicefiscale.is_valid, "PL_PESEL": pesel.is_valid, "NL_BSN": bsn.is_valid,
    "PT_NIF": nif.is_valid, "BE_NATIONAL_NUMBER": nn.is_valid, "AT_SOCIAL_SECURITY": vnr.is_valid,
    "SE_PERSONNUMMER": personnummer.is_valid, "FI_PERSONAL_IDENTITY_CODE": hetu.is_valid,
    "IBAN_CODE": iban.is_valid, "CREDIT_CARD": luhn.is_valid, "EU_VAT": vat.is_valid,
}  # fmt: skip


def _fill(rng: random.Random, template: str) -> str:
    out = template.replace("{date}", f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.20{rng.randint(10, 25)}")
    for n in (6, 7, 8, 9, 10):
        while "{" + str(n) + "}" in out:
            out = out.replace("{" + str(n) + "}", str(rng.randint(1, 9)) + digits(rng, n - 1), 1)
    return out


def _corrupt(rng: random.Random, value: str, ok: Callable[[str], bool]) -> str | None:
    digit_positions = [i for i, c in enumerate(value) if c.isdigit()]
    for _ in range(20):
        i = digit_positions[-1] if rng.random() < 0.7 else rng.choice(digit_positions)
        bad = value[:i] + rng.choice([d for d in string.digits if d != value[i]]) + value[i + 1 :]
        if not ok(bad.replace(" ", "").replace(".", "").replace("-", "")) and not ok(bad):
            return bad
    return None


def generate(seed: int = 4, per_template: int = 6) -> list[EvalDoc]:
    """Documents of 2-4 sentences: one labelled value, its corrupted twin where it has a checksum, and hard
    negatives in the same language."""
    rng = random.Random(seed)
    docs: list[EvalDoc] = []
    for entity, lang, tld, gen, sentences in POSITIVES:
        for sentence in sentences:
            for _ in range(per_template):
                value = gen(rng)
                pre = _fill(rng, rng.choice(NEGATIVES[lang])) + " "
                start = len(pre) + sentence.index("{v}")
                text = pre + sentence.replace("{v}", value)
                gold = [(start, start + len(value), entity)]
                ok = _CORRUPT_TEMPLATES.get(entity)
                bad = _corrupt(rng, value, ok) if ok else None
                if bad is not None:
                    text += " " + rng.choice(sentences).replace("{v}", bad)
                text += " " + _fill(rng, rng.choice(NEGATIVES[lang]))
                docs.append(EvalDoc("", text, lang, f"https://www.example.{tld}/page", f"www.example.{tld}", gold))
    for lang, negatives in sorted(NEGATIVES.items()):  # documents without any PII
        for _ in range(per_template * 3):
            text = " ".join(_fill(rng, t) for t in rng.sample(negatives, min(3, len(negatives))))
            docs.append(EvalDoc("", text, lang, "https://www.example.eu/news", "www.example.eu"))
    for i, d in enumerate(docs):
        d.id = document_id(f"pii-evalset:{seed}:{i}")
    return docs


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0


def score(
    docs: list[EvalDoc], predicted: list[list[tuple[int, int, str]]], entities: set[str] | None = None
) -> dict[str, Score]:
    """Per-entity span scores: a gold span is found when a prediction of the same entity overlaps it; a
    prediction that overlaps no gold span of its entity is a false positive."""
    out: dict[str, Score] = {}
    for doc, preds in zip(docs, predicted, strict=True):
        for s, e, ent in doc.gold:
            hit = any(ps < e and s < pe and pe_ent == ent for ps, pe, pe_ent in preds)
            sc = out.setdefault(ent, Score())
            sc.tp, sc.fn = sc.tp + hit, sc.fn + (not hit)
        for ps, pe, ent in preds:
            if entities is not None and ent not in entities:
                continue
            if not any(ps < e and s < pe and g == ent for s, e, g in doc.gold):
                out.setdefault(ent, Score()).fp += 1
    return dict(sorted(out.items()))
