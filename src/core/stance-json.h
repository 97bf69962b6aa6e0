/* stance-json.h: a small streaming JSON writer for the core's outputs (simulator ground truth,
 * analysis results). No parsing here.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Numbers are written with the fewest digits that read back to the same double. JSON has no NaN or
 * infinity: writing one is refused (the writer records STANCE_ERANGE naming the key) so a made-up
 * value never reaches an output. Strings are escaped as RFC 8259 requires; invalid UTF-8 is
 * refused. Commas and indentation are handled by the writer.
 *
 * Threads: a writer belongs to one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stance-error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct StanceJson StanceJson;

/* A writer on an open stream (not closed by the writer). pretty: 2-space indentation. */
StanceJson *stance_json_new(FILE *out, bool pretty);

void stance_json_begin_object(StanceJson *j);
void stance_json_end_object(StanceJson *j);
void stance_json_begin_array(StanceJson *j);
void stance_json_end_array(StanceJson *j);
/* Inside an object, every value is preceded by a key. */
void stance_json_key(StanceJson *j, const char *key);
void stance_json_string(StanceJson *j, const char *s);
void stance_json_number(StanceJson *j, double v);
void stance_json_int(StanceJson *j, int64_t v);
void stance_json_bool(StanceJson *j, bool v);
void stance_json_null(StanceJson *j);

/* Shorthands for key + value inside an object. */
void stance_json_kv_string(StanceJson *j, const char *key, const char *s);
void stance_json_kv_number(StanceJson *j, const char *key, double v);
void stance_json_kv_int(StanceJson *j, const char *key, int64_t v);
void stance_json_kv_bool(StanceJson *j, const char *key, bool v);

/* Ends the document (a newline when pretty), reports the first error (unbalanced nesting, a
 * non-finite number, a value without a key, invalid UTF-8, a write failure) and frees the writer.
 * Returns STANCE_OK or the first error's code. */
int stance_json_finish(StanceJson *j, StanceError *err);

#ifdef __cplusplus
}
#endif
