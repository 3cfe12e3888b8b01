"""Reads an iCalendar file with Debian's python3-icalendar (used by khal,
Home Assistant and many Python feed readers): Calendar.from_ical, then every
VEVENT. Prints what it read as JSON (see ../icalinterop.go): TEXT values,
CATEGORIES as a list, start and end as UTC instants (dates as YYYY-MM-DD),
the property names. Parse errors python-icalendar records silently on a
component are raised. Usage: python3 pyicalendar.py FILE.ics"""
import datetime
import json
import sys

import icalendar


def text(v):
    return "" if v is None else str(v)


def when(comp, name):
    v = comp.get(name)
    if v is None:
        return ""
    dt = v.dt
    if isinstance(dt, datetime.datetime):
        if dt.tzinfo is None:
            return "floating:" + dt.isoformat()
        return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.isoformat()


def categories(comp):
    v = comp.get("CATEGORIES")
    if v is None:
        return []
    out = []
    for c in v if isinstance(v, list) else [v]:
        out.extend(str(s) for s in c.cats)
    return out


cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
if cal.name != "VCALENDAR":
    raise SystemExit(f"top-level component is {cal.name}")
events = []
for comp in cal.walk():
    errors = getattr(comp, "errors", None)
    if errors:
        raise SystemExit(f"{comp.name}: parse errors {errors}")
    if comp.name != "VEVENT":
        continue
    events.append({
        "uid": text(comp.get("UID")),
        "summary": text(comp.get("SUMMARY")),
        "description": text(comp.get("DESCRIPTION")),
        "location": text(comp.get("LOCATION")),
        "url": text(comp.get("URL")),
        "status": text(comp.get("STATUS")),
        "categories": categories(comp),
        "start": when(comp, "DTSTART"),
        "end": when(comp, "DTEND"),
        "props": sorted(comp.keys()),
        "components": [c.name for c in comp.subcomponents],
    })
json.dump({"name": text(cal.get("NAME")), "wr_name": text(cal.get("X-WR-CALNAME")), "events": events},
          sys.stdout, ensure_ascii=False)
sys.stdout.write("\n")
