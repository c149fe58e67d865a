/* links_stack.c — a stack → pkg/links input (rendered data sources +
 * resolved backends) and the `crosslink probe --links` output. */
#include "links_stack.h"

#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctl_links_input_build(struct ctl_links_input *li, const struct spec_stack *s, const struct ctl_probe_set *ps,
                          json_t *ds_doc)
{
    size_t j;
    memset(li, 0, sizeof *li);
    li->doc = ds_doc ? json_incref(ds_doc) : render_datasources_doc(s);
    if (!li->doc)
        return op_err_set(OP_ENOMEM, "out of memory");
    li->in.datasources = li->doc;
    for (j = 0; j < ps->n; j++) {
        int sig = ps->targets[j].signal;
        if (sig < 0 || sig >= PROBE_NSIGNALS)
            continue;
        if (ps->prefailed[j])
            li->skipped[sig] = 1;
        else
            li->in.targets[sig] = &ps->targets[j];
    }
    li->in.request_metric = s->correlation.request_metric;
    li->in.timeout_ms = s->verify.timeout_ms;
    return 0;
}

void ctl_links_input_cleanup(struct ctl_links_input *li)
{
    json_decref(li->doc);
    memset(li, 0, sizeof *li);
}

int ctl_probe_links(struct spec_stack **stacks, size_t nstacks, ctl_ref_lookup_fn lookup, void *ud, int json)
{
    json_t *all = json_array();
    size_t k, nodata = 0;
    int rc = 0, multi = nstacks > 1;

    if (!all)
        return 1;
    if (!json)
        printf("%s%-16s  %-8s  %s\n", multi ? "STACK  " : "", "LINK", "RESULT", "MESSAGE");
    for (k = 0; k < nstacks; k++) {
        struct ctl_probe_set ps;
        struct ctl_links_input li;
        struct links_report rep;
        const char *name = stacks[k]->meta.name ? stacks[k]->meta.name : "";
        size_t i;
        int sig;

        if (ctl_probe_set_build(&ps, stacks[k], lookup, ud) != 0) {
            fprintf(stderr, "crosslink probe --links: out of memory\n");
            rc = 1;
            continue;
        }
        if (ctl_links_input_build(&li, stacks[k], &ps, NULL) != 0 || links_run(&li.in, &rep) != 0) {
            fprintf(stderr, "crosslink probe --links: %s: %s\n", name, op_err_last());
            ctl_links_input_cleanup(&li);
            ctl_probe_set_cleanup(&ps);
            rc = 1;
            continue;
        }
        for (sig = 0; sig < PROBE_NSIGNALS; sig++)
            if (li.skipped[sig])
                fprintf(stderr, "warning: %s: links through %s not checked: its credentials could not be read (run `crosslink probe` for details)\n",
                        name, probe_signal_name(sig));
        for (i = 0; i < rep.n; i++) {
            const struct links_check *c = &rep.checks[i];
            if (c->state == LINKS_NODATA)
                nodata++;
            if (json) {
                json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "stack", name, "link", links_link_name(c->link),
                                      "id", links_link_id(c->link), "result", links_state_name(c->state), "message",
                                      c->message);
                if (o)
                    json_array_append_new(all, o);
            } else {
                /* the link name has multi-byte arrows: pad by hand */
                const char *ln = links_link_name(c->link);
                size_t w = 0;
                const char *p;
                for (p = ln; *p; p++)
                    if (((unsigned char)*p & 0xC0) != 0x80)
                        w++;
                if (multi)
                    printf("%s  ", name);
                printf("%s%*s  %-8s  %s\n", ln, (int)(w < 16 ? 16 - w : 0), "", links_state_name(c->state),
                       c->message);
            }
        }
        if (!json && rep.n == 0)
            printf("%s(no cross-signal link rendered)\n", multi ? "" : "");
        if (links_exit_code(&rep))
            rc = 1;
        ctl_links_input_cleanup(&li);
        ctl_probe_set_cleanup(&ps);
    }
    if (json) {
        char *s = json_dumps(all, JSON_INDENT(2));
        if (s)
            printf("%s\n", s);
        free(s);
    }
    if (nodata)
        fprintf(json ? stderr : stdout,
                "note: %zu link%s had no data to follow (NoData: no exemplars / traces / log lines in the window); "
                "NoData is not a failure — check again once traffic flows\n",
                nodata, nodata == 1 ? "" : "s");
    fflush(stdout);
    json_decref(all);
    return rc;
}
