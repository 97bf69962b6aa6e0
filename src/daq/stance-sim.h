/* stance-sim.h: simulated twin force plates (the physics; plain C, no GLib).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A seeded, deterministic model of an athlete on two plates. For a protocol and its parameters it
 * builds the noise-free vertical force under each foot and each foot's centre of pressure, splits
 * each plate's load onto its four cells by the plate geometry, turns cell forces into 24-bit ADC
 * counts through a calibration, and adds what real plates add: ADC and cell noise, mains hum, slow
 * drift, saturation at the ADC rails, a missing still period. The same parameters and seed always
 * give the same counts, byte for byte, on every machine.
 *
 * Physics: the body is one point mass m (body + external load) under gravity g = 9.80665 m/s^2.
 * Jump curves obey impulse-momentum: the takeoff velocity implied by the force curve sets the
 * flight time (t_flight = 2 v_to / g) and landing absorbs the landing velocity; quiet standing
 * weighs m g.
 *
 * Ground truth: every simulated recording comes with a StanceSimTruth computed from the
 * noise-free signal: events per trial (onset, takeoff, landing, rep phases), per-limb and total
 * metrics using the metric ids of docs/methods.md, and the CoP path. The analysis tests compare
 * with it. Asymmetry parameters are percent differences (stronger - weaker) / stronger * 100 of the
 * named quality; the truth reports the values actually produced.
 *
 * Threads: reentrant; each call owns its state. The daq layer wraps this as the "simulated plates"
 * source that streams the counts in real time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stance-error.h"
#include "stance-protocol.h"
#include "stance-recording.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STANCE_GRAVITY 9.80665

typedef struct {
  StanceProtocol protocol;
  uint64_t seed;
  double sample_rate_hz;   /* default 1000 */
  double body_mass_kg;     /* default 75 */
  double external_load_kg; /* bar or vest; default 0 (barbell protocols: the top working load) */
  StanceSide side;         /* stance limb / front foot / stepping leg; BOTH for bilateral */
  StanceSide weaker;       /* which limb is weaker (default RIGHT) */
  double asym_force_pct;   /* weaker limb's peak force deficit, % (default 0) */
  double asym_rfd_pct;     /* weaker limb's RFD deficit, % (default: = asym_force_pct) */
  double asym_impulse_pct; /* weaker limb's impulse deficit, % (default: = asym_force_pct) */
  int reps;                /* reps / hops / jumps per set; 0 = protocol default */
  int sets;                /* working sets for barbell protocols; 0 = default */
  double fatigue_pct;      /* peak force drop from first to last rep of a set, % (default 0) */
  double tempo_s;          /* one rep's duration (eccentric + concentric); 0 = default */
  double duration_s;       /* standing / balance / weigh-in / isometric hold length; 0 = default */
  double adc_noise_counts; /* ADC noise, RMS counts per channel (default 40) */
  double cell_noise_n;     /* mechanical noise, RMS newtons per cell (default 0.5) */
  double mains_hz;         /* 0 (off), 50 or 60 */
  double mains_amp_n;      /* hum amplitude per cell, N (default 0; 2 when mains_hz is set) */
  double drift_n_per_min;  /* slow drift per cell, N per minute (default 0) */
  bool saturate;           /* drive one cell into the ADC rail during the peak */
  bool no_still;           /* start moving at once: no still period for weighing */
  double foot_x_mm[STANCE_N_PLATES]; /* where each foot's CoP sits on its plate (plate frame) */
  double foot_y_mm[STANCE_N_PLATES];
  bool include_warmup; /* barbell protocols: warm-up ladder 8-6-4-2 before working sets
                          (default true) */
  double rest_s;       /* rest between sets (default 150 s, within 2-3 min) */
} StanceSimParams;

/* Fills p with the defaults for protocol (side defaults to LEFT for protocols that need one). */
void stance_sim_params_default(StanceSimParams *p, StanceProtocol protocol);

/* Checks parameters; the message names the parameter and its allowed range. */
int stance_sim_params_validate(const StanceSimParams *p, StanceError *err);

/* Sets one parameter from text, as the CLI takes them: key is the long option name without dashes
 * ("body-mass", "asymmetry" (sets all three), "asym-force", "reps", "mains", "seed", "front",
 * "side", "weaker", "foot-left", "foot-right" ("x,y" in mm), ...). See docs/cli.md. */
int stance_sim_params_set(StanceSimParams *p, const char *key, const char *value, StanceError *err);

/* ---- Ground truth ---- */

enum {
  STANCE_TRUTH_LEFT = 1,
  STANCE_TRUTH_RIGHT = 2,
  STANCE_TRUTH_TOTAL = 4,
};

#define STANCE_TRUTH_MAX_EVENTS 24
#define STANCE_TRUTH_MAX_METRICS 64

typedef struct {
  char name[32]; /* "onset", "unweighting_end", "braking_end", "takeoff", "landing", "peak",
                    "ecc_start", "con_start", "rep_end", "hold_end", ... */
  double t_s;    /* from the start of the recording */
} StanceTruthEvent;

typedef struct {
  char id[32];   /* metric id from docs/methods.md: "peak_force", "rfd_0_100", "net_impulse", ... */
  char unit[12]; /* "N", "N/s", "N.s", "m", "s", "m/s", "%", "count", "mm", "mm2", "mm/s" */
  unsigned has;  /* STANCE_TRUTH_LEFT | _RIGHT | _TOTAL: which values are set */
  double left, right, total;
} StanceTruthMetric;

typedef struct {
  int index;     /* 1-based */
  char kind[16]; /* "jump", "hop", "rep", "hold", "stand", "set" */
  int set;       /* 1-based set number for reps (0 when not in a set) */
  double start_s, end_s;
  StanceTruthEvent events[STANCE_TRUTH_MAX_EVENTS];
  int n_events;
  StanceTruthMetric metrics[STANCE_TRUTH_MAX_METRICS];
  int n_metrics;
} StanceTruthTrial;

typedef struct {
  StanceSimParams params;
  double body_weight_n;     /* m_body * g */
  double system_weight_n;   /* (m_body + load) * g when the load rests on the athlete */
  double still_share_left;  /* fraction of the still load on the left plate (0-1) */
  StanceTruthTrial *trials; /* n_trials, in time order */
  size_t n_trials;
  size_t cap_trials;
  /* Session-level metrics (rep count, sets, load share, balance measures). */
  StanceTruthMetric metrics[STANCE_TRUTH_MAX_METRICS];
  int n_metrics;
  /* Noise-free CoP path per plate at 100 Hz, plate frame, mm (NAN-free: samples where the plate is
   * unloaded are left out and flagged by cop_valid = 0). */
  size_t cop_n;
  double cop_rate_hz;
  double *cop_x[STANCE_N_PLATES], *cop_y[STANCE_N_PLATES];
  uint8_t *cop_valid[STANCE_N_PLATES];
} StanceSimTruth;

void stance_sim_truth_free(StanceSimTruth *t);

/* Writes the truth as JSON (format in docs/formats.md, "Simulator ground truth"). */
int stance_sim_truth_write_json(const StanceSimTruth *t, FILE *out, StanceError *err);

/* Looks a metric up in a trial; NULL when absent. */
const StanceTruthMetric *stance_sim_truth_metric(const StanceTruthTrial *trial, const char *id);
/* Looks a session-level metric up; NULL when absent. */
const StanceTruthMetric *stance_sim_truth_session_metric(const StanceSimTruth *t, const char *id);
/* Time of a named event in a trial, or -1 when absent. */
double stance_sim_truth_event(const StanceTruthTrial *trial, const char *name);

/* ---- Running ---- */

/* Simulates the whole protocol. On success *rec is a CELLS recording (raw counts with its
 * calibration and metadata) and, when truth is not NULL, *truth its ground truth. */
int stance_sim_run(const StanceSimParams *p, StanceRecording **rec, StanceSimTruth **truth,
                   StanceError *err);

/* The calibration the simulator's virtual board uses (per-cell gains near 0.0004 N/count and
 * offsets of a few thousand counts, varying per cell and fixed for a given serial). */
void stance_sim_calibration(StanceCalibration *cal);

/* ---- Calibration sessions (stance-sim-calib.c) ----
 *
 * A technician calibrating the virtual board: known masses placed on the plates step by step, each
 * step held still. The board's cells have KNOWN true gains and offsets; the recording carries only
 * the board's nominal calibration (0.0004 N/count, offsets 0), as an uncalibrated board would.
 * Placing or lifting a mass is a smooth ramp of place_s, followed by a decaying ring (the mass and
 * the top plate settling). Optional faults: hysteresis, a non-linear cell, two channels swapped,
 * a cell wired to the other plate's input. See docs/calibration.md, "Simulated sessions". */

typedef struct {
  int plate;         /* 0 left, 1 right; -1: both plates empty */
  double x_mm, y_mm; /* centre of the mass on the plate, plate frame */
  double mass_kg;    /* mass on the plate (0 with plate -1) */
} StanceSimCalibStep;

typedef struct {
  uint64_t seed;
  double sample_rate_hz;   /* default 1000 */
  double gravity_m_s2;     /* the simulated lab's gravity; default 9.81 (as the calibration) */
  double zero_hold_s;      /* the first step (empty plates, the zero) is held this long: 10 s */
  double hold_s;           /* every other step is held hold_s x U(0.9, 1.3): default 4 s */
  double place_s;          /* placing or lifting a mass (smoothstep ramp): 0.5 s */
  double settle_pct;       /* ring after each change, % of the change in force: 3 */
  double settle_tau_s;     /* its decay time constant: 0.15 s */
  double settle_hz;        /* its frequency: 6 Hz */
  double adc_noise_counts; /* ADC noise, counts RMS: 40 */
  double cell_noise_n;     /* mechanical noise per cell, N RMS: 0.2 (a quiet lab, no athlete) */
  double drift_n_per_min;  /* drift per cell, N per minute: 0 */
  double gain_n_per_count[STANCE_N_CELLS]; /* true gains; default stance_sim_calibration()'s */
  double offset_counts[STANCE_N_CELLS];    /* true offsets; default stance_sim_calibration()'s */
  double hysteresis_pct;   /* while unloading, a plate reads more than while loading: by this
                              % of the run's heaviest load at half that load (4 u (1 - u) shape,
                              u = mass / heaviest); default 0 */
  int nonlinear_cell;      /* cell (0-7, numbered as channels) that is non-linear; -1: none */
  double nonlinear_per_kn; /* that cell feels F (1 + k F / 1000 N) for a force F: default 0.1 */
  int swap_channels[2];    /* two channels whose cells are exchanged; -1, -1: none */
  int wrong_plate_channel; /* channel exchanged with the same cell of the other plate; -1: none */
  long omit_step;          /* this step (0-based) is left out of the session; -1: none */
} StanceSimCalibParams;

typedef struct {
  StanceCalibration calib;          /* true offsets and gains of each cell (index = the channel
                                       it belongs on), default geometry, serial SIM-0001 */
  int channel_cell[STANCE_N_CELLS]; /* channel c reads cell channel_cell[c] (identity: healthy) */
  size_t n_steps;
  double *start_s; /* per step: the mass is in place (the placing ramp ended) */
  double *end_s;   /* per step: the next change begins; -1 when omitted */
  double duration_s;
} StanceSimCalibTruth;

void stance_sim_calib_params_default(StanceSimCalibParams *p);
/* The message names the parameter and its range. */
int stance_sim_calib_params_validate(const StanceSimCalibParams *p, StanceError *err);
/* Simulates the session of steps[0..n_steps) (mass changes within one position are ramps, a move
 * to another position or plate lifts the mass first). *rec: CELLS recording (caller frees);
 * *truth (optional): the true calibration and each step's span (stance_sim_calib_truth_free). */
int stance_sim_calib_run(const StanceSimCalibParams *p, const StanceSimCalibStep *steps,
                         size_t n_steps, StanceRecording **rec, StanceSimCalibTruth **truth,
                         StanceError *err);
void stance_sim_calib_truth_free(StanceSimCalibTruth *t);

#ifdef __cplusplus
}
#endif
