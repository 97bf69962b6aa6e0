/* cli-describe.h: the per-recording summary shared by `info` and `import` (text and JSON).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Threads: the CLI's main thread only (text goes through cli_num()'s static ring).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "stance-json.h"
#include "stance-recording.h"

/* What the summary computes from the samples. Means are over the non-gap samples of the first
 * second (or the whole recording when it is shorter); zero when has_window_mean is false. */
typedef struct {
  double window_s;    /* length of the averaging window */
  size_t window_used; /* non-gap samples in it */
  bool has_window_mean;
  double mean_left_n, mean_right_n, mean_total_n;
  size_t gap_samples, gap_runs;
  size_t sat_samples;
  unsigned sat_channels; /* bit c: channel c saturated somewhere */
  size_t overflows;
} CliRecStats;

void cli_rec_stats(const StanceRecording *rec, CliRecStats *st);

/* Rate without needless decimals: "1000", "1200", "2083.333". */
const char *cli_rate_text(double hz);

/* Prints the labelled block for rec. Values start at column `value_col`; labels are indented by
 * `indent` spaces. show_meta: also the free metadata pairs (off when the importer's notes, which
 * say the same, are printed). */
void cli_describe_text(FILE *out, const StanceRecording *rec, int indent, int value_col,
                       bool show_meta);

/* Writes rec's members into the open JSON object. */
void cli_describe_json(StanceJson *j, const StanceRecording *rec);

/* Prints a labelled paragraph, wrapped at 100 columns with a hanging indent (for importer notes).
 */
void cli_print_wrapped(FILE *out, int indent, int value_col, const char *label, const char *text);
