"""Highlighting: engines wrap matched words in private-use markers; this turns them into safe <mark> HTML."""

from __future__ import annotations

import html
import re

from django.utils.safestring import SafeString, mark_safe

HIGHLIGHT_START, HIGHLIGHT_STOP = "\ue000", "\ue001"


def mark_highlight(text: str) -> SafeString:
    """Escape everything, then turn our private-use markers into <mark> (always balanced)."""
    escaped = html.escape(" ".join(text.split()), quote=False)
    out, open_ = [], False
    for chunk in re.split(f"([{HIGHLIGHT_START}{HIGHLIGHT_STOP}])", escaped):
        if chunk == HIGHLIGHT_START and not open_:
            out.append("<mark>")
            open_ = True
        elif chunk == HIGHLIGHT_STOP and open_:
            out.append("</mark>")
            open_ = False
        elif chunk not in (HIGHLIGHT_START, HIGHLIGHT_STOP):
            out.append(chunk)
    if open_:
        out.append("</mark>")
    return mark_safe("".join(out))

