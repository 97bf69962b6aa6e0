/* stance-import.h: import of force-time text files from other systems.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reads comma, tab or semicolon separated text; with or without a header; decimal point or decimal
 * comma; a time column or a given rate; per-plate columns, per-cell columns or one combined column.
 * Layouts are detected automatically (see docs/import.md for the rules, with the known layouts of
 * shiny-vertical-jump, AMTI/plateforce, OpenSim .mot-style exports, Vertical-Jumps-Fz and
 * IsometricAnalyzer) and can be forced with options. One file may hold several trials side by side
 * (e.g. shiny-vertical-jump's wide format: column pairs are trials): each becomes one recording.
 *
 * Errors name the line and column and what was expected. Nothing is ever guessed silently: an
 * assumed rate or an assumed left/right assignment is flagged in the recording's metadata
 * (rate_assumed, sides_assumed) and in the importer's notes.
 *
 * Threads: reentrant; the caller owns the result.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "stance-recording.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  char delimiter;         /* ',', '\t', ';' or 0 to detect */
  int decimal_comma;      /* 1 yes, 0 no, -1 detect (default) */
  int skip_lines;         /* lines to skip before the header/data; -1 detect (default) */
  double rate_hz;         /* sample rate; 0 = from the time column, else the default below */
  double default_rate_hz; /* used (and flagged rate_assumed) when there is neither; 1000 */
  /* Column mapping "left=fp1,right=fp2", "total=Fz", "time=t", "l1=..,l2=..,..,r4=..",
   * "copx=..,copy=.." (combined) or "left_copx=..", ..., names or 1-based numbers; NULL = detect.
   */
  const char *columns;
  double force_scale; /* multiply forces by this (e.g. 9.81 for kgf); 0 = 1 */
  bool swap_sides;    /* exchange left and right after mapping */
} StanceImportOptions;

typedef struct {
  StanceRecording **recs; /* n_recs recordings (trials in file order) */
  size_t n_recs;
  char notes[1024]; /* human-readable: detected layout, mapping, assumptions */
} StanceImportResult;

void stance_import_options_default(StanceImportOptions *opt);

/* Imports a file. On success *out holds >= 1 recordings; free with stance_import_result_clear(). */
int stance_import_text(const char *path, const StanceImportOptions *opt, StanceImportResult *out,
                       StanceError *err);

/* Same from a buffer in memory (name is used in messages and metadata). */
int stance_import_text_buffer(const char *name, const char *buf, size_t len,
                              const StanceImportOptions *opt, StanceImportResult *out,
                              StanceError *err);

void stance_import_result_clear(StanceImportResult *res);

#ifdef __cplusplus
}
#endif
