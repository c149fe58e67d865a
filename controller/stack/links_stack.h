/* links_stack.h — glue between a decoded stack and pkg/links: the rendered
 * data-source document (pkg/render) plus the resolved backends
 * (probe_targets.h) become a links_input; and `crosslink probe --links`
 * (table / JSON, exit codes). The controller's LinksVerified job uses
 * ctl_links_input_build + links_key + links_run + links_condition. */
#ifndef CROSSLINK_LINKS_STACK_H
#define CROSSLINK_LINKS_STACK_H

#include "links.h"
#include "probe_targets.h"
#include "spec.h"

struct ctl_links_input {
    struct links_input in;   /* ready for links_key / links_run */
    json_t *doc;             /* owned: render_datasources_doc(stack) */
    int skipped[PROBE_NSIGNALS]; /* configured but pre-failed (SecretNotFound): links needing it are not checked */
};

/* Builds li for stack s with the resolved set ps (both borrowed; ps must
 * outlive li). Returns 0 or OP_ENOMEM. */
int ctl_links_input_build(struct ctl_links_input *li, const struct spec_stack *s, const struct ctl_probe_set *ps);
void ctl_links_input_cleanup(struct ctl_links_input *li);

/* `crosslink probe --links`: verifies the links of every stack, prints a
 * table (STACK when several, LINK, RESULT, MESSAGE) or a JSON array
 * ([{stack, link, id, result, message}]), a note when some links had only
 * NoData, and returns the exit code: 1 if any link is Broken (or a stack
 * could not be checked), else 0. json: 0 = table, 1 = JSON. */
int ctl_probe_links(struct spec_stack **stacks, size_t nstacks, ctl_ref_lookup_fn lookup, void *ud, int json);

#endif
