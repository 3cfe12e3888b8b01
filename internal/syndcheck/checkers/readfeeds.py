"""Reads RSS or Atom files with Debian's python3-feedparser (the parser of
many feed readers and planets) and prints what it read as JSON, one object
per file: whether it found the document malformed (bozo, with the reason),
the feed's title, links and version, and per entry its id, title, link,
categories, dates (UTC, RFC 3339) and content with the markup removed.
Usage: python3 readfeeds.py FILE..."""
import calendar
import datetime
import html
import json
import re
import sys

import feedparser


def when(parsed):
    if not parsed:
        return ""
    return datetime.datetime.fromtimestamp(calendar.timegm(parsed), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def text(markup):
    # feedparser has sanitised the HTML; what a reader shows is its text.
    return html.unescape(re.sub(r"<[^>]*>", " ", markup or ""))


out = []
for path in sys.argv[1:]:
    d = feedparser.parse(path)
    entries = []
    for e in d.entries:
        content = e.get("content") or []
        body = content[0].value if content else e.get("description", "")
        entries.append({
            "id": e.get("id", ""),
            "title": e.get("title", ""),
            "title_type": (e.get("title_detail") or {}).get("type", ""),
            "link": e.get("link", ""),
            "tags": [{"term": t.get("term") or "", "scheme": t.get("scheme") or "", "label": t.get("label") or ""} for t in e.get("tags", [])],
            "updated": when(e.get("updated_parsed")),
            "published": when(e.get("published_parsed")),
            "text": text(body),
            "raw": body,
        })
    out.append({
        "bozo": bool(d.bozo),
        "bozo_exception": str(d.get("bozo_exception", "")),
        "version": d.version,
        "title": d.feed.get("title", ""),
        "links": [{"rel": l.get("rel", ""), "href": l.get("href", "")} for l in d.feed.get("links", [])],
        "entries": entries,
    })
json.dump(out, sys.stdout)
