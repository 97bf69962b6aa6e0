/* stance-export-csv.h: force-time and results as CSV for spreadsheets (plain C, no GLib).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every file opens with "# key: value" metadata lines, then one header row, then data rows
 * (docs/exports.md has the columns). Numbers are written with a '.' decimal point and never
 * depend on the locale (formatted through integers, as cli_fmt does); fields holding text are
 * quoted as RFC 4180 says when they contain a comma, quote or newline. Gap samples keep their row
 * with empty force cells and status "gap"; nothing is interpolated.
 *
 * Threads: reentrant.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stance-analysis.h"
#include "stance-error.h"
#include "stance-recording.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Metadata for the header lines (NULL / 0 fields are left out). */
typedef struct {
  const char *athlete;
  const char *session;   /* e.g. "2026-11-24 09:30 (id 12)" */
  int trial_number;      /* 0: not a single trial */
  const char *generator; /* "Stance 0.1.0" */
  int64_t exported_unix_ms;
} StanceCsvMeta;

/* Force-time of one recording: time_s, left_n, right_n, total_n (as the layout has them), for
 * CELLS also l1_n..r4_n and l1_counts..r4_counts, then status ("ok", "gap", "sat:l3", ...).
 * Metadata: format, units, rate, samples, duration, layout, protocol, side, athlete, start time,
 * board, calibration id with every cell's offset and gain, source, gaps. */
int stance_csv_write_recording(FILE *out, const StanceRecording *rec, const StanceCsvMeta *meta,
                               StanceError *err);

/* The results of several analyses (one per trial, trial numbers in numbers[]) as the long table
 * of stance_analysis_write_csv() with a leading "trial" column, and metadata lines naming each
 * method used (onset rule, filter, formula with its text, gravity). */
int stance_csv_write_results(FILE *out, const StanceAnalysis *const *as, const int *numbers,
                             size_t n, const StanceCsvMeta *meta, StanceError *err);

#ifdef __cplusplus
}
#endif
