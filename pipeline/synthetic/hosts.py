"""The fictional sites of the demo crawl: their robots.txt / tdmrep.json rights signals, site licences, and the
signals a page inherits from its host."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Licence links planted (id -> URL). Ids are SPDX where one exists; the Public Domain Mark has none.
LICENCE_URLS: dict[str, str] = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC-BY-NC-ND-4.0": "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC-PDM-1.0": "https://creativecommons.org/publicdomain/mark/1.0/",
    "DL-DE-BY-2.0": "https://www.govdata.de/dl-de/by-2-0",
    "etalab-2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
    "OGL-UK-3.0": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
}
LICENCE_LABELS: dict[str, str] = {
    "CC-BY-4.0": "CC BY 4.0",
    "CC-BY-SA-4.0": "CC BY-SA 4.0",
    "CC-BY-NC-ND-4.0": "CC BY-NC-ND 4.0",
    "CC0-1.0": "CC0 1.0",
    "CC-PDM-1.0": "Public Domain Mark 1.0",
    "DL-DE-BY-2.0": "Datenlizenz Deutschland – Namensnennung – Version 2.0",
    "etalab-2.0": "Licence Ouverte / Open Licence version 2.0",
    "OGL-UK-3.0": "Open Government Licence v3.0",
}
PAGE_LICENCES = ("CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-ND-4.0", "CC0-1.0", "CC-PDM-1.0")


@dataclass(frozen=True)
class Host:
    origin: str
    lang: str
    name: str
    weight: int  # share of the ordinary articles
    sections: tuple[str, ...]
    robots: str | None  # robots.txt body for a 200 capture; None: see robots_status
    robots_status: int | None = 200  # None: no robots.txt capture at all
    robots_rules: tuple[tuple[str, str], ...] = ()  # (agent, path prefix) disallows, for the expectations
    content_usage: tuple[tuple[str, str], ...] = ()  # (path prefix, preference) from robots.txt
    content_signal: str | None = None  # Cloudflare Content-Signal line in robots.txt (whole host)
    tdmrep: list[dict[str, Any]] | None = None  # /.well-known/tdmrep.json body (200)
    tdmrep_status: int | None = None  # capture status when no body (e.g. 404)
    site_licence: str | None = None  # licence linked from every page's footer
    neutral: bool = True  # no host-level opt-out: page-level signals, dups and PII go here

    @property
    def host(self) -> str:
        return self.origin.split("://", 1)[1]


_ROBOTS_PLAIN = "User-agent: *\nDisallow: /admin/\nDisallow: /suche\n\nSitemap: {origin}/sitemap.xml\n"

HOSTS: tuple[Host, ...] = (
    Host(
        "https://www.lindenau.de",
        "de",
        "Stadt Lindenau",
        7,
        ("aktuelles", "buergerservice", "presse"),
        "# robots.txt der Stadt Lindenau\nUser-agent: *\nDisallow: /intern/\nDisallow: /suche\n\n"
        "User-agent: GPTBot\nDisallow: /presse/\n\nSitemap: https://www.lindenau.de/sitemap.xml\n",
        robots_rules=(("GPTBot", "/presse/"), ("*", "/intern/")),
        tdmrep_status=404,
        site_licence="DL-DE-BY-2.0",
    ),
    Host("https://www.kreis-hohenfeld.de", "de", "Landkreis Hohenfeld", 2, ("themen", "service"), None, 404),
    Host(
        "https://www.oberland-kurier.de",
        "de",
        "Oberland-Kurier",
        1,
        ("lokales", "region"),
        "User-agent: GPTBot\nUser-agent: ClaudeBot\nUser-agent: Google-Extended\nUser-agent: CCBot\nDisallow: /\n\n"
        "User-agent: *\nAllow: /\n",
        robots_rules=(("GPTBot", "/"), ("ClaudeBot", "/"), ("Google-Extended", "/"), ("CCBot", "/")),
        tdmrep=[
            {"location": "/", "tdm-reservation": 1, "tdm-policy": "https://www.oberland-kurier.de/tdm-policy.json"}
        ],
        neutral=False,
    ),
    Host(
        "https://www.ville-montclair.fr",
        "fr",
        "Ville de Montclair",
        4,
        ("actualites", "demarches", "archives"),
        "User-agent: *\nDisallow: /archives/\nDisallow: /recherche\n\nSitemap: https://www.ville-montclair.fr/sitemap.xml\n",
        robots_rules=(("*", "/archives/"),),
        site_licence="etalab-2.0",
    ),
    Host(
        "https://www.echo-du-vercors.fr",
        "fr",
        "L'Écho du Vercors",
        2,
        ("articles", "agenda"),
        "User-agent: *\nDisallow: /abonnes/\n",
        tdmrep=[
            {
                "location": "/articles/*",
                "tdm-reservation": 1,
                "tdm-policy": "https://www.echo-du-vercors.fr/tdm/policy.json",
            },
            {"location": "/", "tdm-reservation": 0},
        ],
        neutral=False,
    ),
    Host(
        "https://www.villaverde-del-rio.es",
        "es",
        "Ayuntamiento de Villaverde del Río",
        3,
        ("noticias", "datos-abiertos"),
        "User-Agent: *\nAllow: /\nDisallow: /privado/\nContent-Usage: train-ai=n\n"
        "Content-Usage: /datos-abiertos/ train-ai=y\n",
        content_usage=(("/", "train-ai=n"), ("/datos-abiertos/", "train-ai=y")),
        neutral=False,
    ),
    Host("https://www.diario-levante-sur.es", "es", "Diario Levante Sur", 2, ("local", "sociedad"), _ROBOTS_PLAIN),
    Host(
        "https://www.comune.valfonda.it",
        "it",
        "Comune di Valfonda",
        1,
        ("notizie", "servizi"),
        None,
        500,
        neutral=False,
    ),
    Host("https://www.valfonda-turismo.it", "it", "Valfonda Turismo", 3, ("notizie", "eventi"), _ROBOTS_PLAIN),
    Host("https://www.gmina-lipowiec.pl", "pl", "Gmina Lipowiec", 3, ("aktualnosci", "sprawy"), _ROBOTS_PLAIN),
    Host(
        "https://www.bip-lipowiec.pl",
        "pl",
        "Biuletyn Informacji Publicznej Gminy Lipowiec",
        1,
        ("ogloszenia",),
        "User-agent: CCBot\nDisallow: /\n\nUser-agent: *\nDisallow:\n",
        robots_rules=(("CCBot", "/"),),
        neutral=False,
    ),
    Host(
        "https://www.waterdam.nl",
        "nl",
        "Gemeente Waterdam",
        1,
        ("nieuws",),
        "User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n",
        content_signal="search=yes, ai-train=no",
        neutral=False,
    ),
    Host("https://www.gemeente-beekveld.nl", "nl", "Gemeente Beekveld", 3, ("nieuws", "loket"), None, 404),
    Host(
        "https://www.cm-vilanova.pt", "pt", "Câmara Municipal de Vila Nova", 3, ("noticias", "servicos"), _ROBOTS_PLAIN
    ),
    Host("https://www.almby.se", "sv", "Almby kommun", 3, ("nyheter", "service"), _ROBOTS_PLAIN),
    Host("https://www.dimos-kalamou.gr", "el", "Δήμος Καλάμου", 3, ("anakoinoseis", "ypiresies"), _ROBOTS_PLAIN),
    Host("https://www.mesto-brezno.cz", "cs", "Město Březno", 3, ("aktuality", "urad"), None, 404),
    Host("https://www.jarvela.fi", "fi", "Järvelän kunta", 3, ("ajankohtaista", "palvelut"), _ROBOTS_PLAIN),
    Host("https://www.tiszakeszi-hirado.hu", "hu", "Tiszakeszi Híradó", 3, ("hirek", "ugyintezes"), None, None),
    Host("https://www.obshtina-ravnets.bg", "bg", "Община Равнец", 3, ("novini", "uslugi"), _ROBOTS_PLAIN),
    Host(
        "https://www.northwick.gov.uk",
        "en",
        "Northwick Borough Council",
        3,
        ("news", "services"),
        "User-agent: *\nDisallow: /search\nDisallow: /my-account/\n",
        site_licence="OGL-UK-3.0",
    ),
)
HOST_BY_ORIGIN = {h.origin: h for h in HOSTS}


def host_signals(host: Host, path: str) -> list[dict[str, Any]]:
    """Signals a page inherits from its host's robots.txt and tdmrep.json (by construction of HOSTS)."""
    signals: list[dict[str, Any]] = []
    if host.robots_status is not None and host.robots_status >= 500:
        signals.append({"kind": "robots_unreachable", "value": str(host.robots_status), "reserves": True})
    for agent, prefix in host.robots_rules:
        if path.startswith(prefix):
            signals.append({"kind": "robots_disallow", "agent": agent, "value": prefix, "reserves": True})
    if host.content_usage:
        prefix, pref = max((cu for cu in host.content_usage if path.startswith(cu[0])), key=lambda cu: len(cu[0]))
        signals.append({"kind": "robots_content_usage", "value": pref, "reserves": pref.endswith("=n")})
    if host.content_signal:
        signals.append({"kind": "robots_content_signal", "value": host.content_signal, "reserves": True})
    for rule in host.tdmrep or []:
        loc = rule["location"].rstrip("*")
        if path.startswith(loc):
            signals.append(
                {"kind": "tdmrep_json", "value": str(rule["tdm-reservation"]), "reserves": rule["tdm-reservation"] == 1}
            )
            break  # TDMRep: the first matching rule in array order applies
    return signals
