/*
 * Reads an iCalendar file with libical (the C library of Evolution and GNOME
 * Calendar, Cyrus and many CalDAV servers) and prints what it read as JSON
 * (see ../icalinterop.go): TEXT values, CATEGORIES as a list, start and end
 * as UTC instants (dates as YYYY-MM-DD) with TZIDs resolved against the
 * file's VTIMEZONEs as icalcomponent_get_dtstart does, the property names.
 * Parse errors (X-LIC-ERROR properties) make it fail.
 *
 * Build: cc -O2 -o libical_check libical.c $(pkg-config --cflags --libs libical)
 * Usage: libical_check FILE.ics
 */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void json_string(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (*p < 0x20) printf("\\u%04x", *p);
            else putchar(*p);
        }
    }
    putchar('"');
}

static void json_time(struct icaltimetype t) {
    char buf[64];
    if (icaltime_is_null_time(t)) {
        buf[0] = 0;
    } else if (t.is_date) {
        snprintf(buf, sizeof buf, "%04d-%02d-%02d", t.year, t.month, t.day);
    } else if (t.zone == NULL && !icaltime_is_utc(t)) {
        snprintf(buf, sizeof buf, "floating:%04d-%02d-%02dT%02d:%02d:%02d", t.year, t.month, t.day, t.hour, t.minute, t.second);
    } else {
        time_t u = icaltime_as_timet_with_zone(t, t.zone ? t.zone : icaltimezone_get_utc_timezone());
        struct tm tm;
        gmtime_r(&u, &tm);
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    json_string(buf);
}

static const char *x_prop(icalcomponent *c, const char *name) {
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_X_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_X_PROPERTY))
        if (strcmp(icalproperty_get_x_name(p), name) == 0) return icalproperty_get_x(p);
    return "";
}

static const char *first_text(icalcomponent *c, icalproperty_kind k) {
    icalproperty *p = icalcomponent_get_first_property(c, k);
    if (!p) return "";
    icalvalue *v = icalproperty_get_value(p);
    if (k == ICAL_URL_PROPERTY) return icalvalue_get_uri(v);
    return icalvalue_get_text(v);
}

static int count_errors(icalcomponent *c) {
    int n = icalcomponent_count_properties(c, ICAL_XLICERROR_PROPERTY);
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY))
        fprintf(stderr, "libical error in %s: %s\n", icalcomponent_kind_to_string(icalcomponent_isa(c)), icalproperty_get_xlicerror(p));
    for (icalcomponent *s = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); s;
         s = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
        n += count_errors(s);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s FILE.ics\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    size_t cap = 1 << 16, len = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len < 2) { cap *= 2; buf = realloc(buf, cap); }
    }
    fclose(f);
    buf[len] = 0;
    icalerror_set_errors_are_fatal(0);
    icalcomponent *root = icalparser_parse_string(buf);
    if (!root || icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT) {
        fprintf(stderr, "not one VCALENDAR\n");
        return 1;
    }
    if (count_errors(root) > 0) return 1;

    fputs("{\"name\":", stdout);
    icalproperty *np = icalcomponent_get_first_property(root, ICAL_NAME_PROPERTY);
    json_string(np ? icalproperty_get_name(np) : "");
    fputs(",\"wr_name\":", stdout);
    json_string(x_prop(root, "X-WR-CALNAME"));
    fputs(",\"events\":[", stdout);
    int first = 1;
    for (icalcomponent *ev = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT); ev;
         ev = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT)) {
        if (!first) putchar(',');
        first = 0;
        fputs("{\"uid\":", stdout); json_string(icalcomponent_get_uid(ev));
        fputs(",\"summary\":", stdout); json_string(first_text(ev, ICAL_SUMMARY_PROPERTY));
        fputs(",\"description\":", stdout); json_string(first_text(ev, ICAL_DESCRIPTION_PROPERTY));
        fputs(",\"location\":", stdout); json_string(first_text(ev, ICAL_LOCATION_PROPERTY));
        fputs(",\"url\":", stdout); json_string(first_text(ev, ICAL_URL_PROPERTY));
        fputs(",\"status\":", stdout);
        icalproperty_status st = icalcomponent_get_status(ev);
        json_string(st == ICAL_STATUS_NONE ? "" : icalproperty_status_to_string(st));
        fputs(",\"categories\":[", stdout);
        int fc = 1;
        for (icalproperty *p = icalcomponent_get_first_property(ev, ICAL_CATEGORIES_PROPERTY); p;
             p = icalcomponent_get_next_property(ev, ICAL_CATEGORIES_PROPERTY)) {
            if (!fc) putchar(',');
            fc = 0;
            json_string(icalproperty_get_categories(p));
        }
        fputs("],\"start\":", stdout); json_time(icalcomponent_get_dtstart(ev));
        fputs(",\"end\":", stdout); json_time(icalcomponent_get_dtend(ev));
        fputs(",\"props\":[", stdout);
        int fp = 1;
        for (icalproperty *p = icalcomponent_get_first_property(ev, ICAL_ANY_PROPERTY); p;
             p = icalcomponent_get_next_property(ev, ICAL_ANY_PROPERTY)) {
            if (!fp) putchar(',');
            fp = 0;
            json_string(icalproperty_get_property_name(p));
        }
        fputs("],\"components\":[", stdout);
        int fs = 1;
        for (icalcomponent *s = icalcomponent_get_first_component(ev, ICAL_ANY_COMPONENT); s;
             s = icalcomponent_get_next_component(ev, ICAL_ANY_COMPONENT)) {
            if (!fs) putchar(',');
            fs = 0;
            json_string(icalcomponent_kind_to_string(icalcomponent_isa(s)));
        }
        fputs("]}", stdout);
    }
    fputs("]}\n", stdout);
    icalcomponent_free(root);
    free(buf);
    return 0;
}
