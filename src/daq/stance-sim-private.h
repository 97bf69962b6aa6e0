/* stance-sim-private.h: the simulator's internal interface between its parts.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   stance-sim.c           parameters, dispatcher, scene buffers, the sensor chain (feet -> cells
 * -> counts, with noise, hum, drift, saturation), truth bookkeeping and JSON, the shared
 * truth-metric helpers below. stance-sim-jumps.c     CMJ, SJ, DJ, single-leg CMJ, single-leg hops,
 * pogo hops. stance-sim-strength.c  IMTP, isometric squat, split squat, lunge, step-up, single-leg
 * squat, single-leg RDL, back squat and deadlift sets. stance-sim-balance.c   quiet standing,
 * single-leg balance, weigh-in.
 *
 * A generator appends noise-free samples to the scene: the vertical force under each foot (N) and,
 * if it wants, each foot's CoP (plate frame, mm); it records trials, events and metrics in the
 * truth through the helpers here. It never adds sensor noise: stance-sim.c does that afterwards.
 * Randomness of the athlete (rep-to-rep variability, sway) comes from scene->rng only, so the same
 * seed gives the same athlete; stance-sim.c uses its own stream for sensor noise.
 */
#pragma once

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stance-sim.h"

/* ---- Deterministic random numbers (xoshiro256**, seeded by splitmix64) ---- */

typedef struct {
  uint64_t s[4];
  bool have_spare;
  double spare;
} StanceSimRng;

static inline uint64_t
_stance_splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline void
_stance_rng_seed(StanceSimRng *r, uint64_t seed, uint64_t stream)
{
  uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
  for (int k = 0; k < 4; k++)
    r->s[k] = _stance_splitmix64(&x);
  r->have_spare = false;
  r->spare = 0.0;
}

static inline uint64_t
_stance_rotl(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static inline uint64_t
_stance_rng_next(StanceSimRng *r)
{
  uint64_t *s = r->s;
  uint64_t result = _stance_rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = _stance_rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1). */
static inline double
_stance_rng_uniform(StanceSimRng *r)
{
  return (double)(_stance_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Standard normal (Marsaglia polar method). */
static inline double
_stance_rng_gauss(StanceSimRng *r)
{
  if (r->have_spare) {
    r->have_spare = false;
    return r->spare;
  }
  double u, v, s;
  do {
    u = 2.0 * _stance_rng_uniform(r) - 1.0;
    v = 2.0 * _stance_rng_uniform(r) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double m = sqrt(-2.0 * log(s) / s);
  r->spare = v * m;
  r->have_spare = true;
  return u * m;
}

/* Uniform in [lo, hi). */
static inline double
_stance_rng_range(StanceSimRng *r, double lo, double hi)
{
  return lo + (hi - lo) * _stance_rng_uniform(r);
}

/* ---- The virtual board (stance-sim.c, stance-sim-calib.c) ---- */

/* N/count of the virtual board's cells before their tolerance; its serial; when sessions start. */
#define STANCE_SIM_GAIN_NOMINAL 0.0004
#define STANCE_SIM_BOARD_SERIAL "SIM-0001"
#define STANCE_SIM_EPOCH_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

/* v is finite and within [lo, hi]. */
static inline bool
_stance_sim_in_range(double v, double lo, double hi)
{
  return isfinite(v) && v >= lo && v <= hi;
}

/* Splits a plate's vertical force F with centre of pressure (x, y) onto its four cells (the
 * bilinear rule, see stance-sim.c). */
void _stance_sim_split_cells(const StancePlateGeometry *g, double f, double x, double y,
                             double out[STANCE_CELLS_PER_PLATE]);

/* ADC counts of channel c for the value v (counts, rounded to the nearest integer), clamped at the
 * rails; a clamped channel sets its saturation bit in *status. */
static inline int32_t
_stance_sim_adc_counts(double v, int c, uint16_t *status)
{
  v = nearbyint(v);
  if (v >= (double)STANCE_ADC_MAX) {
    *status |= (uint16_t)(1u << c);
    return STANCE_ADC_MAX;
  }
  if (v <= (double)STANCE_ADC_MIN) {
    *status |= (uint16_t)(1u << c);
    return STANCE_ADC_MIN;
  }
  return (int32_t)v;
}

/* ---- Smooth shapes on x in [0, 1] ---- */

/* 0 -> 1 with zero slope at both ends (cubic smoothstep); clamps outside [0, 1]. */
static inline double
_stance_smoothstep(double x)
{
  if (x <= 0.0)
    return 0.0;
  if (x >= 1.0)
    return 1.0;
  return x * x * (3.0 - 2.0 * x);
}

/* 0 -> 1 -> 0, raised cosine (Hann) pulse; 0 outside [0, 1]. */
static inline double
_stance_hann(double x)
{
  if (x <= 0.0 || x >= 1.0)
    return 0.0;
  return 0.5 - 0.5 * cos(2.0 * M_PI * x);
}

/* 0 -> 1 -> 0, half sine; 0 outside [0, 1]. */
static inline double
_stance_half_sine(double x)
{
  if (x <= 0.0 || x >= 1.0)
    return 0.0;
  return sin(M_PI * x);
}

/* ---- The scene a generator fills ---- */

typedef struct {
  const StanceSimParams *p;
  double rate_hz;
  double dt;                  /* 1 / rate_hz */
  double m_body;              /* kg */
  double m_load;              /* kg of external load currently carried (generators may change it) */
  double g;                   /* STANCE_GRAVITY */
  size_t n, cap;              /* samples written / allocated */
  double *f[STANCE_N_PLATES]; /* noise-free vertical force per plate, N (>= 0) */
  double *cx[STANCE_N_PLATES]; /* CoP per plate, plate frame, mm */
  double *cy[STANCE_N_PLATES];
  StanceSimRng rng; /* the athlete's variability */
  StanceSimTruth *truth;
} StanceSimScene;

/* Appends one sample with explicit CoPs. STANCE_ENOMEM on failure. */
int _stance_sim_push_cop(StanceSimScene *s, double f_left, double f_right, double cx_left,
                         double cy_left, double cx_right, double cy_right);

/* Appends one sample; each foot's CoP is its default position (params foot_x/y) plus a small
 * physiological sway from scene->rng. */
int _stance_sim_push(StanceSimScene *s, double f_left, double f_right);

/* Appends `seconds` of still standing: total force (m_body + m_load) g, share_left of it on the
 * left plate, with physiological sway of the split (zero-mean, the total stays exact). */
int _stance_sim_still(StanceSimScene *s, double seconds, double share_left);

/* Appends `seconds` of empty plates (0 N), e.g. before stepping on or while off the plates. */
int _stance_sim_empty(StanceSimScene *s, double seconds);

/* Time of sample i in seconds. */
static inline double
_stance_sim_t(const StanceSimScene *s, size_t i)
{
  return (double)i * s->dt;
}

/* Weight of the carried system now: (m_body + m_load) * g. */
static inline double
_stance_sim_weight(const StanceSimScene *s)
{
  return (s->m_body + s->m_load) * s->g;
}

/* Peak-force multiplier of the weaker limb for quality q (force/RFD/impulse %): 1 - pct/100. */
static inline double
_stance_sim_weak_factor(double pct)
{
  return 1.0 - pct / 100.0;
}

/* ---- Truth bookkeeping (stance-sim.c) ---- */

/* A new trial in the truth (zeroed, index set); NULL on out of memory. */
StanceTruthTrial *_stance_sim_truth_trial(StanceSimScene *s, const char *kind, double start_s,
                                          double end_s);
void _stance_sim_truth_event(StanceTruthTrial *tr, const char *name, double t_s);
/* Adds or replaces a metric. has: STANCE_TRUTH_* bits; unset values are ignored. */
void _stance_sim_truth_metric(StanceTruthTrial *tr, const char *id, const char *unit, unsigned has,
                              double left, double right, double total);
void _stance_sim_truth_session_metric(StanceSimScene *s, const char *id, const char *unit,
                                      unsigned has, double left, double right, double total);

/* Standard force metrics of one trial from the noise-free scene, for the limbs in `has`
 * (left/right need a loaded plate; total always), over samples [i_onset, i_end):
 *   peak_force (N, max of each series separately; search from i_peak_from), time_to_peak (s from
 *   onset), force_at_50 .. force_at_250 (N at onset + 50..250 ms), rfd_0_50 .. rfd_0_250
 *   ((F(onset + x) - F(onset)) / x, N/s), peak_rfd (N/s, max slope over a 20 ms sliding window
 *   (F[i + w] - F[i]) / w), mean_force (N), impulse (N.s, trapezoid of F), net_impulse (N.s,
 *   trapezoid of F - W where W is weight_left, weight_right and their sum for total).
 * Epochs that run past i_end are left out. */
void _stance_sim_truth_force_metrics(const StanceSimScene *s, StanceTruthTrial *tr, unsigned has,
                                     size_t i_onset, size_t i_peak_from, size_t i_end,
                                     double weight_left, double weight_right);

/* ---- Generators (one file each) ---- */
int _stance_sim_gen_jumps(StanceSimScene *s, StanceError *err);
int _stance_sim_gen_strength(StanceSimScene *s, StanceError *err);
int _stance_sim_gen_balance(StanceSimScene *s, StanceError *err);

/* Fraction of the still load on the left plate in bilateral stances (stance-sim.c): the weaker limb
 * bears less, by half the force asymmetry: with a = asym_force_pct / 100,
 *   (share_strong - share_weak) / share_strong = a / 2,
 *   share_strong = 1 / (2 - a/2), share_weak = (1 - a/2) / (2 - a/2).
 * E.g. asym_force_pct 10 with weaker RIGHT gives left 1 / 1.95 = 0.51282, right 0.48718. */
double _stance_sim_still_share_left(const StanceSimParams *p);
