/* xy.h — libyaml <-> jansson (prefix xy_, and the header is xy.h, since
 * yaml_ and <yaml.h> belong to libyaml: a pkg/yaml/yaml.h on the include
 * path would shadow libyaml's own header).
 *
 * Loading: a YAML stream (JSON is YAML) becomes a JSON array with one value
 * per document. Plain scalars resolve like Kubernetes' YAML reader (YAML 1.1
 * as in go-yaml v2): null|Null|NULL|~|"" -> null; true/false/yes/no/on/off/y/n
 * (the three casings) -> bool; decimal/0x/0o integers -> integer; decimal
 * floats -> real; everything else -> string. Quoted scalars and !!str are
 * always strings. Anchors and aliases are resolved (aliases are deep copies,
 * with a total node budget against alias bombs). Duplicate keys are errors.
 *
 * Emitting: deterministic block-style YAML. Key order: "apiVersion", "kind",
 * "metadata", "name", "namespace" first (in that order) when present, then all
 * other keys sorted bytewise (strcmp) — independent of insertion order.
 * Strings that would re-parse as anything but the same string are quoted;
 * multi-line strings use literal block style (|, |-, |+) when libyaml allows
 * it, else double quotes. Lines are never folded. */
#ifndef CROSSLINK_XY_H
#define CROSSLINK_XY_H

#include <jansson.h>
#include <stddef.h>

#define XY_MAX_INPUT (16u * 1024u * 1024u)
#define XY_MAX_NODES 1000000u
#define XY_MAX_DEPTH 256

/* Parses data (len bytes, need not be NUL-terminated). On success returns 0
 * and *docs_out = new reference to an array of documents (an empty stream
 * gives []; an empty document gives null). Returns OP_EINVALID with
 * "line L, column C: problem" in op_err_last(), OP_ETOOBIG, OP_ENOMEM. */
int xy_load(json_t **docs_out, const char *data, size_t len);

/* Reads path ("-" = stdin) and calls xy_load. OP_ENOTFOUND if it does not
 * exist, OP_ERR on read errors. */
int xy_load_file(json_t **docs_out, const char *path);

/* Emits one document (doc borrowed) without "---". *out is malloc'd. */
int xy_emit(char **out, const json_t *doc);

/* Emits every element of the array docs (borrowed) as a document starting
 * with "---". *out is malloc'd ("" for an empty array). */
int xy_emit_stream(char **out, const json_t *docs);

/* 1 if a plain (unquoted) scalar with this text would NOT load back as the
 * same string (it resolves to null/bool/number, or is empty). */
int xy_plain_is_ambiguous(const char *s);

#endif
