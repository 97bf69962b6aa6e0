/* cli-common.h: what the stance-cli subcommands share: exit codes, error printing, option-value
 * parsing, locale-independent number formatting and output files.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every message goes to stderr as "stance-cli <sub>: <message>". Numbers written by the CLI (text,
 * CSV) never depend on the process locale: cli_fmt() formats through integers only, and main()
 * keeps LC_NUMERIC at "C" so the core's strtod()/printf() see a decimal point too.
 *
 * Threads: the CLI is single-threaded; cli_num() hands out buffers from a small static ring.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <getopt.h>

#include "stance-error.h"
#include "stance-import.h"
#include "stance-json.h"
#include "stance-protocol.h"
#include "stance-recording.h"
#include "stance-sim.h"

/* Process exit codes (documented in docs/cli.md). */
enum {
  CLI_EXIT_OK = 0,    /* success */
  CLI_EXIT_INPUT = 1, /* bad input: unreadable, corrupt or unparseable file; failed write */
  CLI_EXIT_USAGE = 2, /* bad usage: unknown subcommand or option, missing or bad option value */
};

/* A subcommand's entry point: argv[0] is the subcommand's name. Returns an exit code. */
typedef int (*CliMain)(int argc, char **argv);

int cli_simulate_main(int argc, char **argv);
int cli_import_main(int argc, char **argv);
int cli_info_main(int argc, char **argv);
int cli_analyse_main(int argc, char **argv);
int cli_record_main(int argc, char **argv);
int cli_devices_main(int argc, char **argv);

/* Usage texts, printed by `<sub> --help` and `stance-cli help <sub>`. */
void cli_simulate_help(FILE *out);
void cli_import_help(FILE *out);
void cli_info_help(FILE *out);
void cli_analyse_help(FILE *out);
void cli_record_help(FILE *out);
void cli_devices_help(FILE *out);

/* ---- Loading recordings (info, analyse) ---- */

/* A recording file as loaded: a .stance file (recognised by its magic) or a text file through
 * the importer (which may hold several trials). */
typedef struct {
  bool is_stance;
  unsigned version_major, version_minor; /* of a .stance file (header bytes 8-11) */
  StanceImportResult imp;                /* text files */
  StanceRecording *rec;                  /* .stance files */
} CliLoaded;

/* Loads path; text files use iopt. Errors name the file. Free with cli_unload() (also after a
 * failure). */
int cli_load(const char *path, const StanceImportOptions *iopt, CliLoaded *ld, StanceError *err);
void cli_unload(CliLoaded *ld);

/* ---- Messages ---- */

/* Prints "stance-cli <sub>: <message>\n" to stderr. */
void cli_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints the message and a pointer to `--help`; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports what getopt_long() returned for an unknown option (c == '?') or a missing argument
 * (c == ':'), naming the option as the user typed it. Returns CLI_EXIT_USAGE. */
int cli_getopt_error(const char *sub, int c, char **argv);

/* ---- Option values ---- */

/* A finite decimal number (dot decimal point), the whole string; false otherwise. */
bool cli_parse_double(const char *s, double *out);
/* A decimal integer in [min, max], the whole string; false otherwise. */
bool cli_parse_long(const char *s, long min, long max, long *out);

/* Protocol and side option values; on failure they print a usage error naming the accepted
 * values and return false. */
bool cli_parse_protocol(const char *sub, const char *opt, const char *s, StanceProtocol *out);
bool cli_parse_side(const char *sub, const char *opt, const char *s, bool allow_both,
                    StanceSide *out);

/* Lists the protocol ids with their titles, two columns, indented. */
void cli_print_protocols(FILE *out, int indent);

/* ---- Simulator options (simulate, record --sim) ---- */

/* The simulator's command-line options (`simulate --help` lists them). flag: takes no value.
 * stream: also an option of `record --sim`; not side and front, rate and duration (record has its
 * own --side, --rate and --duration, in the recording's sense), nor saturate (a stream cannot do
 * it: stance-source-sim.h). */
typedef struct {
  const char *name;
  bool flag;
  bool stream;
} CliSimOption;

#define CLI_N_SIM_OPTIONS 27
extern const CliSimOption cli_sim_options[CLI_N_SIM_OPTIONS];

/* getopt_long() value of cli_sim_options[k]: CLI_SIM_OPT_BASE + k. */
#define CLI_SIM_OPT_BASE 1000

/* Fills opts[0..] with the simulator options (only the stream ones when stream_only) and returns
 * how many; opts needs room for CLI_N_SIM_OPTIONS. */
size_t cli_sim_longopts(struct option *opts, bool stream_only);

/* CLI option name -> simulator key (stance_sim_params_set): "noise" -> "adc-noise",
 * "hum" -> "mains-amp", "no-warmup" -> "warmup"; others are the same. */
const char *cli_sim_key(const char *option);
/* True for the options that take no value (saturate, no-still, no-warmup). */
bool cli_sim_is_flag(const char *option);

/* Option values collected before the protocol (and so the defaults) is known, applied in order. */
typedef struct {
  char *key;   /* simulator key */
  char *value; /* NULL for a bare flag */
  char *where; /* "--reps: " or "file.txt:3: " for messages */
} CliSetting;

typedef struct {
  CliSetting *v;
  size_t n, cap;
} CliSettings;

/* STANCE_OK or STANCE_ENOMEM. */
int cli_settings_add(CliSettings *s, const char *key, const char *value, const char *where);
void cli_settings_free(CliSettings *s);

/* Collects the simulator option getopt_long() returned as `c` (CLI_SIM_OPT_BASE + k) with its
 * optarg. Returns CLI_EXIT_OK, or CLI_EXIT_INPUT after reporting that memory ran out. */
int cli_sim_collect(const char *sub, CliSettings *s, int c, const char *optarg_value);

/* Applies command-line settings to p in order (stance_sim_params_set); the first refused value
 * is reported as a usage error naming its option. Returns CLI_EXIT_OK or CLI_EXIT_USAGE. */
int cli_sim_apply(const char *sub, const CliSettings *s, StanceSimParams *p);

/* Prints a simulator message with the CLI's option names ("--noise: ..." for "adc-noise: ...");
 * dashes: "--" before the name (off for --params files, which use names without dashes). */
void cli_sim_print_error(const char *sub, const char *where, const StanceError *err, bool dashes);

/* ---- Number formatting (locale-independent) ---- */

/* Writes v with `decimals` digits after a '.' (0-15) into buf; never a comma, never "-0.0".
 * Non-finite values are written as "n/a" (callers check first: outputs never carry NaN).
 * Returns the length written (excluding the NUL). */
size_t cli_fmt(char *buf, size_t n, double v, int decimals);

/* Same into one of 32 rotating static buffers, for use inside one printf call (at most 32
 * numbers per call). */
const char *cli_num(double v, int decimals);

/* Like cli_num() with at most max_decimals, trailing zeros and a bare point removed:
 * 1000.000 -> "1000", 0.000408400 -> "0.0004084". */
const char *cli_num_trim(double v, int max_decimals);

/* A count as plain decimal digits, from the same ring as cli_num(). */
const char *cli_size(size_t v);

/* ---- Files ---- */

/* A copy of path whose last extension (after the last '.' of the last component) is replaced by
 * ext (".truth.json"); ext is appended when there is none. The caller frees it. */
char *cli_replace_ext(const char *path, const char *ext);

/* The last component of path without its last extension (caller frees). */
char *cli_stem(const char *path);

/* True when path ends with suffix, ignoring ASCII case. */
bool cli_has_suffix(const char *path, const char *suffix);

/* True when a and b name the same existing file. */
bool cli_same_file(const char *a, const char *b);

/* An output file written atomically: data goes to a temporary file in the same folder and is
 * renamed over path by cli_out_commit(); cli_out_abort() removes the temporary file. */
typedef struct {
  FILE *fp;
  char *path;
  char *tmp_path;
} CliOut;

/* Opens the temporary file; on failure fills err (STANCE_EIO naming the folder) and returns it. */
int cli_out_open(CliOut *o, const char *path, StanceError *err);
/* Flushes, syncs, closes and renames; on failure removes the temporary file. */
int cli_out_commit(CliOut *o, StanceError *err);
void cli_out_abort(CliOut *o);

/* ---- JSON ---- */

/* key + string, where s may come from a file or the command line: JSON needs valid UTF-8, so
 * invalid bytes are written as U+FFFD instead of failing the whole document. */
void cli_json_kv_text(StanceJson *j, const char *key, const char *s);

/* ---- Recording helpers shared by info, import, simulate and analyse ---- */

/* Channel name: "l1".."r4" for CELLS, "left"/"right" for PLATES, "total" for COMBINED. */
const char *cli_channel_name(const StanceRecording *rec, int channel);

/* Asymmetry of two per-limb values as a percent difference (stronger - weaker) / stronger * 100,
 * naming the stronger limb: "15.0 % (left stronger)", "0.0 % (even)"; "n/a" unless both are
 * positive and finite. */
const char *cli_asym_text(char *buf, size_t n, double left, double right);
