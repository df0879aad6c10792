"""Hard negatives of the PII eval set, per language: order and invoice numbers, dates, prices and legal citations
that look like identifiers but are none. ``{n}``: n random digits; ``{date}``: a date."""

from __future__ import annotations

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
