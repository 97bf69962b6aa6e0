/* stance-calib.h: load-cell calibration of the twin plates (plain C17 + GSL, no GLib).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The procedure (docs/calibration.md): zero with both plates empty, then known masses at known
 * positions on each plate (the centre and a point near each cell), at least three loads, loading
 * and unloading. A PLAN lists the steps; a SESSION is the CELLS recording of the procedure plus
 * the sample span of every step, either given by the guided flow (the user confirms each step) or
 * found by stance_calib_segment() in a recorded session.
 *
 *   plan + recording --(spans: given, or stance_calib_segment)--> stance_calib_measure
 *        --> step means --> stance_calib_fit (offset from the zero, gains by least squares on the
 *        force and both moments, with standard errors) --> stance_calib_verify (force error, CoP
 *        error, non-linearity, hysteresis, zero return, per-cell faults) --> StanceCalibRecord
 *
 * stance_calib_run() does all of it. stance_calib_rezero() re-zeroes empty plates between trials
 * and warns about drift.
 *
 * Units: forces in N, masses in kg, positions in mm in the plate's own frame (origin at the plate
 * centre, x to the athlete's right, y forward; see stance-recording.h), counts are raw ADC counts.
 * Cells are numbered 1-4 clockwise from front-left; channel c = plate * 4 + (cell - 1).
 * Full scale (FS) of a plate is the largest force the plan applies to it (its largest mass times
 * the local gravity): the calibrated range. Every "% FS" figure is relative to it.
 *
 * Errors: functions return STANCE_OK or a negative STANCE_E* code and fill the optional
 * StanceError with a message naming the step, line or cell and what was expected.
 *
 * Ownership: objects returned through `**out` belong to the caller and are released with their
 * _free function. Plain structs filled by a function (StanceCalibFit, StanceCalibDrift,
 * StanceCalibRecord) own nothing. A StanceCalibReport owns its arrays: stance_calib_report_clear.
 * Threads: every function is reentrant and keeps no global state; an object may be read from
 * several threads at once, but modifying one needs exclusive access.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stance-error.h"
#include "stance-recording.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STANCE_CALIB_PLAN_VERSION 1   /* version of the plan text format */
#define STANCE_CALIB_RECORD_VERSION 1 /* version of StanceCalibRecord and its JSON */
#define STANCE_CALIB_MAX_STEPS 1024
#define STANCE_CALIB_MAX_FAULTS 32
#define STANCE_CALIB_MAX_MASS_KG 2000.0
/* Method id of stance_calib_fit (written into records and JSON). */
#define STANCE_CALIB_FIT_METHOD "cells-ls-force-moments-v1"

/* ======================================================================================
 * Plans
 * ====================================================================================== */

typedef enum {
  STANCE_CALIB_ZERO = 0,   /* both plates empty */
  STANCE_CALIB_LOAD = 1,   /* a mass on one plate, reached by adding mass (ascending) */
  STANCE_CALIB_UNLOAD = 2, /* a mass on one plate, reached by removing mass (descending) */
} StanceCalibStepKind;

typedef struct {
  StanceCalibStepKind kind;
  int plate;         /* 0 left, 1 right; -1 for ZERO */
  double x_mm, y_mm; /* centre of the mass on the plate, plate frame; 0 for ZERO */
  double mass_kg;    /* total mass standing on the plate during the step; 0 for ZERO */
  int line;          /* line of the plan text it came from; 0 when built in code */
} StanceCalibStep;

/* A plan: steps in the order they are done. Rules (stance_calib_plan_validate): the first step is
 * ZERO; masses of LOAD/UNLOAD steps are > 0; the steps between two ZERO steps (a "run") all stand
 * at one plate and position, the first is a LOAD, each LOAD is heavier and each UNLOAD lighter
 * than the step before it in the run; two ZERO steps never follow each other; each plate gets at
 * least three distinct masses at at least three positions that are not on one line. */
typedef struct {
  char name[96];
  StanceCalibStep *steps; /* owned */
  size_t n_steps, capacity;
} StanceCalibPlan;

/* A new empty plan; name may be NULL. NULL when out of memory. */
StanceCalibPlan *stance_calib_plan_new(const char *name);
void stance_calib_plan_free(StanceCalibPlan *plan);
/* A deep copy; NULL when out of memory. */
StanceCalibPlan *stance_calib_plan_copy(const StanceCalibPlan *plan);

/* Appends a step (plate, x, y, mass are ignored for ZERO). Checks the values themselves (plate,
 * finite position, mass range) but not the plan's rules. */
int stance_calib_plan_add(StanceCalibPlan *plan, StanceCalibStepKind kind, int plate, double x_mm,
                          double y_mm, double mass_kg, StanceError *err);

/* The default plan for both plates: one ZERO, then for each plate (left first) and
 * each position -- the centre, then the point near each cell 1-4 at corner_fraction of the cell's
 * coordinates -- LOAD at each mass in ascending order, UNLOAD back down through the same masses
 * (the heaviest is not repeated), then ZERO. geometry NULL: stance_calibration_default(). loads_kg
 * NULL or n_loads 0: 20, 50, 100 kg; otherwise at least 3 distinct ascending masses.
 * corner_fraction 0: 0.7; otherwise within (0.3, 1.0]. */
int stance_calib_plan_default(const StanceCalibration *geometry, const double *loads_kg,
                              size_t n_loads, double corner_fraction, StanceCalibPlan **out,
                              StanceError *err);

/* Parses the plan text format (docs/calibration.md, "Plan format"):
 *   stance-calibration-plan 1
 *   name Centre and corners, 20/50/100 kg
 *   zero
 *   load left 0 0 20          kind plate x_mm y_mm mass_kg
 *   unload right -119 189 50
 * '#' starts a comment; blank lines are ignored. Errors name the line and column and what was
 * expected. The plan is also validated (geometry: stance_calibration_default()). */
int stance_calib_plan_parse(const char *text, size_t len, StanceCalibPlan **out, StanceError *err);
/* Reads and parses a plan file; the message is prefixed with the path. */
int stance_calib_plan_read_file(const char *path, StanceCalibPlan **out, StanceError *err);
/* Writes the plan in the text format (reads back to the same plan). */
int stance_calib_plan_write(const StanceCalibPlan *plan, FILE *out, StanceError *err);

/* Checks the plan's rules (above) and that every position lies on its plate (geometry NULL: the
 * default geometry). The message names the step and its plan line. */
int stance_calib_plan_validate(const StanceCalibPlan *plan, const StanceCalibration *geometry,
                               StanceError *err);

/* Largest mass the plan puts on plate (0/1), kg; 0 when none. */
double stance_calib_plan_max_mass_kg(const StanceCalibPlan *plan, int plate);

/* "front-left", "front-right", "rear-right", "rear-left" for cell 1-4; "?" otherwise. */
const char *stance_calib_cell_name(int cell);
/* "left plate cell 3 (rear-right)" for channel 0-7 into buf; returns buf. */
const char *stance_calib_channel_text(int channel, char *buf, size_t n);
/* Name of a position on a plate: "centre", "rear-left corner", "front edge", ... from the
 * quadrant of (x, y) relative to the cells. Returns buf. */
const char *stance_calib_position_name(const StancePlateGeometry *g, double x_mm, double y_mm,
                                       char *buf, size_t n);
/* "step 14 (left plate, rear-left corner x -119 y -189 mm, 100 kg, loading)"; step k is 0-based,
 * shown 1-based. geometry NULL: the default. Returns buf. */
const char *stance_calib_step_text(const StanceCalibPlan *plan, size_t k,
                                   const StanceCalibration *geometry, char *buf, size_t n);
/* "zero", "load", "unload". */
const char *stance_calib_step_kind_name(StanceCalibStepKind kind);

/* ======================================================================================
 * Options and pass limits
 * ====================================================================================== */

typedef struct {
  double gravity_m_s2; /* local gravity for mass -> N; default 9.81 (as the analysis) */
  /* Steps */
  double settle_s;        /* samples of a step count from this long after it starts: 1.0 s */
  double min_average_s;   /* a step needs at least this many steady seconds: 0.5 s */
  double min_step_s;      /* segmentation: shortest steady plateau taken as a step: 1.0 s */
  double steady_window_s; /* segmentation: window of the steadiness test: 0.25 s */
  double
      level_tolerance_pct;         /* segmentation: a plateau matches a step when its load is within
                                      this % of the step's load (zero: of the plan's lightest load): 10 */
  double nominal_gain_n_per_count; /* > 0: scale counts with this gain for segmentation and the
                                      steadiness checks; 0: the recording's calibration gains */
  /* Pass limits (docs/calibration.md, "Pass limits") */
  double limit_force_error_pct_fs;  /* 0.5 */
  double limit_cop_error_mm;        /* 5 */
  double limit_nonlinearity_pct_fs; /* 0.25 (plates and single cells) */
  double limit_hysteresis_pct_fs;   /* 0.25 */
  double limit_zero_return_pct_fs;  /* 0.25 */
  double limit_gain_spread_pct;     /* a cell's gain this far from the median of all 8: 25 */
  /* Drift (stance_calib_rezero) */
  double drift_limit_pct_fs; /* warn when an empty plate moved more than this: 0.5 % FS */
  double drift_limit_n;      /* > 0: the limit in N instead of % FS; 0: use drift_limit_pct_fs */
  double rezero_max_pct_fs;  /* a plate further than this from zero is not empty: 5 % FS */
} StanceCalibOptions;

void stance_calib_options_default(StanceCalibOptions *opt);
/* The message names the option and its allowed range. */
int stance_calib_options_validate(const StanceCalibOptions *opt, StanceError *err);
/* Sets one option from text (CLI long option names without dashes): gravity, settle,
 * min-average, min-step, steady-window, level-tolerance, nominal-gain, limit-force, limit-cop,
 * limit-nonlinearity, limit-hysteresis, limit-zero, limit-gain-spread, drift-limit,
 * drift-limit-n, rezero-max. Strict: the whole text must be a number within range. */
int stance_calib_options_set(StanceCalibOptions *opt, const char *key, const char *value,
                             StanceError *err);

/* ======================================================================================
 * Sessions: step spans, segmentation, step means
 * ====================================================================================== */

/* Samples [start, end) of one step: from the moment the mass is in place (or the plates are
 * empty) until the next change begins. */
typedef struct {
  size_t start, end;
} StanceCalibSpan;

/* Finds every plan step in a recorded session (CELLS). The counts of all 8 channels are scaled by
 * the gains (nominal_gain_n_per_count or the recording's calibration) and summed, about the first
 * plateau (the zero) and with each channel's sign set by its largest excursion, into one total
 * force that swapped, misplaced or reversed cells do not change. Its steady plateaus (standard
 * deviation over steady_window_s within twice the recording's noise floor, at least min_step_s
 * long) are matched to the steps in order by their load above the latest zero step's plateau.
 * Plateaus between the previous step's load and the expected one (masses added or removed one at a
 * time) and repeats of the previous step's load are passed over; any other plateau, or the end of
 * the recording, stops the match with STANCE_ENODATA naming the step that could not be found and
 * what was seen instead. spans has plan->n_steps entries. Step boundaries are where the total force
 * arrives at (leaves) the plateau's level. */
int stance_calib_segment(const StanceRecording *rec, const StanceCalibPlan *plan,
                         const StanceCalibOptions *opt, StanceCalibSpan *spans, StanceError *err);

/* The averaged reading of one step. */
typedef struct {
  size_t start, end;         /* the step's span */
  size_t avg_start, avg_end; /* samples averaged: settled part of the span */
  size_t n_used;             /* samples averaged (gaps left out) */
  double mean_counts[STANCE_N_CELLS];
  double sem_counts[STANCE_N_CELLS]; /* standard error of each mean (batch means, 20 blocks) */
  double sd_counts[STANCE_N_CELLS];  /* sample standard deviation */
} StanceCalibStepData;

/* Averages each step over its span from settle_s after its start to 0.1 s before its end. Fails
 * (naming the step) when a span is out of range or too short (< min_average_s left), a channel
 * saturates, more than half the samples are gaps, or the reading moved during the step (the two
 * halves differ by more than 0.1 % of the plate's FS). out has plan->n_steps entries. */
int stance_calib_measure(const StanceRecording *rec, const StanceCalibPlan *plan,
                         const StanceCalibSpan *spans, const StanceCalibOptions *opt,
                         StanceCalibStepData *out, StanceError *err);
/* The same for plan step k (0-based) alone: the guided flow checks each step as soon as the user
 * confirms it, and asks for it again when it is refused. */
int stance_calib_measure_step(const StanceRecording *rec, const StanceCalibPlan *plan, size_t k,
                              const StanceCalibSpan *span, const StanceCalibOptions *opt,
                              StanceCalibStepData *out, StanceError *err);

/* ======================================================================================
 * Fit
 * ====================================================================================== */

/* Model: cell force F_c = g_c (counts_c - o_c); plate force = sum of its 4 cells. Offsets o_c are
 * the means of the plan's first (ZERO) step. For each plate, every loaded step k on it (mass m_k
 * at (x_k, y_k), W_k = m_k g) gives three equations in the 4 gains, in newtons:
 *
 *   sum_i g_i d_ik = W_k
 *   sum_i g_i d_ik x_i / a = W_k x_k / a
 *   sum_i g_i d_ik y_i / b = W_k y_k / b
 *
 * with d_ik = mean counts of cell i at step k - its zero (the zero steps before and after k's run,
 * interpolated in time: slow drift during the session does not bias the gains), (x_i, y_i) the cell
 * positions and a, b the mean |x_i|, |y_i| (moments scaled to newtons). Solved by least squares
 * (GSL, SVD). Standard error of each gain: the larger of the residual estimate s^2 (X'X)^-1 and
 * the propagation of the step means' standard errors, plus (in quadrature) the propagated
 * uncertainty of the zeros. */
typedef struct {
  char method[48]; /* STANCE_CALIB_FIT_METHOD */
  double gravity_m_s2;
  double offset_counts[STANCE_N_CELLS];
  double offset_se_counts[STANCE_N_CELLS];
  double gain_n_per_count[STANCE_N_CELLS];
  double gain_se_n_per_count[STANCE_N_CELLS];
  double full_scale_n[STANCE_N_PLATES];     /* largest applied force per plate */
  double residual_rms_n[STANCE_N_PLATES];   /* RMS of the equations' residuals */
  double condition_number[STANCE_N_PLATES]; /* of the design with unit-norm columns */
  int n_steps[STANCE_N_PLATES];             /* loaded steps used */
  int n_equations[STANCE_N_PLATES];
  size_t zero_step; /* plan step whose means are the offsets */
  /* Cells left out of their plate's fit (gain 0, SE 0): their response to the plate's loads was
   * below 1 % of the strongest cell's (dead, or wired to the other plate). A calibration with
   * such a cell is not usable (stance_calibration_validate refuses gain 0). */
  bool excluded[STANCE_N_CELLS];
} StanceCalibFit;

/* geometry NULL: the default geometry. STANCE_ERANGE when a plate's loads cannot determine its
 * gains (condition number above 1e8), no cell of a plate responds, or the solution is not
 * finite. */
int stance_calib_fit(const StanceCalibPlan *plan, const StanceCalibStepData *steps,
                     const StanceCalibration *geometry, const StanceCalibOptions *opt,
                     StanceCalibFit *fit, StanceError *err);

/* The fitted offsets and gains with geometry (NULL: default) into cal; id/serial/created are left
 * empty. */
void stance_calib_fit_to_calibration(const StanceCalibFit *fit, const StanceCalibration *geometry,
                                     StanceCalibration *cal);

/* ======================================================================================
 * Verification
 * ====================================================================================== */

typedef struct {
  size_t step;                     /* plan step */
  double applied_n;                /* m g on the step's plate; 0 for ZERO */
  double plate_n[STANCE_N_PLATES]; /* measured force of each plate with the fitted calibration */
  double force_error_n;            /* measured - applied on the step's plate (ZERO: the plate
                                      further from 0) */
  double force_error_pct_fs;       /* |force_error_n| / FS of that plate * 100 */
  bool has_cop;                    /* loaded step with a plate force above the CoP threshold */
  double cop_x_mm, cop_y_mm;       /* measured CoP */
  double cop_error_mm;             /* distance from the known position */
} StanceCalibStepCheck;

typedef struct {
  int plate;
  double x_mm, y_mm;
  int n_steps;
  double nonlinearity_pct_fs; /* max over its runs: the ascending series (with the zero before
                                 it) against its best straight line */
  double hysteresis_pct_fs;   /* max |unloading - loading| at the same mass */
  double max_force_error_pct_fs;
  double max_cop_error_mm;
} StanceCalibPositionCheck;

typedef struct {
  double full_scale_n;
  double max_force_error_n; /* over loaded steps of this plate and of the other plate
                               (this plate then reads the force of an empty plate) */
  double max_force_error_pct_fs;
  double max_cop_error_mm;
  double nonlinearity_pct_fs;
  double hysteresis_pct_fs;
  double zero_return_pct_fs; /* max |reading| at the ZERO steps after the first */
  int n_cop_missing;         /* loaded steps whose plate read too little for a CoP (fails) */
  bool force_ok, cop_ok, nonlinearity_ok, hysteresis_ok, zero_ok;
} StanceCalibPlateCheck;

typedef struct {
  double gain_dev_pct;        /* fitted gain against the median of the 8 gains, % */
  double nonlinearity_pct_fs; /* the cell's own counts against load, best line per run, max
                                 deviation in N (through its gain) as % of its plate's FS */
  double response_own;        /* counts per N applied at the position near this cell */
  int strongest_plate;        /* where this channel responds most per N applied */
  double strongest_x_mm, strongest_y_mm;
  double response_strongest; /* counts per N there */
} StanceCalibCellCheck;

typedef enum {
  STANCE_CALIB_FAULT_NEGATIVE_GAIN = 0, /* gain < 0: signal wires reversed */
  STANCE_CALIB_FAULT_GAIN_OUTLIER,      /* gain far from the others */
  STANCE_CALIB_FAULT_NONLINEAR,         /* the cell's response bends with load */
  STANCE_CALIB_FAULT_SWAPPED,           /* two cells of one plate exchanged */
  STANCE_CALIB_FAULT_MISPLACED,         /* responds most near another cell (not a clean swap) */
  STANCE_CALIB_FAULT_WRONG_PLATE,       /* responds to loads on the other plate */
  STANCE_CALIB_FAULT_NO_RESPONSE,       /* (almost) no response to any load */
} StanceCalibFaultKind;

typedef struct {
  StanceCalibFaultKind kind;
  int channel;       /* 0-7 */
  int other_channel; /* the other cell involved (swaps, wrong plate), or -1 */
  double value;      /* the figure behind it: gain deviation % (outlier), non-linearity % FS,
                        the gain (negative), response ratio strongest / near its own cell
                        (wiring), response relative to the median cell (no response) */
  char message[384]; /* for a technician: what is wrong, where, and what to do */
} StanceCalibFault;

typedef struct {
  StanceCalibOptions limits;   /* the options (limits) used */
  StanceCalibStepCheck *steps; /* owned, n_steps = plan->n_steps */
  size_t n_steps;
  StanceCalibPositionCheck *positions; /* owned, distinct loaded positions in plan order */
  size_t n_positions;
  StanceCalibPlateCheck plate[STANCE_N_PLATES];
  StanceCalibCellCheck cell[STANCE_N_CELLS];
  bool position_diagnostics; /* every cell had a loaded position near it (wiring checks ran) */
  StanceCalibFault faults[STANCE_CALIB_MAX_FAULTS];
  int n_faults;
  bool passed; /* every plate figure within its limit and no fault */
  char summary[512];
} StanceCalibReport;

/* Verifies the fitted calibration on every step and diagnoses the cells. rep is overwritten (call
 * stance_calib_report_clear on it afterwards). Faults do not make this fail: they are in
 * rep->faults and rep->passed is false. */
int stance_calib_verify(const StanceCalibPlan *plan, const StanceCalibStepData *steps,
                        const StanceCalibFit *fit, const StanceCalibration *geometry,
                        const StanceCalibOptions *opt, StanceCalibReport *rep, StanceError *err);
void stance_calib_report_clear(StanceCalibReport *rep);
/* First fault of a kind naming channel (as channel or other_channel), or NULL. */
const StanceCalibFault *stance_calib_report_find_fault(const StanceCalibReport *rep,
                                                       StanceCalibFaultKind kind, int channel);
/* "negative-gain", "gain-outlier", "nonlinear", "swapped", "misplaced", "wrong-plate",
 * "no-response". */
const char *stance_calib_fault_name(StanceCalibFaultKind kind);

/* ======================================================================================
 * Records
 * ====================================================================================== */

/* A calibration record: fixed size, no pointers, so that the board's calibration block and the
 * store can both hold it as it is (the store also keeps the full JSON of the result). */
typedef struct {
  uint32_t format_version; /* STANCE_CALIB_RECORD_VERSION */
  char id[64]; /* "<board serial>-<YYYY-MM-DD>-<sequence>", e.g. "SN0042-2026-11-24-1" */
  char board_serial[32];
  uint32_t sequence;       /* 1, 2, ... for calibrations of this board on that (UTC) date */
  int64_t created_unix_ms; /* UTC */
  char plan_name[96];
  uint32_t plan_steps;
  char fit_method[48];
  double gravity_m_s2;
  StanceCalibration calibration; /* offsets, gains and geometry; id/serial/created as above */
  double gain_se_n_per_count[STANCE_N_CELLS];
  double offset_se_counts[STANCE_N_CELLS];
  double full_scale_n[STANCE_N_PLATES];
  double residual_rms_n[STANCE_N_PLATES];
  double force_error_pct_fs[STANCE_N_PLATES];
  double cop_error_mm[STANCE_N_PLATES];
  double nonlinearity_pct_fs[STANCE_N_PLATES];
  double hysteresis_pct_fs[STANCE_N_PLATES];
  double zero_return_pct_fs[STANCE_N_PLATES];
  uint32_t n_faults;
  bool passed;
} StanceCalibRecord;

/* Who and when: the record's identity. */
typedef struct {
  const char *board_serial; /* NULL or "": the recording's meta.board_serial */
  int64_t created_unix_ms;  /* 0: the recording's start time (an error when that is 0 too) */
  uint32_t sequence;        /* 0: 1 */
} StanceCalibIdentity;

/* "<serial>-<YYYY-MM-DD>-<sequence>" (UTC date of created_unix_ms) into buf (>= 64 bytes). The
 * serial must be 1-31 characters of A-Z a-z 0-9 . _ -. */
int stance_calib_make_id(const char *board_serial, int64_t created_unix_ms, uint32_t sequence,
                         char *buf, size_t n, StanceError *err);

/* The record's calibration (offsets, gains, geometry, id, serial, created) for recordings. */
void stance_calib_record_to_calibration(const StanceCalibRecord *rec, StanceCalibration *cal);

/* ======================================================================================
 * The whole calibration
 * ====================================================================================== */

typedef struct {
  StanceCalibRecord record;
  StanceCalibPlan *plan;  /* owned copy */
  StanceCalibSpan *spans; /* owned, plan->n_steps */
  bool spans_found;       /* true: by stance_calib_segment; false: given by the caller */
  double sample_rate_hz;
  StanceCalibStepData *steps; /* owned, plan->n_steps */
  StanceCalibFit fit;
  StanceCalibReport report;
} StanceCalibResult;

/* Calibrates from a session: validates the plan against the recording's geometry, finds the
 * steps (spans NULL) or takes the given spans, measures, fits, verifies and fills the record.
 * A calibration with faults or figures over their limits is still returned (record.passed false);
 * errors are only for sessions that cannot be used. */
int stance_calib_run(const StanceRecording *rec, const StanceCalibPlan *plan,
                     const StanceCalibSpan *spans, const StanceCalibIdentity *identity,
                     const StanceCalibOptions *opt, StanceCalibResult **out, StanceError *err);
void stance_calib_result_free(StanceCalibResult *res);

/* Writes the result as JSON (docs/calibration.md, "Record format"): the record, the plan, the
 * fit, the step spans and the verification report. */
int stance_calib_result_write_json(const StanceCalibResult *res, FILE *out, bool pretty,
                                   StanceError *err);

/* ======================================================================================
 * Drift: re-zeroing empty plates between trials
 * ====================================================================================== */

typedef struct {
  StanceCalibration calibration;       /* the input calibration with the new offsets */
  size_t n_used;                       /* samples averaged */
  double shift_counts[STANCE_N_CELLS]; /* new - old offset */
  double shift_n[STANCE_N_CELLS];      /* the same through the gain */
  double plate_shift_n[STANCE_N_PLATES];
  double plate_shift_pct_fs[STANCE_N_PLATES]; /* 0 when no full scale was given */
  double limit_n[STANCE_N_PLATES];
  bool warn;         /* a plate moved past its limit */
  char message[512]; /* the warning, empty when none */
} StanceCalibDrift;

/* Re-zeroes from samples [start, start + n) of a CELLS recording taken with the plates empty:
 * the new offset of each cell is its mean there. Warns (out->warn, out->message) when a plate's
 * reading moved by more than drift_limit_n, or drift_limit_pct_fs of full_scale_n[plate]
 * (full_scale_n may be NULL only when drift_limit_n > 0). Refuses (STANCE_ERANGE, nothing
 * re-zeroed) when a plate reads more than rezero_max_pct_fs of its FS (or 10 x drift_limit_n)
 * away from zero or is not steady (SD above 1 % FS, or drift_limit_n): the plates are then not
 * empty. Gap samples are left out; a saturated sample is an error. */
int stance_calib_rezero(const StanceRecording *rec, size_t start, size_t n,
                        const StanceCalibration *cal, const double *full_scale_n,
                        const StanceCalibOptions *opt, StanceCalibDrift *out, StanceError *err);

#ifdef __cplusplus
}
#endif
