"""A deterministic labelled multilingual evaluation set for the PII stage.

Valid identifiers are generated from each country's rules (python-stdnum computes or checks the check
digits: an implementation independent of presidio's and of our recognizers' pattern code) and embedded in
natural sentences in the country's language. Hard negatives sit in the same documents: the same
identifiers with a wrong check digit in the same sentences, order and invoice numbers, dates, prices and
legal citations. ``generate()`` returns documents in the stage's column layout plus ``gold`` spans.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.at import vnr
from stdnum.be import nn
from stdnum.de import idnr
from stdnum.dk import cpr
from stdnum.es import dni, nie
from stdnum.eu import vat
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.pt import nif
from stdnum.se import personnummer

from pipeline.schema import document_id

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


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


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


def gen_de_tax_id(rng: random.Random) -> str:
    return _complete(rng, lambda: str(rng.randint(1, 9)) + _digits(rng, 9), idnr.is_valid, string.digits)


_ICAO = "CFGHJKLMNPRTVWXYZ"


def gen_de_id_card(rng: random.Random) -> str:
    body = rng.choice(_ICAO) + "".join(rng.choice(_ICAO + string.digits) for _ in range(7))
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]  # ICAO 9303: A=10 ... Z=35
    return body + str(sum(v * (7, 3, 1)[i % 3] for i, v in enumerate(values)) % 10)


def gen_fr_nir(rng: random.Random) -> str:
    base = str(rng.randint(1, 2)) + _date6(rng, "ym")[:4] + f"{rng.randint(1, 95):02d}" + _digits(rng, 6)
    n = base + nir.calc_check_digits(base)
    return " ".join([n[0], n[1:3], n[3:5], n[5:7], n[7:10], n[10:13], n[13:]]) if rng.random() < 0.6 else n


def gen_es_nif(rng: random.Random) -> str:
    base = _digits(rng, 8)
    return base + dni.calc_check_digit(base)


def gen_es_nie(rng: random.Random) -> str:
    base = rng.choice("XYZ") + _digits(rng, 7)
    return base + nie.calc_check_digit(base)


_CONSONANTS = "BCDFGHLMNPRSTVZ"


def gen_it_fiscal_code(rng: random.Random) -> str:
    name = "".join(rng.choice(_CONSONANTS) if i % 3 != 2 else rng.choice("AEIOU") for i in range(6))  # "RSSMRA"
    base = (
        name + f"{rng.randint(40, 99)}" + rng.choice("ABCDEHLMPRST") + f"{rng.randint(1, 28) + rng.choice((0, 40)):02d}"
    )
    base += rng.choice("ABCDEFGHILM") + f"{rng.randint(1, 999):03d}"
    return base + codicefiscale.calc_check_digit(base)


def gen_pl_pesel(rng: random.Random) -> str:
    y, m, d = rng.randint(1940, 2010), rng.randint(1, 12), rng.randint(1, 28)
    base = f"{y % 100:02d}{m + (20 if y >= 2000 else 0):02d}{d:02d}" + _digits(rng, 4)
    return base + pesel.calc_check_digit(base)


def gen_nl_bsn(rng: random.Random) -> str:
    return _complete(rng, lambda: str(rng.randint(1, 9)) + _digits(rng, 7), bsn.is_valid, string.digits)


def gen_pt_nif(rng: random.Random) -> str:
    base = str(rng.choice((1, 2))) + _digits(rng, 7)
    return base + nif.calc_check_digit(base)


def gen_be_nn(rng: random.Random) -> str:
    def base() -> str:
        return _date6(rng, "ymd") + f"{rng.randint(1, 997):03d}" + str(rng.randint(0, 9))

    n = _complete(rng, base, nn.is_valid, string.digits)
    return f"{n[0:2]}.{n[2:4]}.{n[4:6]}-{n[6:9]}.{n[9:]}" if rng.random() < 0.6 else n


def gen_at_vsnr(rng: random.Random) -> str:
    while True:  # serials whose check digit would be 10 are not issued
        serial, date = str(rng.randint(100, 999)), _date6(rng, "dmy")
        check = vnr.calc_check_digit(serial + "0" + date)
        if len(check) == 1:
            break
    n = serial + check + date
    return f"{n[:4]} {n[4:]}" if rng.random() < 0.6 else n


def gen_se_personnummer(rng: random.Random) -> str:
    return _complete(rng, lambda: _date6(rng, "ymd") + "-" + _digits(rng, 3), personnummer.is_valid, string.digits)


_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def gen_fi_hetu(rng: random.Random) -> str:
    def base() -> str:
        d = _date6(rng, "dmy")
        return d + ("-" if int(d[4:]) > 10 else "A") + f"{rng.randint(2, 899):03d}"

    return _complete(rng, base, hetu.is_valid, _HETU_CHECK)


def gen_dk_cpr(rng: random.Random) -> str:
    return _complete(rng, lambda: _date6(rng, "dmy") + "-" + _digits(rng, 3), cpr.is_valid, string.digits)


def gen_uk_nino(rng: random.Random) -> str:
    first, second = rng.choice("ABCEGHJKLMNPRSTWXYZ"), rng.choice("ABCEGHJKLMNPRSTWXYZ")
    while first + second in {"BG", "GB", "NK", "KN", "NT", "TN", "ZZ"}:
        second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    d = _digits(rng, 6)
    tail = rng.choice("ABCD")
    return f"{first}{second} {d[:2]} {d[2:4]} {d[4:]} {tail}" if rng.random() < 0.5 else f"{first}{second}{d}{tail}"


_IBAN_BBAN = {"DE": 18, "AT": 16, "PL": 24, "NL": None, "FI": 14, "DK": 14, "SE": 20, "IT": None}


def gen_iban(rng: random.Random, country: str = "DE") -> str:
    n = _IBAN_BBAN[country]
    if country == "NL":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + _digits(rng, 10)
    elif country == "IT":
        bban = rng.choice(string.ascii_uppercase) + _digits(rng, 22)
    else:
        bban = _digits(rng, n or 0)
    code = country + iban.calc_check_digits(country + "00" + bban) + bban
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4)) if rng.random() < 0.7 else code


def gen_card(rng: random.Random) -> str:
    base = rng.choice(["4" + _digits(rng, 14), str(rng.randint(51, 55)) + _digits(rng, 13)])
    n = base + luhn.calc_check_digit(base)
    return " ".join(n[i : i + 4] for i in range(0, 16, 4)) if rng.random() < 0.7 else n


_VAT_BASES: dict[str, Callable[[random.Random], str]] = {
    "DE": lambda r: "DE" + str(r.randint(1, 9)) + _digits(r, 7),
    "AT": lambda r: "ATU" + _digits(r, 7),
    "NL": lambda r: "NL" + _digits(r, 8),
    "FR": lambda r: "FR",
    "IT": lambda r: "IT" + _digits(r, 10),
    "PL": lambda r: "PL" + str(r.randint(1, 9)) + _digits(r, 8),
    "PT": lambda r: "PT" + str(r.randint(1, 2)) + _digits(r, 7),
    "ES": lambda r: "ESB" + _digits(r, 7),
    "FI": lambda r: "FI" + _digits(r, 7),
    "DK": lambda r: "DK" + str(r.randint(1, 9)) + _digits(r, 6),
}


def gen_vat(rng: random.Random, country: str = "DE") -> str:
    if country == "FR":  # check digits come first: key = (12 + 3 * (SIREN % 97)) % 97
        siren = _complete(rng, lambda: str(rng.randint(1, 9)) + _digits(rng, 7), luhn.is_valid, string.digits)
        return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    if country == "NL":
        return _complete(rng, lambda: "NL" + _digits(rng, 8), lambda v: vat.is_valid(v + "B01"), string.digits) + "B01"
    return _complete(rng, lambda: _VAT_BASES[country](rng), vat.is_valid, string.digits + "ABCDEFGHJ")


def gen_phone(rng: random.Random, region: str) -> str:
    formats = {
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
    }[region]
    while True:
        fmt = rng.choice(formats)
        out, i = [], 0
        while i < len(fmt):
            if fmt[i] == "{":
                j = fmt.index("}", i)
                out.append(_digits(rng, int(fmt[i + 1 : j])))
                i = j + 1
            else:
                out.append(fmt[i])
                i += 1
        number = "".join(out)
        if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
            return number


def gen_email(rng: random.Random, tld: str) -> str:
    first = rng.choice(["anna", "jan", "marie", "luca", "sofia", "piotr", "joao", "emma", "mikko", "lars"])
    last = rng.choice(["schmidt", "dubois", "devries", "rossi", "garcia", "kowalski", "silva", "nielsen"])
    return f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(['mail', 'post', 'example', 'firma'])}.{tld}"


def gen_ip(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return "2001:db8:" + ":".join(f"{rng.randint(0, 65535):x}" for _ in range(6))


# (entity, language, tld, generator, sentences with {v}): sentences in the country's language.
POSITIVES: list[tuple[str, str, str, Gen, list[str]]] = [
    ("DE_TAX_ID", "de", "de", gen_de_tax_id, [
        "Bitte geben Sie Ihre Steuer-ID {v} bei der Anmeldung an.",
        "Meine steuerliche Identifikationsnummer lautet {v}.",
        "Die IdNr {v} steht auf dem Bescheid des Finanzamts.",
    ]),
    ("DE_ID_CARD", "de", "de", gen_de_id_card, [
        "Die Nummer meines Personalausweises ist {v}.",
        "Ausweisnummer: {v}, gültig bis 2031.",
    ]),
    ("AT_SOCIAL_SECURITY", "de", "at", gen_at_vsnr, [
        "Meine Sozialversicherungsnummer lautet {v}.",
        "Bitte die SV-Nummer {v} auf dem Formular eintragen.",
    ]),
    ("FR_NIR", "fr", "fr", gen_fr_nir, [
        "Mon numéro de sécurité sociale est le {v}.",
        "Indiquez votre NIR {v} sur la feuille de soins.",
    ]),
    ("BE_NATIONAL_NUMBER", "nl", "be", gen_be_nn, [
        "Mijn rijksregisternummer is {v}.",
        "Vermeld uw rijksregisternummer {v} op het formulier.",
    ]),
    ("BE_NATIONAL_NUMBER", "fr", "be", gen_be_nn, ["Mon numéro de registre national est le {v}."]),
    ("ES_NIF", "es", "es", gen_es_nif, [
        "Mi DNI es {v} y vivo en Madrid.",
        "Por favor, indique su NIF {v} en la factura.",
    ]),
    ("ES_NIE", "es", "es", gen_es_nie, ["El NIE del solicitante es {v}.", "Número de identidad de extranjero: {v}."]),
    ("IT_FISCAL_CODE", "it", "it", gen_it_fiscal_code, [
        "Il mio codice fiscale è {v}.",
        "Inserire il codice fiscale {v} nel modulo.",
    ]),
    ("PL_PESEL", "pl", "pl", gen_pl_pesel, ["Mój numer PESEL to {v}.", "Proszę podać PESEL {v} w formularzu."]),
    ("NL_BSN", "nl", "nl", gen_nl_bsn, [
        "Mijn BSN is {v}.",
        "Vul uw burgerservicenummer {v} in op het formulier.",
    ]),
    ("PT_NIF", "pt", "pt", gen_pt_nif, [
        "O meu NIF é {v}.",
        "Indique o número de contribuinte {v} na fatura.",
    ]),
    ("SE_PERSONNUMMER", "sv", "se", gen_se_personnummer, [
        "Mitt personnummer är {v}.",
        "Ange ditt personnummer {v} i ansökan.",
    ]),
    ("FI_PERSONAL_IDENTITY_CODE", "fi", "fi", gen_fi_hetu, [
        "Henkilötunnukseni on {v}.",
        "Hetu: {v}, syntynyt Helsingissä.",
    ]),
    ("DK_CPR", "da", "dk", gen_dk_cpr, ["Mit CPR-nummer er {v}.", "Oplys venligst dit cpr-nummer {v}."]),
    ("UK_NINO", "en", "uk", gen_uk_nino, [
        "My national insurance number is {v}.",
        "Please quote your NINO {v} on the form.",
    ]),
    ("IBAN_CODE", "de", "de", lambda r: gen_iban(r, "DE"), ["Bitte überweisen Sie den Betrag auf IBAN {v}."]),
    ("IBAN_CODE", "nl", "nl", lambda r: gen_iban(r, "NL"), ["Ons rekeningnummer is {v}."]),
    ("IBAN_CODE", "pl", "pl", lambda r: gen_iban(r, "PL"), ["Numer rachunku: {v}."]),
    ("IBAN_CODE", "it", "it", lambda r: gen_iban(r, "IT"), ["Il pagamento va effettuato sull'IBAN {v}."]),
    ("IBAN_CODE", "fi", "fi", lambda r: gen_iban(r, "FI"), ["Tilinumero: {v}."]),
    ("CREDIT_CARD", "en", "uk", gen_card, ["I paid with my card {v} yesterday."]),
    ("CREDIT_CARD", "de", "de", gen_card, ["Kreditkarte: {v}, Ablauf 09/27."]),
    ("EU_VAT", "de", "de", lambda r: gen_vat(r, "DE"), ["Unsere USt-IdNr. lautet {v}."]),
    ("EU_VAT", "de", "at", lambda r: gen_vat(r, "AT"), ["UID-Nummer: {v}"]),
    ("EU_VAT", "fr", "fr", lambda r: gen_vat(r, "FR"), ["Numéro de TVA intracommunautaire : {v}."]),
    ("EU_VAT", "nl", "nl", lambda r: gen_vat(r, "NL"), ["Ons btw-nummer is {v}."]),
    ("EU_VAT", "it", "it", lambda r: gen_vat(r, "IT"), ["Partita IVA: {v}."]),
    ("EU_VAT", "pl", "pl", lambda r: gen_vat(r, "PL"), ["NIP UE: {v}."]),
    ("EU_VAT", "es", "es", lambda r: gen_vat(r, "ES"), ["Nuestro número de IVA es {v}."]),
    ("EMAIL_ADDRESS", "de", "de", lambda r: gen_email(r, "de"), ["Schreiben Sie mir an {v}, danke."]),
    ("EMAIL_ADDRESS", "fr", "fr", lambda r: gen_email(r, "fr"), ["Contactez-moi à l'adresse {v}."]),
    ("EMAIL_ADDRESS", "pl", "pl", lambda r: gen_email(r, "pl"), ["Mój adres e-mail to {v}."]),
    ("IP_ADDRESS", "en", "uk", gen_ip, ["The request came from {v} at noon."]),
    ("IP_ADDRESS", "de", "de", gen_ip, ["Zugriff von der IP-Adresse {v} protokolliert."]),
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
    POSITIVES.append(("PHONE_NUMBER", _lang, _tld, lambda r, g=_region: gen_phone(r, g), _sentences))

# Hard negatives per language: order/invoice numbers, dates, prices, legal citations.
NEGATIVES: dict[str, list[str]] = {
    "de": [
        "Ihre Bestellnummer 2024-{6} wurde am {date} versandt.",
        "Der Preis beträgt 1.299,00 € inkl. MwSt.",
        "Gemäß § 44b Abs. 2 UrhG (BGBl. I S. 1204) ist das zulässig.",
        "Rechnungsnummer RE-2023-{6}, fällig am {date}.",
        "Siehe Art. 6 Abs. 1 lit. f DSGVO und Urteil vom 12.03.2021, Az. 1 BvR 16/13.",
        "Auftrag Nr. {8} vom {date}.",
        "Die Richtlinie (EU) 2019/790 (ABl. L 130 vom 17.5.2019, S. 92) gilt seit dem 7. Juni 2021.",
        "Kundennummer {10}, Artikelnummer {7}.",
    ],
    "fr": [
        "Votre numéro de commande {9} a été expédié le {date}.", "Le prix est de 1 299,00 € TTC.",
        "Conformément à l'article L. 122-5 du code de la propriété intellectuelle.", "Facture n° {8} du {date}.",
    ],
    "nl": [
        "Uw bestelnummer {9} is verzonden op {date}.", "De prijs is € 1.299,00 inclusief btw.",
        "Zie artikel 15o van de Auteurswet en Stb. 2020, 507.", "Factuurnummer {10} van {date}.",
    ],
    "es": [
        "Su número de pedido {9} se envió el {date}.", "El precio es de 1.299,00 € con IVA.",
        "Según el artículo 32 de la Ley 2/2019, de 1 de marzo.", "Factura n.º {8} de {date}.",
    ],
    "it": [
        "Il numero d'ordine {9} è stato spedito il {date}.", "Il prezzo è di 1.299,00 € IVA inclusa.",
        "Ai sensi dell'art. 70-ter della legge 22 aprile 1941, n. 633.", "Fattura n. {8} del {date}.",
    ],
    "pl": [
        "Zamówienie nr {9} wysłano {date}.", "Cena wynosi 1 299,00 zł brutto.",
        "Zgodnie z art. 26 ust. 3 ustawy z dnia 4 lutego 1994 r. (Dz.U. 2022 poz. 2509).", "Faktura nr {8}/{date}.",
    ],
    "pt": [
        "A sua encomenda n.º {9} foi enviada em {date}.", "O preço é de 1.299,00 € com IVA.",
        "Nos termos do artigo 75.º do Decreto-Lei n.º 63/85.", "Fatura n.º {8} de {date}.",
    ],
    "sv": [
        "Ditt ordernummer {9} skickades {date}.", "Priset är 1 299,00 kr inkl. moms.", "Enligt 26 § lagen (1960:729).",
    ],
    "fi": [
        "Tilausnumero {9} lähetettiin {date}.", "Hinta on 1 299,00 € sis. alv.", "Tekijänoikeuslain (404/1961) 13 §.",
    ],
    "da": [
        "Dit ordrenummer {9} blev sendt {date}.", "Prisen er 1.299,00 kr. inkl. moms.", "Jf. ophavsretslovens § 11 a.",
    ],
    "en": [
        "Your order number {9} was shipped on {date}.", "The price is £1,299.00 including VAT.",
        "See section 29A of the Copyright, Designs and Patents Act 1988 (c. 48).", "Invoice {8} dated {date}.",
    ],
}  # fmt: skip

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
            out = out.replace("{" + str(n) + "}", str(rng.randint(1, 9)) + _digits(rng, n - 1), 1)
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
