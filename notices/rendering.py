"""Markdown to safe HTML, once, when a notice or incident text is saved (never on render).

nh3 (ammonia) keeps a small allow-list of tags and only http(s)/mailto/tel links, so a `<script>`
or a `javascript:` link written into a body never reaches a page.
"""

from __future__ import annotations

import markdown
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def render_markdown(text: str) -> str:
    """Markdown → sanitised HTML. Headings start at h2 so a body never competes with the page's h1."""
    if not text.strip():
        return ""
    html = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    html = html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def checklist_items(text: str) -> list[str]:
    """One item per non-empty line; leading bullets ("-", "*", "1.", "□") are dropped."""
    import re

    items = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•□☐]|\d+[.、)）])\s*", "", line).strip()
        if line:
            items.append(line)
    return items
