// Reads an iCalendar file with Mozilla's ical.js (the parser of Thunderbird)
// the way a client does: ICAL.parse, the file's VTIMEZONEs registered with
// ICAL.TimezoneService, ICAL.Event for each VEVENT. Prints what it read as
// JSON (see ../icalinterop.go): TEXT values, CATEGORIES as a list, start and
// end as UTC instants (dates as YYYY-MM-DD), the property names.
// Usage: node icaljs.mjs FILE.ics
import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';

const jcal = ICAL.parse(readFileSync(process.argv[2], 'utf8'));
if (!Array.isArray(jcal) || typeof jcal[0] !== 'string') {
  throw new Error('not exactly one top-level component');
}
const cal = new ICAL.Component(jcal);
if (cal.name !== 'vcalendar') throw new Error(`top-level component is ${cal.name}`);
for (const tz of cal.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(tz);

const str = (v) => (v === null || v === undefined ? '' : String(v));
const when = (t) => {
  if (!t) return '';
  if (t.isDate) return t.toString();
  if (t.zone && t.zone.tzid === 'floating') return 'floating:' + t.toString();
  return t.toJSDate().toISOString().replace(/\.000Z$/, 'Z');
};
const out = {
  name: str(cal.getFirstPropertyValue('name')),
  wr_name: str(cal.getFirstPropertyValue('x-wr-calname')),
  events: [],
};
for (const v of cal.getAllSubcomponents('vevent')) {
  const ev = new ICAL.Event(v);
  const categories = [];
  for (const p of v.getAllProperties('categories')) categories.push(...p.getValues().map(str));
  out.events.push({
    uid: str(ev.uid),
    summary: str(v.getFirstPropertyValue('summary')),
    description: str(v.getFirstPropertyValue('description')),
    location: str(v.getFirstPropertyValue('location')),
    url: str(v.getFirstPropertyValue('url')),
    status: str(v.getFirstPropertyValue('status')),
    categories,
    start: when(ev.startDate),
    end: when(ev.endDate),
    props: v.getAllProperties().map((p) => p.name.toUpperCase()).sort(),
    components: v.getAllSubcomponents().map((c) => c.name.toUpperCase()),
  });
}
process.stdout.write(JSON.stringify(out) + '\n');
