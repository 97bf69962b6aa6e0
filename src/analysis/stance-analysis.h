/* stance-analysis.h: analysis of one recording into trials, events, per-limb metrics, asymmetry
 * and a session summary (plain C; GSL and FFTW inside, no GLib).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pipeline (stance_analyse()):
 *   1. forces: left, right and total vertical force (N) from the recording (one series for a
 *      COMBINED recording), gaps and saturation marked per sample (stance-condition.h);
 *   2. conditioning: plate zeroing, body weight from the stillest window, optional zero-lag
 *      Butterworth low-pass, spectrum of the still period (noise floor, mains hum), spikes;
 *   3. the protocol's family analyser segments the recording into trials, finds events and
 *      computes metrics (jumps, hops, isometrics, reps, balance);
 *   4. every metric with a left and a right value gets an asymmetry by the chosen formula;
 *   5. the summary across trials (mean, SD, CV %, asymmetry direction consistency).
 *
 * Every number carries the method that produced it (a method id and its parameters), every
 * asymmetry its formula and its stronger limb. A value that cannot be computed is absent with a
 * reason: the model refuses NaN and infinity (stance_metric_set() turns them into an absence).
 * SI units everywhere: N, s, m, kg, N/s, N.s, W; centre-of-pressure measures in mm as the
 * recording model defines them.
 *
 * Ownership: stance_analyse() returns a StanceAnalysis the caller frees with
 * stance_analysis_free(); it owns every trial, metric and flag inside and keeps no pointer into
 * the recording. Threads: reentrant; one analysis belongs to one thread at a time (the GLib
 * layers run stance_analyse() in a GTask and hand the finished result to the main thread).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stance-asym.h"
#include "stance-condition.h"
#include "stance-error.h"
#include "stance-protocol.h"
#include "stance-recording.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the analysis JSON document (docs/analysis-json.md). */
#define STANCE_ANALYSIS_FORMAT "stance-analysis"
#define STANCE_ANALYSIS_FORMAT_VERSION 1

/* ---- Options ---- */

/* Movement onset rules (docs/methods.md, "Onset"). */
typedef enum {
  STANCE_ONSET_DEFAULT = 0, /* the protocol's default (BW_5SD with 30 ms step-back for jumps,
                               BW_5SD for isometrics, FIXED_N for reps) */
  STANCE_ONSET_BW_5SD,      /* first sample outside BW +- k SD (k = onset_sd, default 5), then
                               step back onset_step_back_s (default 0: none) - Owen 2014 */
  STANCE_ONSET_FIXED_N,     /* first sample deviating from BW by more than onset_n (default 20 N) */
  STANCE_ONSET_PCT_BW,      /* first sample deviating from BW by more than onset_pct_bw % (5) */
} StanceOnsetRule;

/* Low-pass filter choice. */
typedef enum {
  STANCE_FILTER_DEFAULT = 0, /* raw for jumps, hops, isometrics and reps; 10 Hz for balance */
  STANCE_FILTER_RAW,         /* no filtering */
  STANCE_FILTER_BUTTERWORTH, /* zero-lag Butterworth: filter_order (2-8, even), filter_cutoff_hz */
  STANCE_FILTER_AUTO,        /* Butterworth at the cutoff Winter's residual analysis suggests */
} StanceFilterKind;

typedef struct {
  StanceProtocol
      protocol;              /* UNKNOWN: take the recording's, and when that is unknown too, the
                                analysis guesses (jump when flights exist, else isometric) and flags */
  StanceSide side;           /* stance limb / front foot for unilateral tests when the recording
                                does not say; BOTH: take the recording's meta.side */
  StanceSide involved;       /* injured / operated limb (LSI); BOTH when not known */
  StanceAsymFormula formula; /* STANCE_ASYM_DEFAULT: protocol default (docs/methods.md) */
  StanceOnsetRule onset;
  double onset_sd;          /* k for BW_5SD; default 5 */
  double onset_step_back_s; /* step-back for BW_5SD; default: 0.030 for jumps, 0 otherwise;
                               a negative value means "the default" */
  double onset_n;           /* FIXED_N threshold; default 20 */
  double onset_pct_bw;      /* PCT_BW threshold; default 5 */
  double takeoff_n;         /* takeoff/landing threshold, N; default 20. <= 0: 5 SD of the
                               unloaded plate (needs a flight or an unloaded stretch) */
  double peak_rfd_window_s; /* sliding window for peak RFD; default 0.020 */
  StanceFilterKind filter;
  int filter_order;        /* Butterworth order of the forward-backward pair (2, 4, 6, 8); 4 */
  double filter_cutoff_hz; /* cutoff (-3 dB of the zero-lag pair); must be < rate / 2 */
  StanceWeighRule weigh;   /* body-weight window rule; default AUTO (first still second, else
                              the stillest window) */
  double weigh_window_s;   /* its length; default 1.0 s */
  double weigh_start_s;    /* >= 0: weigh on [weigh_start_s, + weigh_window_s) as chosen by hand
                              (the window a user brushes in the shiny-vertical-jump app), used
                              even when not still (then flagged); < 0 (default): by the rule */
  double gravity_m_s2;     /* g for mass, velocity and height; default 9.81 (the value of the
                              published tools we validate against); 9.80665 is standard gravity */
  double external_load_kg; /* bar load for barbell protocols when the recording does not say
                              (meta "external_load_kg"); < 0: take the recording's (default) */
} StanceAnalysisOptions;

/* Fills o with the defaults (every field "default"). */
void stance_analysis_options_default(StanceAnalysisOptions *o);

/* Parses the CLI's spellings into o (messages name the option and the accepted values):
 *   onset:   "bw-5sd", "bw-5sd-30ms" (Owen 2014 step-back), "bw-<k>sd", "fixed-<N>n" (e.g.
 *            "fixed-20n"), "pct-<p>bw" (e.g. "pct-5bw"), "default"
 *   filter:  "raw", "none", "auto", "butter:<cutoff_hz>" (order 4), "butter:<order>:<cutoff_hz>",
 *            "default"
 *   formula: see stance_asym_formula_from_name() */
int stance_analysis_options_parse_onset(StanceAnalysisOptions *o, const char *spec,
                                        StanceError *err);
int stance_analysis_options_parse_filter(StanceAnalysisOptions *o, const char *spec,
                                         StanceError *err);

/* The options as one line of text, every field, "key=value" pairs separated by ';', numbers with
 * the fewest digits that read back to the same double, e.g. "protocol=cmj;side=both;involved=both;
 * formula=default;onset=default;onset_sd=5;...". The store keeps it with each analysis run so the
 * run can be repeated exactly. Returns the length (like snprintf; n >= 640 is always enough). */
int stance_analysis_options_to_text(const StanceAnalysisOptions *o, char *buf, size_t n);
/* Parses that text (keys in any order; keys left out keep their defaults; an unknown key or a bad
 * value is STANCE_EFORMAT naming it and what was expected). */
int stance_analysis_options_from_text(StanceAnalysisOptions *o, const char *text, StanceError *err);

/* ---- Result model ---- */

enum {
  STANCE_HAS_LEFT = 1,
  STANCE_HAS_RIGHT = 2,
  STANCE_HAS_TOTAL = 4,
};

#define STANCE_METHOD_MAX_PARAMS 8

/* One method parameter: a number or a string (str[0] != 0 means string). */
typedef struct {
  char key[24];
  double num;
  char str[40];
} StanceParam;

typedef struct {
  char id[48]; /* e.g. "onset.bw_5sd", "impulse.trapezoid", "rfd.epoch" */
  StanceParam params[STANCE_METHOD_MAX_PARAMS];
  int n_params;
} StanceMethod;

typedef struct {
  char formula_id[24]; /* stance_asym_formula_name() */
  double value;        /* in the formula's unit (%, or degrees-derived % for the symmetry angle) */
  StanceSide stronger; /* LEFT, RIGHT, or BOTH when the values are equal */
  StanceSide involved; /* the involved limb for LSI, BOTH otherwise */
} StanceAsymValue;

typedef struct {
  char id[32];   /* stable snake_case id: "peak_force", "rfd_0_100", "net_impulse", ... */
  char unit[12]; /* "N", "N/kg", "BW", "N/s", "N.s", "m", "s", "m/s", "W", "%", "count", "mm",
                    "mm2", "mm/s", "kN/m", "ratio" */
  StanceMethod method;
  unsigned has; /* STANCE_HAS_* bits of the values that exist */
  double left, right, total;
  /* Why a value is absent, per slot (LEFT, RIGHT, TOTAL); empty when present or not applicable
   * (e.g. left/right of a one-plate recording carry no reason: the JSON just omits them). */
  char absent[3][96];
  bool has_asym; /* set by the pipeline for metrics with left and right */
  StanceAsymValue asym;
  bool no_asym; /* the family says asymmetry is meaningless for this metric (e.g. a time offset
                   between the limbs); the pipeline then leaves has_asym false */
} StanceMetric;

typedef struct {
  char name[32]; /* "onset", "unweighting_end", "braking_end", "takeoff", "landing", "peak",
                    "ecc_start", "con_start", "rep_end", "hold_start", "hold_end", "touchdown",
                    ... (docs/methods.md) */
  double t_s;    /* from the start of the recording */
  StanceSel sel; /* which force it was found on (TOTAL unless a limb's own event) */
} StanceEvent;

/* Quality flag ids (docs/methods.md, "Quality flags"). */
#define STANCE_FLAG_NO_STILL "no_still" /* no still window >= 1 s: no BW */
#define STANCE_FLAG_MOVEMENT_BEFORE_ONSET "movement_before_onset"
#define STANCE_FLAG_NOT_ZEROED "plates_not_zeroed"
#define STANCE_FLAG_SATURATION "saturation"
#define STANCE_FLAG_GAPS "gaps"
#define STANCE_FLAG_MAINS_HUM "mains_hum"
#define STANCE_FLAG_UNEVEN_STANCE "uneven_stance" /* uneven weight bearing while weighing */
#define STANCE_FLAG_DOUBLE_PEAK "double_peak"
#define STANCE_FLAG_SPIKES "spikes"
#define STANCE_FLAG_PROTOCOL_GUESSED "protocol_guessed"
#define STANCE_FLAG_SIDES_ASSUMED "sides_assumed"
#define STANCE_FLAG_RATE_ASSUMED "rate_assumed"
#define STANCE_FLAG_INCOMPLETE "incomplete_trial" /* a trial cut by the recording's start/end */

typedef enum {
  STANCE_SEVERITY_INFO = 0,
  STANCE_SEVERITY_WARNING = 1, /* numbers stand but deserve a look */
  STANCE_SEVERITY_ERROR = 2,   /* some numbers could not be computed because of it */
} StanceSeverity;

typedef struct {
  char id[32];
  StanceSeverity severity;
  char message[200]; /* names what was seen and where ("saturation on right cell 3 at 2.314 s") */
} StanceFlag;

typedef struct {
  int index;       /* 1-based, in time order */
  char kind[16];   /* "jump", "hop", "rep", "hold", "stand", "set" */
  int set;         /* 1-based set number for reps (0 when not in a set) */
  StanceSide side; /* stance limb / front foot of this trial; BOTH for bilateral */
  double start_s, end_s;
  StanceEvent *events;
  size_t n_events, cap_events;
  StanceMetric *metrics;
  size_t n_metrics, cap_metrics;
  StanceFlag *flags;
  size_t n_flags, cap_flags;
} StanceTrial;

/* Statistics of one series of values across trials. */
typedef struct {
  size_t n;
  double mean, sd, cv_pct; /* sd needs n >= 2, cv_pct a non-zero mean; else has_sd/has_cv false */
  bool has_sd, has_cv;
} StanceStats;

/* The summary of one metric across the trials. */
typedef struct {
  char id[32];
  char unit[12];
  unsigned has; /* which of left/right/total have stats */
  StanceStats left, right, total;
  bool has_asym;
  StanceAsymValue asym;   /* bilateral: the formula on the mean left and mean right of the trials
                             with both values (the per-trial values' mean is asym_stats.mean);
                             unilateral: the left-trial mean against the right-trial mean */
  StanceStats asym_stats; /* per-trial asymmetry values (bilateral tests) */
  double direction_consistency_pct; /* % of trials where asym.stronger was the stronger limb */
  bool has_direction;
} StanceSummaryMetric;

/* Change of one metric between sessions (the analyses given to stance_analysis_combine(), in
 * order), after Hopkins 2000: each trial's value is its total, or its only limb's. */
typedef struct {
  char id[32];
  char unit[12];
  size_t n_sessions; /* sessions with at least one value */
  double first_mean; /* mean of the first session's trials */
  double last_mean;  /* mean of the last session's trials */
  double change;     /* last_mean - first_mean */
  bool has_te, has_swc, has_mdc;
  double te;        /* typical error: pooled within-session SD of the trials */
  double swc;       /* smallest worthwhile change: 0.2 x SD of the session means */
  double mdc95;     /* 1.96 x sqrt(2) x te */
  bool exceeds_swc; /* |change| > swc (when has_swc) */
  bool exceeds_mdc; /* |change| > mdc95 (when has_mdc) */
} StanceTrendMetric;

/* Conditioning results (stance-condition.h computes them). */
typedef struct {
  bool has_body_weight;
  double body_weight_n;    /* mean total force of the stillest window */
  double body_weight_sd_n; /* its SD */
  double bw_window_start_s, bw_window_end_s;
  double still_share_left; /* left plate's share of the still load (0-1); 0.5 when one plate */
  double body_mass_kg;     /* body_weight_n / g (bar load excluded) */
  double system_mass_kg;   /* body + external load (barbell protocols), else body mass */
  double external_load_kg;
  double zero_offset_n[3]; /* offsets removed per plate (LEFT, RIGHT; TOTAL for combined) */
  bool zeroed;             /* offsets were measured on unloaded plates and removed */
  double unloaded_sd_n[3]; /* SD of each plate unloaded (flight / before stepping on), or 0 */
  bool has_unloaded_sd;
  bool has_spectrum;
  double noise_floor_n;       /* RMS of the still period's spectrum above 1 Hz, N */
  double mains_hz;            /* 50 or 60 when a hum was found, else 0 */
  double mains_amp_n;         /* amplitude of the hum line, N */
  double suggested_cutoff_hz; /* Winter's residual analysis; 0 when not computed */
  StanceMethod filter;        /* "filter.raw" or "filter.butterworth_zero_lag" {order, cutoff_hz} */
  size_t n_spikes;            /* samples flagged by the Hampel filter (kept, never removed) */
  double gravity_m_s2;        /* g used for masses, velocities and heights */
} StanceConditioning;

typedef struct {
  char input[256];         /* file name (or "simulator", "usb") */
  StanceProtocol protocol; /* the protocol analysed */
  StanceSide side;         /* recording-level side (BOTH for bilateral or alternating) */
  StanceSide involved;
  StanceAsymFormula formula; /* formula used (resolved default) */
  StanceLayout layout;
  double sample_rate_hz;
  double duration_s;
  StanceConditioning cond;
  StanceMethod onset_method; /* the onset rule used, with its parameters */
  StanceFlag *flags;         /* recording-level flags */
  size_t n_flags, cap_flags;
  StanceTrial *trials;
  size_t n_trials, cap_trials;
  /* Session-level metrics (rep count, sets, load shares, fatigue, balance measures). */
  StanceMetric *metrics;
  size_t n_metrics, cap_metrics;
  StanceSummaryMetric *summary;
  size_t n_summary, cap_summary;
  /* Between sessions: set by stance_analysis_combine() of two or more analyses. */
  StanceTrendMetric *trend;
  size_t n_trend;
} StanceAnalysis;

/* Runs the whole pipeline. input names the source in the result (may be NULL). On success *out
 * is the analysis (possibly with zero trials and a flag saying why); errors are only for unusable
 * input (empty recording, invalid options: the message names the option). */
int stance_analyse(const StanceRecording *rec, const char *input, const StanceAnalysisOptions *opts,
                   StanceAnalysis **out, StanceError *err);

void stance_analysis_free(StanceAnalysis *a);

/* ---- Building results (used by the family analysers and the tests) ---- */

/* A new empty analysis (no trials). */
StanceAnalysis *stance_analysis_new(void);

/* Appends a trial (index set to n_trials); NULL on out of memory. The pointer is valid until the
 * next add_trial. */
StanceTrial *stance_analysis_add_trial(StanceAnalysis *a, const char *kind, double start_s,
                                       double end_s);
/* Recording-level flag and metric. */
int stance_analysis_flag(StanceAnalysis *a, const char *id, StanceSeverity sev, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
StanceMetric *stance_analysis_add_metric(StanceAnalysis *a, const char *id, const char *unit,
                                         const char *method_id);

int stance_trial_add_event(StanceTrial *t, const char *name, double t_s, StanceSel sel);
int stance_trial_flag(StanceTrial *t, const char *id, StanceSeverity sev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Adds a metric (all values absent); NULL on out of memory. Valid until the next add_metric on
 * the same trial. Adding an id twice replaces the first. */
StanceMetric *stance_trial_add_metric(StanceTrial *t, const char *id, const char *unit,
                                      const char *method_id);

/* Sets one value; a non-finite v makes it absent with the reason "not finite". */
void stance_metric_set(StanceMetric *m, StanceSel sel, double v);
/* Marks one value absent with a reason (printf-style). */
void stance_metric_absent(StanceMetric *m, StanceSel sel, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Method parameters (replacing a key already present). */
void stance_method_param_num(StanceMethod *mth, const char *key, double v);
void stance_method_param_str(StanceMethod *mth, const char *key, const char *s);
void stance_method_set(StanceMethod *mth, const char *id);
/* Copies a method (id and parameters). */
void stance_method_copy(StanceMethod *dst, const StanceMethod *src);

/* Lookups; NULL / -1 when absent. */
const StanceMetric *stance_trial_metric(const StanceTrial *t, const char *id);
double stance_trial_event(const StanceTrial *t, const char *name);
const StanceFlag *stance_trial_find_flag(const StanceTrial *t, const char *id);
const StanceFlag *stance_analysis_find_flag(const StanceAnalysis *a, const char *id);
const StanceMetric *stance_analysis_metric(const StanceAnalysis *a, const char *id);
const StanceSummaryMetric *stance_analysis_summary(const StanceAnalysis *a, const char *id);

/* Value of one slot, false when absent. */
bool stance_metric_get(const StanceMetric *m, StanceSel sel, double *v);

/* Computes every asymmetry (per trial, by a->formula and a->involved) and the summary across
 * trials (stance-summary.c). Called by stance_analyse(); exposed for the tests and for
 * stance_analysis_combine(). */
void stance_analysis_compute_asymmetry(StanceAnalysis *a);
int stance_analysis_summarise(StanceAnalysis *a);

/* A new analysis holding deep copies of the trials of several analyses of the same protocol (in
 * the given order, re-indexed from 1), with the first one's protocol, formula and conditioning,
 * input "combined", and its summary computed: e.g. a left-leg file and a right-leg file of
 * single-leg CMJs give one left-against-right summary. With two or more analyses of the same
 * side it also fills trend[]: each metric's change from the first to the last session against its
 * typical error, smallest worthwhile change and MDC95 (stance-reliab.h). NULL when n == 0, the
 * protocols differ or out of memory. */
StanceAnalysis *stance_analysis_combine(StanceAnalysis *const *as, size_t n);

/* ---- Output (stance-analysis-output.c; formats in docs/analysis-json.md) ---- */

/* The JSON document of one analysis. */
int stance_analysis_write_json(const StanceAnalysis *a, FILE *out, bool pretty, StanceError *err);
/* Several analyses in one document: {"stance_version", "format", "analyses": [...],
 * "combined": summary over every trial of analyses of the same protocol}. */
int stance_analysis_write_json_many(StanceAnalysis *const *as, size_t n, FILE *out, bool pretty,
                                    StanceError *err);
/* Long CSV, one row per (file, trial, metric): input,trial,kind,side,start_s,end_s,metric,unit,
 * method,left,right,total,asym_formula,asym_value,stronger. Dot decimals, empty cells for absent
 * values. header: write the header row. */
int stance_analysis_write_csv(const StanceAnalysis *a, FILE *out, bool header, StanceError *err);
/* The human table: conditioning, flags, per trial the key metrics with L, R, total and asymmetry,
 * then the summary. */
int stance_analysis_write_table(const StanceAnalysis *a, FILE *out, StanceError *err);
/* Only the summary block of the table (as write_table ends with): for the combined summary of
 * several analyses (stance_analysis_combine()). */
int stance_analysis_write_table_summary(const StanceAnalysis *a, FILE *out, StanceError *err);

#ifdef __cplusplus
}
#endif
