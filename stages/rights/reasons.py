"""What each reason of the rights stage means, in plain words for a legal reviewer: the stage declares them
(``RightsStage.reasons``) and ``sovereign audit explain`` prints them. Data only, no imports."""

REASONS = {
    "rights:robots-disallow": "the site's robots.txt forbids an AI crawler from fetching this page",
    "rights:robots-unreachable": "the site's robots.txt answered with a server error, which RFC 9309 treats as "
    "'disallow everything'",
    "rights:robots-unavailable": "the site's robots.txt was not found (4xx) and the policy treats that as a refusal",
    "rights:robots-missing": "no robots.txt was captured for the site and the policy drops such documents",
    "rights:robots-unreadable": "the captured robots.txt could not be read and the policy drops such documents",
    "rights:robots-content-usage": "the site's robots.txt refuses AI training (IETF Content-Usage)",
    "rights:robots-content-signal": "the site's robots.txt states 'ai-train=no' (Content-Signal)",
    "rights:tdm-reservation-file": "the site's /.well-known/tdmrep.json reserves text and data mining rights for "
    "this page (W3C TDMRep; an Article 4(3) CDSM opt-out)",
    "rights:tdm-reservation-header": "the page was served with the HTTP header 'tdm-reservation: 1' (W3C TDMRep; an "
    "Article 4(3) CDSM opt-out)",
    "rights:tdm-reservation-meta": 'the page carries <meta name="tdm-reservation" content="1"> (W3C TDMRep)',
    "rights:tdmrep-missing": "no tdmrep.json was captured for the site and the policy drops such documents",
    "rights:tdmrep-unreadable": "the site's tdmrep.json could not be read and the policy drops such documents",
    "rights:tdmrep-truncated": "the site's tdmrep.json was larger than the capture cap; rules past it may reserve "
    "this page, so it is dropped",
    "rights:content-usage-header": "the page was served with a Content-Usage header that refuses AI training "
    "(IETF AI preferences)",
    "rights:content-usage-unreadable": "the page's Content-Usage header could not be parsed and the policy drops "
    "such documents",
    "rights:content-signal-header": "the page was served with a Content-Signal header saying 'ai-train=no'",
    "rights:x-robots-tag": "the page was served with an X-Robots-Tag header that refuses AI use",
    "rights:meta-robots": "the page carries a robots meta tag that refuses AI use",
    "rights:licence-no-training": "the page's licence does not allow AI training",
    "rights:licence-conditional": "the page's licence allows training only under conditions the policy does not accept",
    "rights:licence-missing": "no licence was found and the policy drops such documents",
}
