/* stance-analysis-private.h: what the analysis pipeline (stance-analysis.c) shares with the family
 * analysers (stance-jumps.c, stance-hops.c, stance-iso.c, stance-reps.c, stance-balance.c) and
 * the shared event and force-curve helpers (stance-events.c, stance-curve.c). Plain C.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Ownership: the pipeline owns the context and every array in it; a family reads the arrays and
 * writes only into ctx->out (trials, recording-level flags and metrics). Threads: one context
 * belongs to one call of stance_analyse().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stance-analysis.h"
#include "stance-condition.h"
#include "stance-recording.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const StanceRecording *rec;
  const StanceAnalysisOptions *opts; /* resolved: no "default" left except where noted */
  double rate;                       /* Hz */
  double dt;                         /* 1 / rate */
  double g;                          /* gravity, m/s^2 (opts->gravity_m_s2) */
  size_t n;                          /* samples */
  bool has_limbs;                    /* left and right series exist */
  StanceProtocol protocol;
  StanceSide side; /* recording-level side (BOTH: bilateral or alternating) */
  /* Conditioned (zeroed, filtered when asked) vertical force, N, index StanceSel (LEFT, RIGHT,
   * TOTAL); f[LEFT] and f[RIGHT] are NULL for a COMBINED recording. TOTAL = LEFT + RIGHT. */
  const double *f[3];
  /* The same before filtering (zeroed only): peak forces and impulses of jumps use the raw data
   * unless a filter was asked for explicitly; equal to f[] when no filter runs. */
  const double *f_raw[3];
  /* Per sample: 1 = gap or a saturated channel (do not use), 0 = good. */
  const uint8_t *bad;
  const uint8_t *spike; /* Hampel spikes (flagged, still used) */
  /* Conditioning results: body weight (when found), still share, unloaded plate noise, ... */
  const StanceConditioning *cond;
  /* Weight the analysis subtracts for net values: body weight (+ bar for barbell protocols),
   * and per limb the limb's share (see net_weight_limb). 0 when no body weight exists. */
  double system_weight_n;
  double mass_kg; /* system mass = system_weight_n / g */
  /* Per-limb weight for net impulse / net force: the limb's own share of the still load
   * ("still_share", as the shiny-vertical-jump app does, so limb net values sum to the total) for
   * bilateral tests; the whole system weight on the stance limb ("stance_limb") for unilateral
   * ones. "half_bw" (half the system weight each) is used only when no still share exists.
   * Families read it through stance_ctx_limb_weight(). */
  double limb_weight_n[2];
  const char *limb_weight_rule; /* "half_bw", "still_share" or "stance_limb" */
  StanceAnalysis *out;
} StanceCtx;

/* Per-limb weight to subtract for net values and the rule's name (for the method params). */
double stance_ctx_limb_weight(const StanceCtx *c, StanceSel sel);

/* The analyser family of a protocol (stance-analysis.c): the pipeline dispatches on it, the
 * table picks its key metrics by it. */
typedef enum {
  STANCE_FAMILY_NONE = 0,
  STANCE_FAMILY_JUMPS,   /* cmj, sj, sl-cmj */
  STANCE_FAMILY_HOPS,    /* dj, sl-hop, pogo */
  STANCE_FAMILY_ISO,     /* imtp, iso-squat */
  STANCE_FAMILY_REPS,    /* split-squat, lunge, step-up, sl-squat, sl-rdl, back-squat, deadlift */
  STANCE_FAMILY_BALANCE, /* quiet-standing, sl-balance, weigh-in */
} StanceFamily;

StanceFamily stance_protocol_family(StanceProtocol p);

/* Family analysers: each segments the recording into trials (adding them to c->out), finds the
 * events, computes the metrics and adds per-trial flags. Return 0, or a negative code only for
 * out-of-memory / internal errors (a trial that cannot be analysed is kept with flags and absent
 * metrics; a recording with nothing recognisable gets a recording-level flag and zero trials). */
int stance_analyse_jumps(StanceCtx *c, StanceError *err);   /* cmj, sj, sl-cmj (stance-jumps.c) */
int stance_analyse_hops(StanceCtx *c, StanceError *err);    /* dj, sl-hop, pogo (stance-hops.c) */
int stance_analyse_iso(StanceCtx *c, StanceError *err);     /* imtp, iso-squat (stance-iso.c) */
int stance_analyse_reps(StanceCtx *c, StanceError *err);    /* split-squat, lunge, step-up,
                                                               sl-squat, sl-rdl, back-squat,
                                                               deadlift (stance-reps.c) */
int stance_analyse_balance(StanceCtx *c, StanceError *err); /* quiet-standing, sl-balance,
                                                               weigh-in (stance-balance.c) */

/* ---- Events (stance-events.c) ---- */

/* First index i in [from, to) with f[i] < thr (below) or f[i] > thr (above), skipping bad
 * samples; returns false when none. */
bool stance_ev_first_below(const double *f, const uint8_t *bad, size_t from, size_t to, double thr,
                           size_t *i);
bool stance_ev_first_above(const double *f, const uint8_t *bad, size_t from, size_t to, double thr,
                           size_t *i);

/* Movement onset in [from, to) by the options' rule (resolved: BW_5SD, FIXED_N or PCT_BW) around
 * weight w with weighing SD sd: the first sample with |f - w| > band, then stepped back by
 * onset_step_back_s (never before from). dir: +1 only rises count (isometric pulls, squat jumps),
 * -1 only drops (countermovement), 0 either. Fills the method (id "onset.<rule>", params k / n /
 * pct / step_back_s / band_n). false when no sample leaves the band. */
bool stance_ev_onset(const StanceCtx *c, const double *f, size_t from, size_t to, double w,
                     double sd, int dir, size_t *onset, StanceMethod *method);

/* Takeoff/landing threshold for sel: opts->takeoff_n, or 5 SD of that plate unloaded (+ its
 * offset) when takeoff_n <= 0 and the unloaded noise is known, else 20 N. Fills the method
 * ("takeoff.threshold" {threshold_n, rule: "fixed" | "unloaded_5sd"}). */
double stance_ev_takeoff_threshold(const StanceCtx *c, StanceSel sel, StanceMethod *method);

/* Flights of f in [from, to): stretches of at least min_flight_s below thr. Each gives takeoff
 * (first sample below) and landing (first sample back above). Returns how many were written to
 * takeoff[] / landing[] (at most max). */
size_t stance_ev_flights(const double *f, const uint8_t *bad, size_t from, size_t to, double rate,
                         double thr, double min_flight_s, size_t *takeoff, size_t *landing,
                         size_t max);

/* ---- Force-curve metrics (stance-curve.c) ---- */

typedef struct {
  size_t onset;       /* start of the curve (movement or contraction onset) */
  size_t peak_from;   /* where the peak search starts (braking onset for CMJs, so bimodal curves
                         keep their true peak; = onset otherwise) */
  size_t end;         /* exclusive end (takeoff, end of the hold, end of the rep) */
  double weight_n[3]; /* weight subtracted for net values per slot (LEFT, RIGHT, TOTAL) */
  const char *weight_rule; /* for the method params: "half_bw", "still_share", "system_weight" */
  double mass_kg;          /* body (system) mass for relative values; 0 = skip the relative ones */
  bool epochs;             /* force_at_X and rfd_0_X for X = 50..250 ms */
  bool impulse;            /* impulse and net_impulse over [onset, end) */
  bool relative;           /* peak_force_rel (N/kg) and peak_force_bw (x BW) */
} StanceCurveSpec;

/* Adds to trial t, for each slot in `has` (STANCE_HAS_*) that has a series in c->f:
 *   peak_force (N, gross), peak_force_net (N, gross - weight), peak_force_rel (N/kg),
 *   peak_force_bw (BW), time_to_peak (s from onset), mean_force (N over [onset, end)),
 *   force_at_50..250 (N at onset + X ms), rfd_0_50..rfd_0_250 ((F(onset+X) - F(onset)) / X, N/s),
 *   peak_rfd (N/s, max (F[i+w] - F[i]) / w over [onset, peak], w = opts->peak_rfd_window_s),
 *   impulse (N.s, trapezoid of F over [onset, end)), net_impulse (N.s, trapezoid of F - weight).
 * Epochs that run past end, and windows holding bad samples, are absent with the reason. Peaks
 * use c->f_raw, everything else c->f... (both equal unless a filter was asked for). Every metric
 * gets its method id and parameters. Returns 0 or STANCE_ENOMEM. */
int stance_curve_metrics(const StanceCtx *c, StanceTrial *t, unsigned has,
                         const StanceCurveSpec *spec);

/* Trapezoidal integral of (f - w) over [a, b) samples, in N.s (dt = 1 / rate). */
double stance_curve_integral(const double *f, size_t a, size_t b, double w, double dt);

/* Limb timing of a bilateral trial over [a, b): peak_time_offset (s, time of the right peak
 * minus the left peak; no asymmetry) and limb_xcorr_lag (s, the lag of the right curve against
 * the left that maximises their FFT cross-correlation after mean removal; + = right later).
 * (stance-limbs.c) */
int stance_limb_timing(const StanceCtx *c, StanceTrial *t, size_t a, size_t b);

#ifdef __cplusplus
}
#endif
