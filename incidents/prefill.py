"""The "new incident" form prefilled from elsewhere: the builder the knowledge base's match page calls
through ``kb.hooks`` (registered in ``IncidentsConfig.ready()``); ``views._prefill`` reads the same
``title``, ``body`` and ``system`` query parameters."""

from urllib.parse import urlencode

from django.urls import reverse

from kb.hooks import IncidentPrefill

# Long URLs are refused by some servers and proxies (gunicorn: 4094 bytes for the request line).
MAX_URL_CHARS = 3500
TITLE_CHARS = 120


def incident_prefill_url(prefill: IncidentPrefill) -> str:
    """The incident form's URL with title, description and system filled in; the description is cut
    (with a note) until the whole URL fits in MAX_URL_CHARS."""
    base = reverse("incidents:new")
    title = " ".join(prefill.title.split())
    if len(title) > TITLE_CHARS:
        title = title[:TITLE_CHARS - 1].rstrip() + "…"
    description = prefill.description.strip()
    keep = len(description)
    while True:
        body = description if keep >= len(description) else description[:keep].rstrip() + "\n…(cut)"
        query = {"title": title, "body": body}
        if prefill.system:
            query["system"] = prefill.system
        url = f"{base}?{urlencode(query)}"
        if len(url) <= MAX_URL_CHARS or keep == 0:
            return url
        # Each character costs up to 9 when percent-encoded; shrink by what is over, at least by a tenth.
        keep = max(0, min(keep - (len(url) - MAX_URL_CHARS) // 9 - 1, keep * 9 // 10))
