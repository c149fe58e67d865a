/* links_util.c — pure helpers of pkg/links: a small string builder, the
 * provisioning unescape ($$ → $), URL encoding, Grafana's duration reading
 * (rangeutil: one integer and one unit), trace/span id normalisation (hex or
 * base64), the JavaScript → POSIX ERE regex translation for derived fields,
 * and the names/condition/report functions of links.h. */
#include "links_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- string builder ------------------------------------------------------ */

void lk_sb_add(struct lk_sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void lk_sb_puts(struct lk_sb *b, const char *s)
{
    lk_sb_add(b, s, strlen(s));
}

void lk_sb_printf(struct lk_sb *b, const char *fmt, ...)
{
    char tmp[512], *big = NULL;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        lk_sb_add(b, tmp, (size_t)n);
        return;
    }
    big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    lk_sb_add(b, big, (size_t)n);
    free(big);
}

/* Returns the built string ("" when empty) and resets b; NULL on OOM. */
char *lk_sb_take(struct lk_sb *b)
{
    char *p;
    if (b->oom) {
        free(b->p);
        memset(b, 0, sizeof *b);
        return NULL;
    }
    p = b->p ? b->p : op_strdup("");
    memset(b, 0, sizeof *b);
    return p;
}

void lk_sb_free(struct lk_sb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- provisioning unescape ----------------------------------------------- */

char *links_unescape(const char *s)
{
    size_t n = strlen(s), i, o = 0;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (i = 0; i < n; i++) {
        if (s[i] == '$' && s[i + 1] == '$')
            i++;
        out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

/* ---- URL encoding -------------------------------------------------------- */

void lk_sb_urlenc(struct lk_sb *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            lk_sb_add(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            lk_sb_add(b, e, 3);
        }
    }
}

/* ---- durations (Grafana rangeutil.intervalToMs / describeInterval) -------- */

int lk_duration_ms(const char *s, int64_t def_ms, int64_t *out)
{
    const char *p = s;
    int neg = 0;
    long long v = 0;
    int digits = 0;
    int64_t unit;

    if (!s || !*s) {
        *out = def_ms;
        return 0;
    }
    while (*p == ' ')
        p++;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p++ - '0');
        digits++;
        if (v > 1000000000LL)
            return -1;
    }
    if (!digits)
        return -1;
    if (*p == '\0' || strncmp(p, "s", 1) == 0)
        unit = 1000;
    else if (strncmp(p, "ms", 2) == 0)
        unit = 1;
    else if (*p == 'm')
        unit = 60000;
    else if (*p == 'h')
        unit = 3600000;
    else if (*p == 'd')
        unit = 86400000;
    else if (*p == 'w')
        unit = 7 * 86400000LL;
    else if (*p == 'y')
        unit = 365 * 86400000LL;
    else
        return -1;
    *out = (neg ? -1 : 1) * (int64_t)v * unit;
    return 0;
}

/* ---- ids ----------------------------------------------------------------- */

static int all_hex(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* A trace or span id as lowercase hex: hex input is kept (lower-cased),
 * anything else is read as base64 (Tempo's OTLP JSON). "" when unusable. */
void lk_id_hex(const char *in, char *out, size_t outsz)
{
    char *raw = NULL;
    size_t rl = 0, i, o = 0;
    out[0] = '\0';
    if (!in || !*in)
        return;
    if (all_hex(in) && (strlen(in) == 32 || strlen(in) == 16)) {
        for (i = 0; in[i] && o + 1 < outsz; i++)
            out[o++] = (char)tolower((unsigned char)in[i]);
        out[o] = '\0';
        return;
    }
    if (op_base64_decode(in, strlen(in), &raw, &rl) != 0)
        return;
    for (i = 0; i < rl && o + 2 < outsz; i++)
        o += (size_t)snprintf(out + o, outsz - o, "%02x", (unsigned char)raw[i]);
    free(raw);
}

/* ---- JS regex → POSIX ERE ------------------------------------------------ */

char *links_js_regex_to_ere(const char *js, int *group)
{
    struct lk_sb b = {0};
    int ere_groups = 0, js_groups = 0, in_class = 0;
    const char *p;

    *group = 0;
    for (p = js; *p; p++) {
        if (*p == '\\') {
            char c = p[1];
            if (!c)
                goto bad;
            p++;
            switch (c) {
            case 'd':
                lk_sb_puts(&b, in_class ? "0-9" : "[0-9]");
                break;
            case 'D':
                if (in_class)
                    goto bad;
                lk_sb_puts(&b, "[^0-9]");
                break;
            case 'w':
                lk_sb_puts(&b, in_class ? "[:alnum:]_" : "[[:alnum:]_]");
                break;
            case 's':
                lk_sb_puts(&b, in_class ? "[:space:]" : "[[:space:]]");
                break;
            case 'W':
            case 'S':
            case 'b':
            case 'B':
                if (in_class)
                    goto bad;
                lk_sb_add(&b, p - 1, 2); /* GNU operators */
                break;
            case 't':
                lk_sb_puts(&b, "\t");
                break;
            case 'n':
                lk_sb_puts(&b, "\n");
                break;
            default:
                if (isdigit((unsigned char)c) || c == 'k' || c == 'u' || c == 'x' || c == 'c' || c == 'p')
                    goto bad; /* backreferences, escapes POSIX lacks */
                if (in_class) {
                    if (c == ']' || c == '\\' || c == '^' || c == '-')
                        goto bad; /* cannot be escaped inside a POSIX class */
                    lk_sb_add(&b, &c, 1);
                } else if (isalnum((unsigned char)c)) {
                    goto bad;
                } else if (strchr(".[]()*+?{}|^$", c)) {
                    lk_sb_add(&b, p - 1, 2);
                } else {
                    lk_sb_add(&b, &c, 1); /* \" \/ \= … are the literal */
                }
            }
            continue;
        }
        if (in_class) {
            if (*p == ']')
                in_class = 0;
            lk_sb_add(&b, p, 1);
            continue;
        }
        if (*p == '[') {
            in_class = 1;
            lk_sb_add(&b, p, 1);
            if (p[1] == '^')
                lk_sb_add(&b, ++p, 1);
            if (p[1] == ']')
                lk_sb_add(&b, ++p, 1);
            continue;
        }
        if (*p == '(') {
            ere_groups++;
            if (p[1] == '?') {
                if (p[2] == ':') {
                    p += 2; /* non-capturing: still an ERE group */
                } else if (p[2] == '<' && p[3] != '=' && p[3] != '!') {
                    const char *e = strchr(p, '>');
                    if (!e)
                        goto bad;
                    p = e;
                    js_groups++;
                    if (js_groups == 1)
                        *group = ere_groups;
                } else {
                    goto bad; /* lookaround, inline flags */
                }
            } else {
                js_groups++;
                if (js_groups == 1)
                    *group = ere_groups;
            }
            lk_sb_puts(&b, "(");
            continue;
        }
        if ((*p == '*' || *p == '+' || *p == '?' || *p == '}') && p[1] == '?')
            goto bad; /* lazy quantifiers */
        lk_sb_add(&b, p, 1);
    }
    if (in_class)
        goto bad;
    return lk_sb_take(&b);
bad:
    lk_sb_free(&b);
    return NULL;
}

/* ---- names, condition, report ------------------------------------------- */

static const char *const link_names[LINKS_NLINKS] = {
    "metrics→traces", "traces→logs", "traces→metrics", "traces→profiles", "logs→traces", "service map",
};
static const char *const link_ids[LINKS_NLINKS] = {
    "metrics_traces", "traces_logs", "traces_metrics", "traces_profiles", "logs_traces", "service_map",
};

const char *links_link_name(int link)
{
    return link >= 0 && link < LINKS_NLINKS ? link_names[link] : NULL;
}

const char *links_link_id(int link)
{
    return link >= 0 && link < LINKS_NLINKS ? link_ids[link] : NULL;
}

const char *links_state_name(int state)
{
    switch (state) {
    case LINKS_VERIFIED:
        return "Verified";
    case LINKS_BROKEN:
        return "Broken";
    case LINKS_NODATA:
        return "NoData";
    default:
        return NULL;
    }
}

int links_exit_code(const struct links_report *r)
{
    size_t i;
    for (i = 0; i < r->n; i++)
        if (r->checks[i].state == LINKS_BROKEN)
            return 1;
    return 0;
}

/* Appends s to out (size outsz) and cuts on a UTF-8 boundary. */
static void cat_utf8(char *out, size_t outsz, const char *s)
{
    size_t o = strlen(out), n = strlen(s);
    if (o + 1 >= outsz)
        return;
    if (o + n + 1 > outsz) {
        n = outsz - o - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out + o, s, n);
    out[o + n] = '\0';
}

void links_condition(const struct links_report *r, const char **status, const char **reason, char *msg,
                     size_t msgsz)
{
    size_t i, broken = 0, nodata = 0;
    if (msgsz == 0)
        return;
    msg[0] = '\0';
    for (i = 0; i < r->n; i++) {
        if (r->checks[i].state == LINKS_BROKEN)
            broken++;
        else if (r->checks[i].state == LINKS_NODATA)
            nodata++;
    }
    if (r->n == 0) {
        *status = "Unknown";
        *reason = "NoLinksRendered";
        cat_utf8(msg, msgsz, "no cross-signal link is rendered for this stack");
        return;
    }
    if (broken) {
        char head[96];
        *status = "False";
        *reason = "LinksBroken";
        snprintf(head, sizeof head, "%zu of %zu links broken: ", broken, r->n);
        cat_utf8(msg, msgsz, head);
        for (i = 0; i < r->n; i++) {
            if (r->checks[i].state != LINKS_BROKEN)
                continue;
            if (msg[strlen(msg) - 1] != ' ')
                cat_utf8(msg, msgsz, "; ");
            cat_utf8(msg, msgsz, r->checks[i].message);
        }
        return;
    }
    if (nodata) {
        *status = "Unknown";
        *reason = "LinksNoData";
        cat_utf8(msg, msgsz, "no data to follow yet: ");
        for (i = 0; i < r->n; i++) {
            if (r->checks[i].state != LINKS_NODATA)
                continue;
            if (msg[strlen(msg) - 1] != ' ')
                cat_utf8(msg, msgsz, "; ");
            cat_utf8(msg, msgsz, r->checks[i].message);
        }
        return;
    }
    *status = "True";
    *reason = "LinksVerified";
    {
        char m[128];
        snprintf(m, sizeof m, "all %zu rendered links verified against the backends' data", r->n);
        cat_utf8(msg, msgsz, m);
    }
}

void links_report_counts(const struct links_report *r, unsigned counts[LINKS_NLINKS][3])
{
    size_t i;
    memset(counts, 0, sizeof(unsigned[LINKS_NLINKS][3]));
    for (i = 0; i < r->n; i++)
        if (r->checks[i].link >= 0 && r->checks[i].link < LINKS_NLINKS && r->checks[i].state >= 0 &&
            r->checks[i].state < 3)
            counts[r->checks[i].link][r->checks[i].state]++;
}

json_t *links_report_json(const struct links_report *r)
{
    json_t *arr = json_array();
    size_t i;
    if (!arr)
        return NULL;
    for (i = 0; i < r->n; i++) {
        const struct links_check *c = &r->checks[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "link", links_link_name(c->link), "id",
                              links_link_id(c->link), "result", links_state_name(c->state), "message",
                              c->message);
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}
