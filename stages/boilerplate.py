"""Boilerplate removal around resiliparse's main-content extraction.

Two passes, both cheap: (1) CSS selectors for elements that are boilerplate by their class/id (share bars,
related-article boxes, author bios, cookie banners...), skipped by resiliparse while it walks the DOM; (2) a
line cleaner over resiliparse's ``minimal_html`` output, where each block still carries its ``<a>`` markup, so
link density, headings and list items are known per block without a second DOM walk. Hand-rolled rather than
jusText/trafilatura: those re-parse the page with lxml and run at ~50 pages/s; this adds ~1 ms per page.

Word lists cover the EU languages seen in web crawls (en, de, fr, nl, it, es, pt, pl, cs, sv, da, fi...).
"""

from __future__ import annotations

import html
import re

# Class/id fragments of elements that hold no main text, on top of resiliparse's own main-content rules. Substring
# matches (lexbor ``*=``), so each is specific. Kept only where they helped on the dev sets: broad ones ("share",
# "related", "sidebar", "widget", "promo") cost more main text than the boilerplate they removed.
_SKIP_FRAGMENTS = (
    "breadcrumb",
    "newsletter",
    "subscribe",
    "cookie",
    "consent",
    "author-bio",
    "author-box",
    "authorbox",
    "about-author",
    "author-info",
    "author-description",
)
SKIP_SELECTORS: list[str] = [f'[{attr}*="{frag}"]' for frag in _SKIP_FRAGMENTS for attr in ("class", "id")]

# Short blocks made only of these words are page furniture (menus, buttons, section heads of trailing boxes).
_FURNITURE = r"""
    share|sharing|teilen|partager|partagez|condividi|compartir|compartilhar|delen|udostępnij|sdílet|dela|del|jaa|
    tweet|twitter|facebook|linkedin|whatsapp|pinterest|instagram|xing|e-?mail|mail|rss|telegram|
    print|drucken|imprimer|stampa|imprimir|afdrukken|drukuj|tisk|skriv\ ut|tulosta|
    read\ more|more|mehr|weiterlesen|mehr\ lesen|lire\ la\ suite|en\ savoir\ plus|leggi\ tutto|leer\ más|
    lees\ meer|czytaj\ więcej|więcej|číst\ dál|läs\ mer|læs\ mere|lue\ lisää|erfahre\ mehr|mehr\ erfahren|
    continue\ reading|learn\ more|zum\ artikel|
    comments?|kommentare?|kommentieren|commentaires?|commenti|comentarios?|reacties|komentarze?|komentáře|
    kommentarer|kommentit|
    login|log\ in|sign\ in|sign\ up|register|anmelden|einloggen|registrieren|jetzt\ registrieren|connexion|
    s'inscrire|accedi|registrati|iniciar\ sesión|inloggen|zaloguj|zarejestruj|přihlásit|logga\ in|kirjaudu|
    impressum|imprint|datenschutz|datenschutzerklärung|privacy|privacy\ policy|cookies?|cookie\ settings|
    mentions\ légales|confidentialité|protezione\ dei\ dati|aviso\ legal|privacidad|colofon|polityka\ prywatności|
    terms|agb|nutzungsbedingungen|kontakt|contact|contacts|contatti|contacto|kontakty|
    home|startseite|accueil|back|zurück|retour|indietro|volver|terug|wróć|powrót|top|nach\ oben|
    newsletter|abonnieren|subscribe|s'abonner|iscriviti|suscríbete|subskrybuj|
    advertisement|anzeige|werbung|publicité|pubblicità|publicidad|advertentie|reklama|annons|mainos|
    tags?|schlagworte|schlagwörter|stichworte|themen|thema|topics|mots-clés|parole\ chiave|etiquetas|tagi|
    kategorien?|categories|category|catégories?|categorie|kategorie|
    related|related\ posts|related\ articles|ähnliche\ beiträge|ähnliche\ artikel|verwandte\ artikel|
    auch\ interessant|das\ könnte\ sie\ auch\ interessieren|mehr\ zum\ thema|weitere\ informationen|
    weiterführende\ links?|weiterführender\ link|explore\ further|see\ also|siehe\ auch|voir\ aussi|
    à\ lire\ aussi|lire\ aussi|leggi\ anche|lee\ también|zie\ ook|czytaj\ też|czytaj\ także|zobacz\ też|
    zobacz\ także|přečtěte\ si\ také|läs\ också|
    feedback|feedback\ to\ editors|schreiben\ sie\ uns|
    previous|next|vorherige[rs]?|nächste[rs]?|zurück\ zur\ übersicht|précédent|suivant|poprzedni|następny|
    menu|menü|navigation|suche|search|recherche|cerca|buscar|szukaj|hledat|sök|haku|
    download|herunterladen|pdf|
    like|gefällt\ mir|j'aime|mi\ piace|me\ gusta|lubię\ to|
    follow\ us|folgen\ sie\ uns|suivez-nous|seguici|síguenos|obserwuj\ nas|
    anzeigen|ausblenden|schließen|close|fermer|chiudi|cerrar|zamknij|
    ok|akzeptieren|accept|accepter|alle\ akzeptieren|accept\ all|ablehnen|decline|
    source|quelle|źródło|zdroj|fuente|fonte|bron|källa|lähde|
    foto|fotos|photo|photos|bild|bilder|credit|credits|image
"""


def _expand(alternative: str) -> list[str]:
    """The literals one alternative of ``_FURNITURE`` stands for: ``e-?mail`` -> ``email``, ``e-mail``."""
    optional = re.search(r"(\[[^\]]+\]|[^\\])\?", alternative)  # a char or [class] made optional by "?"
    if optional is None:
        return [alternative.replace("\\ ", " ")]
    head, tail = alternative[: optional.start()], alternative[optional.end() :]
    choices = [""] + list(optional.group(1).strip("[]"))
    return [literal for choice in choices for literal in _expand(head + choice + tail)]


_FURNITURE_WORDS = tuple(
    literal
    for alternative in re.sub(r"\s*\n\s*", "", _FURNITURE.strip()).split("|")
    for literal in _expand(alternative)
)
# A block is furniture when it is a sequence of these words with non-word characters around and between them (the
# old ``^(?:\W*(?:words)\W*)+$``, which backtracked exponentially: ``"share," * 21 + "x"`` took 34 s). Matched by
# dynamic programming over positions instead: each word is a literal, so one alternation per word length tells, with
# re's own IGNORECASE semantics, which lengths end a word at a position; every position is visited once.
_WORD_AT = re.compile("|".join(map(re.escape, _FURNITURE_WORDS)), re.IGNORECASE)  # does any word start here?
_WORDS_BY_LENGTH = {
    length: re.compile("|".join(re.escape(w) for w in _FURNITURE_WORDS if len(w) == length), re.IGNORECASE)
    for length in sorted({len(w) for w in _FURNITURE_WORDS})
}
_NON_WORD = re.compile(r"\W*")
assert all(re.match(r"\w", w) and re.search(r"\w$", w) for w in _FURNITURE_WORDS)  # the skip below relies on it


def _is_furniture(text: str) -> bool:
    """Whether ``text`` is only furniture words and non-word characters (at least one word); linear time."""
    end = len(text)
    todo = [_NON_WORD.match(text).end()]  # type: ignore[union-attr]  # \W* always matches
    seen: set[int] = set()
    while todo:
        pos = todo.pop()
        if pos in seen or pos == end or _WORD_AT.match(text, pos) is None:
            continue  # the start, or after skipping \W*: at the end only with no word read; words start with \w
        seen.add(pos)
        for length, words in _WORDS_BY_LENGTH.items():
            if pos + length <= end and words.match(text, pos, pos + length):
                after = _NON_WORD.match(text, pos + length).end()  # type: ignore[union-attr]
                if after == end:
                    return True
                todo.append(after)
    return False


# Blocks that start like this are page furniture whatever follows (newsletter and cookie blurbs, teaser heads).
_LEAD_RE = re.compile(
    r"""^\W*(?:
        ©|\(c\)\ |copyright\b|alle\ rechte\ vorbehalten|all\ rights\ reserved|tous\ droits\ réservés|
        wszelkie\ prawa\ zastrzeżone|todos\ los\ derechos|tutti\ i\ diritti|
        (?:read|lesen\ sie|lies|lire|leggi|lee|lees|czytaj|zobacz|přečtěte)\ (?:more|mehr|auch|hier|aussi|anche|
            también|ook|też|także|więcej|také)\b|
        mehr\ zum\ thema|auch\ interessant|das\ (?:thema|könnte)|sie\ könnten\ auch|ähnliche\ (?:beiträge|artikel)|
        weitere\ (?:artikel|beiträge|meldungen|nachrichten|informationen)\b|
        (?:you|we)\ (?:may|might)\ also\ like|related\ (?:posts|articles|stories)|more\ from|
        wir\ verwenden\ cookies|diese\ (?:website|seite)\ verwendet\ cookies|we\ use\ cookies|
        this\ (?:website|site)\ uses\ cookies|nous\ utilisons\ des\ cookies|ce\ site\ utilise|utilizziamo\ i\ cookie|
        utilizamos\ cookies|korzystamy\ z\ (?:plików\ )?cookies|używamy\ (?:plików\ )?cookies|
        (?:tags|schlagworte|schlagwörter|stichworte|themen|kategorien?|categories|topics|tagi|mots-clés|
            quelle|source|źródło|fuente|fonte|bron|foto|fotos|photo|bild|credit|anzeige|advertisement|
            opublikowano|veröffentlicht|published|posted|aktualisiert|updated|erstellt|verfasst\ von|
            geschrieben\ von|posted\ by|written\ by|autor|author|von)\s*:|
        zurück\ zu|back\ to|retour\ à|
        lade\ weitere|load\ more|mehr\ laden|mehr\ anzeigen|show\ more|
        (?:jetzt|hier)\ (?:abonnieren|anmelden|registrieren|bestellen|kaufen|herunterladen)|
        abonnieren\ sie|melden\ sie\ sich|sign\ up\ for|subscribe\ to|inscrivez-vous|
        missing\ out\ on|stay\ up-to-date|bleiben\ sie\ (?:informiert|auf\ dem)|
        keine\ neuigkeiten|verpassen\ sie\ keine|zapraszamy\ (?:też\ )?do\ subskrypcji|
        bitte\ geben\ sie\ die\ zahlenfolge|wie\ bewerten\ sie|was\ denkst\ du|
        dieses\ skript\ als|dieser\ beitrag\ stammt\ aus|
        vervielfältigung\ nur|nachdruck\ nur|reproduction\ interdite
    )""",
    re.IGNORECASE | re.VERBOSE,
)

_MONTHS = (
    r"jan(?:uar[y]?|vier)?|feb(?:ruar[y]?)?|févr(?:ier)?|fevrier|m(?:ä|a)r(?:z|ch|s)?|apr(?:il)?|avr(?:il)?|"
    r"ma[iy]|mai|june?|juni|juin|july?|juli|juil(?:let)?|aug(?:ust)?|août|sep(?:t(?:ember)?)?|okt(?:ober)?|"
    r"oct(?:ober|obre)?|nov(?:ember|embre)?|de[cz](?:ember|embre)?|déc(?:embre)?|"
    r"stycz\w*|lut\w*|mar\w*|kwie\w*|maj\w*|czerw\w*|lip\w*|sierp\w*|wrze\w*|paźdz\w*|listopad\w*|grud\w*|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|"
    r"gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre"
)
_DATE_RE = re.compile(
    r"\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{1,2}:\d{2}\b|\b\d{1,2}\.?\s+(?:" + _MONTHS + r")\b|"
    r"\b(?:" + _MONTHS + r")\.?\s+\d{1,2}\b|\b(?:" + _MONTHS + r")\s+\d{4}\b",
    re.IGNORECASE,
)

_BLOCK_START = re.compile(r"^\s*<(p|h[1-6]|ul|ol|pre)\b", re.IGNORECASE)
_HEADING = re.compile(r"^\s*<h[1-6]\b", re.IGNORECASE)
# The three tag patterns below end in ``[^>]*>``: from every opener with no ``>`` after it they scan to the end of
# the text, quadratic on ``"<li" * n``. They only run through the helpers below, which stop each scan at the last
# ``>`` (no match can end later), so each opener scans to its own ``>`` at most once: linear, same matches.
_LI_SPLIT = re.compile(r"</?li\b[^>]*>", re.IGNORECASE)
_ANCHOR_OPEN = re.compile(r"<a\s+href=\"(?!#|\")[^>]*>", re.IGNORECASE)  # real links only
_ANCHOR_CLOSE = re.compile(r"</a>", re.IGNORECASE)
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def _strip_tags(fragment: str) -> str:
    cut = fragment.rfind(">") + 1
    return _TAG.sub("", fragment[:cut]) + fragment[cut:]


def _split_items(block: str) -> list[str]:
    cut = block.rfind(">") + 1
    items = _LI_SPLIT.split(block[:cut])
    items[-1] += block[cut:]
    return items


def _anchor_texts(unit: str) -> list[str]:
    """The inner markup of each real link: ``re.findall(r'<a\\s+href="(?!#|")[^>]*>(.*?)</a>', unit, I | S)``,
    in linear time (that findall rescans to the end from each link without a ``</a>``)."""
    texts: list[str] = []
    pos, cut = 0, unit.rfind(">") + 1
    while (opener := _ANCHOR_OPEN.search(unit, pos, cut)) is not None:
        closer = _ANCHOR_CLOSE.search(unit, opener.end())
        if closer is None:  # no "</a>" after this link: none after any later one either
            break
        texts.append(unit[opener.end() : closer.start()])
        pos = closer.end()
    return texts


_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
_SENTENCE_END = frozenset('.!?…:;"“”»«)')


def _text(fragment: str) -> str:
    text = html.unescape(_strip_tags(_BR.sub("\n", fragment)))
    lines = (_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def _units(markup: str) -> list[tuple[str, bool]]:
    """(markup, is_heading) per block: one per <p>/<h*>/<pre>, one per list item, one per bare text line."""
    units: list[tuple[str, bool]] = []
    for block in markup.split("\n\n"):
        if not block.strip():
            continue
        match = _BLOCK_START.match(block)
        if match is None:
            units.extend((line, False) for line in block.split("\n"))
        elif match.group(1).lower() in ("ul", "ol"):
            units.extend((item, False) for item in _split_items(block))
        else:
            units.append((block, _HEADING.match(block) is not None))
    return units


_BAD, _SHORT, _GOOD = 0, 1, 2

# Heads of the boxes that follow an article (related items, more from, comments): past the article's middle,
# everything after one is dropped. Only a head standing alone: "Czytaj też: <title>" sits inside articles.
_TAIL_RE = re.compile(
    r"""^\W*(?:
        (?:das\ könnte|sie\ könnten|dich\ könnte|könnte\ (?:sie|dich))\ auch|auch\ interessant|mehr\ zum\ thema|
        ähnliche\ (?:beiträge|artikel|themen)|verwandte\ (?:artikel|beiträge|themen)|weitere\ (?:artikel|beiträge|
        meldungen|nachrichten|themen)|das\ (?:thema|könnte)|meistgelesen|
        (?:you|we)\ (?:may|might)\ also\ like|related\ (?:posts|articles|stories|content)|more\ from|more\ stories|
        recommended|read\ next|popular\ (?:posts|stories)|most\ (?:read|popular)|
        à\ lire\ aussi|lire\ aussi|sur\ le\ même\ sujet|dans\ la\ même\ rubrique|articles?\ similaires|
        leggi\ anche|articoli\ correlati|te\ puede\ interesar|artículos\ relacionados|lees\ ook|gerelateerd|
        czytaj\ (?:też|także)|zobacz\ (?:też|także|również)|polecamy|najczęściej\ czytane|
        související\ články|läs\ också|relaterade|relaterede|aiheeseen\ liittyvät
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)


def _classify(text: str, link_chars: int) -> int:
    chars = len(text)
    words = len(text.split())
    sentence = text[-1] in _SENTENCE_END  # _text() strips, so the last char is the block's last visible one
    if link_chars > 0.5 * chars and (words <= 12 or link_chars > 0.8 * chars):
        return _BAD
    if words <= 12 and _is_furniture(text):
        return _BAD
    if words <= 40 and _LEAD_RE.match(text):
        return _BAD
    if words <= 10 and not sentence and _DATE_RE.search(text):
        return _BAD
    if words <= 6 and not sentence:
        return _SHORT
    return _GOOD


def clean(markup: str) -> str:
    """Plain text of the blocks of resiliparse ``minimal_html`` output (with ``links=True``) that are not
    boilerplate, one block per line.

    Each block is first classed bad (furniture, link list, date line), short (a few words, no sentence end) or
    good. Short blocks are then decided by context, as jusText does: kept when the nearest decided blocks on
    both sides are good (sub-headings inside an article), dropped otherwise (menus, names, counters); a short
    heading only needs good text after it.
    """
    texts: list[str] = []
    heads: list[bool] = []
    classes: list[int] = []
    seen: set[str] = set()
    for unit, heading in _units(markup):
        text = _text(unit)
        if not text:
            continue
        key = text.casefold()
        if key in seen:  # repeated blocks: menus twice, teaser titles, "Zusatzinformation" x2
            continue
        seen.add(key)
        link_chars = sum(len(_text(a)) for a in _anchor_texts(unit))
        if texts and len(text) < 120 and _TAIL_RE.match(text):
            before = sum(len(t) for t, c in zip(texts, classes, strict=True) if c == _GOOD)
            if before >= 500:
                break
        texts.append(text)
        heads.append(heading)
        classes.append(_classify(text, link_chars))
    n = len(texts)
    prev_good = [False] * n  # nearest non-short block before i is good
    last = False
    for i in range(n):
        prev_good[i] = last
        if classes[i] != _SHORT:
            last = classes[i] == _GOOD
    next_good = [False] * n
    last = False
    for i in range(n - 1, -1, -1):
        next_good[i] = last
        if classes[i] != _SHORT:
            last = classes[i] == _GOOD
    kept = [
        t
        for i, t in enumerate(texts)
        if classes[i] == _GOOD or (classes[i] == _SHORT and next_good[i] and (prev_good[i] or heads[i]))
    ]
    return "\n".join(kept)
