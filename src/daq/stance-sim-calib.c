/* stance-sim-calib.c: simulated calibration sessions of the virtual board.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A schedule is built first (when each mass is placed, held and lifted), then rendered sample by
 * sample: each load (the mass being held or moved, and the decaying rings of recent changes)
 * stands at a position of one plate and is split onto that plate's four cells by the bilinear rule
 * of the simulator (docs/simulator.md); the cells' forces become counts through the TRUE gains and
 * offsets, with noise and drift, and the channels are then permuted by the wiring faults.
 *
 * Determinism: random streams 11 (hold times) and 12 (sensor noise) of the seed; floating-point
 * contraction off, as in the other simulator files.
 * Threads: reentrant, no global state.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "stance-sim-private.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  CALIB_STREAM_HOLD = 11,
  CALIB_STREAM_SENSOR = 12,
};

void
stance_sim_calib_params_default(StanceSimCalibParams *p)
{
  memset(p, 0, sizeof *p);
  p->seed = 1;
  p->sample_rate_hz = 1000.0;
  p->gravity_m_s2 = 9.81;
  p->zero_hold_s = 10.0;
  p->hold_s = 4.0;
  p->place_s = 0.5;
  p->settle_pct = 3.0;
  p->settle_tau_s = 0.15;
  p->settle_hz = 6.0;
  p->adc_noise_counts = 40.0;
  p->cell_noise_n = 0.2;
  p->drift_n_per_min = 0.0;
  StanceCalibration cal;
  stance_sim_calibration(&cal);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    p->gain_n_per_count[c] = cal.gain_n_per_count[c];
    p->offset_counts[c] = cal.offset_counts[c];
  }
  p->nonlinear_cell = -1;
  p->nonlinear_per_kn = 0.1;
  p->swap_channels[0] = p->swap_channels[1] = -1;
  p->wrong_plate_channel = -1;
  p->omit_step = -1;
}

int
stance_sim_calib_params_validate(const StanceSimCalibParams *p, StanceError *err)
{
  if (!p)
    return stance_error_set(err, STANCE_EINVAL, "no calibration session parameters given");
  struct {
    const char *name;
    double v, lo, hi;
  } r[] = {
      {"sample_rate_hz", p->sample_rate_hz, 100.0, 10000.0},
      {"gravity_m_s2", p->gravity_m_s2, 9.7, 9.9},
      {"zero_hold_s", p->zero_hold_s, 1.0, 600.0},
      {"hold_s", p->hold_s, 1.0, 600.0},
      {"place_s", p->place_s, 0.05, 10.0},
      {"settle_pct", p->settle_pct, 0.0, 50.0},
      {"settle_tau_s", p->settle_tau_s, 0.01, 5.0},
      {"settle_hz", p->settle_hz, 0.5, 0.45 * p->sample_rate_hz},
      {"adc_noise_counts", p->adc_noise_counts, 0.0, 100000.0},
      {"cell_noise_n", p->cell_noise_n, 0.0, 100.0},
      {"drift_n_per_min", p->drift_n_per_min, -100.0, 100.0},
      {"nonlinear_per_kn", p->nonlinear_per_kn, -0.5, 0.5},
      {"hysteresis_pct", p->hysteresis_pct, 0.0, 10.0},
  };
  for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
    if (!_stance_sim_in_range(r[i].v, r[i].lo, r[i].hi))
      return stance_error_set(err, STANCE_ERANGE, "%s %g is outside its range (expected %g to %g)",
                              r[i].name, r[i].v, r[i].lo, r[i].hi);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    double g = p->gain_n_per_count[c];
    if (!isfinite(g) || !(fabs(g) > 1e-9) || fabs(g) > 1.0)
      return stance_error_set(err, STANCE_ERANGE,
                              "gain_n_per_count[%d] %g is not usable (expected a finite gain "
                              "with 1e-9 < |gain| <= 1 N/count)",
                              c, g);
    if (!_stance_sim_in_range(p->offset_counts[c], -4194304.0, 4194304.0))
      return stance_error_set(err, STANCE_ERANGE,
                              "offset_counts[%d] %g is outside +-4194304 (expected an offset "
                              "within half the ADC range)",
                              c, p->offset_counts[c]);
  }
  if (p->nonlinear_cell < -1 || p->nonlinear_cell >= STANCE_N_CELLS)
    return stance_error_set(err, STANCE_ERANGE, "nonlinear_cell %d (expected -1 for none or 0-7)",
                            p->nonlinear_cell);
  bool none = p->swap_channels[0] == -1 && p->swap_channels[1] == -1;
  bool ok = p->swap_channels[0] >= 0 && p->swap_channels[0] < STANCE_N_CELLS &&
            p->swap_channels[1] >= 0 && p->swap_channels[1] < STANCE_N_CELLS &&
            p->swap_channels[0] != p->swap_channels[1];
  if (!none && !ok)
    return stance_error_set(err, STANCE_ERANGE,
                            "swap_channels %d, %d (expected -1, -1 for none or two different "
                            "channels 0-7)",
                            p->swap_channels[0], p->swap_channels[1]);
  if (p->wrong_plate_channel < -1 || p->wrong_plate_channel >= STANCE_N_CELLS)
    return stance_error_set(err, STANCE_ERANGE,
                            "wrong_plate_channel %d (expected -1 for none or 0-7)",
                            p->wrong_plate_channel);
  if (p->omit_step < -1)
    return stance_error_set(err, STANCE_ERANGE, "omit_step %ld (expected -1 for none or a step)",
                            p->omit_step);
  return STANCE_OK;
}

void
stance_sim_calib_truth_free(StanceSimCalibTruth *t)
{
  if (!t)
    return;
  free(t->start_s);
  free(t->end_s);
  free(t);
}

/* ---- the schedule ---- */

typedef struct {
  double t0, t1; /* the mass goes from m0 to m1 over [t0, t1] (a hold when equal) */
  int plate;
  double x, y, m0, m1;
  double peak; /* heaviest mass held at this position before the phase (hysteresis) */
} Phase;

typedef struct {
  double t0; /* the change ended */
  int plate;
  double x, y;
  double df; /* the change in force, N */
} Ring;

typedef struct {
  Phase *ph;
  size_t n_ph, cap_ph;
  Ring *ring;
  size_t n_ring, cap_ring;
} Schedule;

static int
add_phase(Schedule *s, Phase p)
{
  if (s->n_ph == s->cap_ph) {
    size_t cap = s->cap_ph ? s->cap_ph * 2 : 64;
    Phase *q = realloc(s->ph, cap * sizeof *q);
    if (!q)
      return STANCE_ENOMEM;
    s->ph = q;
    s->cap_ph = cap;
  }
  s->ph[s->n_ph++] = p;
  return STANCE_OK;
}

static int
add_ring(Schedule *s, Ring r)
{
  if (s->n_ring == s->cap_ring) {
    size_t cap = s->cap_ring ? s->cap_ring * 2 : 64;
    Ring *q = realloc(s->ring, cap * sizeof *q);
    if (!q)
      return STANCE_ENOMEM;
    s->ring = q;
    s->cap_ring = cap;
  }
  s->ring[s->n_ring++] = r;
  return STANCE_OK;
}

static bool
same_place(int pa, double xa, double ya, int pb, double xb, double yb)
{
  return pa == pb && xa == xb && ya == yb;
}

int
stance_sim_calib_run(const StanceSimCalibParams *p, const StanceSimCalibStep *steps, size_t n_steps,
                     StanceRecording **rec_out, StanceSimCalibTruth **truth_out, StanceError *err)
{
  if (rec_out)
    *rec_out = NULL;
  if (truth_out)
    *truth_out = NULL;
  if (!rec_out || !steps)
    return stance_error_set(err, STANCE_EINVAL, "no steps or no output recording given");
  int r = stance_sim_calib_params_validate(p, err);
  if (r < 0)
    return r;
  if (n_steps == 0 || n_steps > 100000)
    return stance_error_set(err, STANCE_ERANGE, "%zu steps (expected 1 to 100000)", n_steps);
  if (p->omit_step >= (long)n_steps)
    return stance_error_set(err, STANCE_ERANGE,
                            "omit_step %ld is past the last step (expected -1 or below %zu)",
                            p->omit_step, n_steps);
  StanceCalibration geo;
  stance_calibration_default(&geo);
  for (size_t k = 0; k < n_steps; k++) {
    const StanceSimCalibStep *s = &steps[k];
    if (s->plate == -1) {
      if (s->mass_kg != 0.0)
        return stance_error_set(err, STANCE_EINVAL,
                                "step %zu: %g kg with no plate (expected mass 0 for empty plates)",
                                k + 1, s->mass_kg);
      continue;
    }
    if (s->plate != 0 && s->plate != 1)
      return stance_error_set(err, STANCE_EINVAL, "step %zu: plate %d (expected -1, 0 or 1)", k + 1,
                              s->plate);
    const StancePlateGeometry *g = &geo.plate[s->plate];
    if (!_stance_sim_in_range(s->x_mm, -0.5 * g->width_mm, 0.5 * g->width_mm) ||
        !_stance_sim_in_range(s->y_mm, -0.5 * g->length_mm, 0.5 * g->length_mm))
      return stance_error_set(err, STANCE_ERANGE,
                              "step %zu: position x %g y %g mm is off the plate (expected |x| <= "
                              "%g, |y| <= %g mm)",
                              k + 1, s->x_mm, s->y_mm, 0.5 * g->width_mm, 0.5 * g->length_mm);
    if (!_stance_sim_in_range(s->mass_kg, 0.0, 2000.0))
      return stance_error_set(err, STANCE_ERANGE, "step %zu: mass %g kg (expected 0 to 2000 kg)",
                              k + 1, s->mass_kg);
  }

  StanceSimCalibTruth *truth = calloc(1, sizeof *truth);
  Schedule sch = {0};
  StanceRecording *rec = NULL;
  if (!truth || !(truth->start_s = malloc(n_steps * sizeof(double))) ||
      !(truth->end_s = malloc(n_steps * sizeof(double)))) {
    r = stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu steps", n_steps);
    goto fail;
  }
  truth->n_steps = n_steps;
  stance_sim_calibration(&truth->calib);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    truth->calib.gain_n_per_count[c] = p->gain_n_per_count[c];
    truth->calib.offset_counts[c] = p->offset_counts[c];
    truth->channel_cell[c] = c;
  }
  snprintf(truth->calib.id, sizeof truth->calib.id, "SIM-0001-true");
  if (p->swap_channels[0] >= 0) {
    int a = p->swap_channels[0], b = p->swap_channels[1];
    int t = truth->channel_cell[a];
    truth->channel_cell[a] = truth->channel_cell[b];
    truth->channel_cell[b] = t;
  }
  if (p->wrong_plate_channel >= 0) {
    int a = p->wrong_plate_channel, b = (a + STANCE_CELLS_PER_PLATE) % STANCE_N_CELLS;
    int t = truth->channel_cell[a];
    truth->channel_cell[a] = truth->channel_cell[b];
    truth->channel_cell[b] = t;
  }

  /* ---- schedule ---- */
  const double g = p->gravity_m_s2;
  StanceSimRng rng_hold;
  _stance_rng_seed(&rng_hold, p->seed, CALIB_STREAM_HOLD);
  double t = 0.0;
  int cur_plate = -1;
  double cur_x = 0.0, cur_y = 0.0, cur_m = 0.0, peak = 0.0;
  bool first = true;
  for (size_t k = 0; k < n_steps; k++) {
    /* one draw per step, omitted or not, so that omitting a step leaves the others' holds alone */
    double u = _stance_rng_range(&rng_hold, 0.9, 1.3);
    if ((long)k == p->omit_step) {
      truth->start_s[k] = truth->end_s[k] = -1.0;
      continue;
    }
    const StanceSimCalibStep *s = &steps[k];
    double m = s->plate >= 0 ? s->mass_kg : 0.0;
    bool moves = !same_place(cur_plate, cur_x, cur_y, s->plate, s->x_mm, s->y_mm);
    if (cur_m > 0.0 && (moves || m == 0.0)) {
      r = add_phase(&sch, (Phase){t, t + p->place_s, cur_plate, cur_x, cur_y, cur_m, 0.0, peak});
      peak = 0.0;
      if (r == 0)
        r = add_ring(&sch, (Ring){t + p->place_s, cur_plate, cur_x, cur_y, -cur_m * g});
      t += p->place_s;
      cur_m = 0.0;
    }
    if (r == 0 && m != cur_m) {
      r = add_phase(&sch, (Phase){t, t + p->place_s, s->plate, s->x_mm, s->y_mm, cur_m, m, peak});
      peak = m == 0.0 ? 0.0 : fmax(peak, m);
      if (r == 0)
        r = add_ring(&sch, (Ring){t + p->place_s, s->plate, s->x_mm, s->y_mm, (m - cur_m) * g});
      t += p->place_s;
    }
    if (m > 0.0) {
      cur_plate = s->plate;
      cur_x = s->x_mm;
      cur_y = s->y_mm;
    }
    cur_m = m;
    double hold = first ? p->zero_hold_s : p->hold_s * u;
    first = false;
    truth->start_s[k] = t;
    if (r == 0)
      r = add_phase(&sch, (Phase){t, t + hold, cur_plate, cur_x, cur_y, cur_m, cur_m, peak});
    t += hold;
    truth->end_s[k] = t;
    if (r < 0) {
      r = stance_error_set(err, STANCE_ENOMEM, "out of memory for the session's schedule");
      goto fail;
    }
  }
  truth->duration_s = t;

  /* ---- rendering ---- */
  const double rate = p->sample_rate_hz;
  const size_t n = (size_t)ceil(t * rate);
  rec = stance_recording_new(STANCE_LAYOUT_CELLS, rate, false);
  if (!rec || stance_recording_reserve(rec, n) < 0) {
    r = stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu samples", n);
    goto fail;
  }
  /* what an uncalibrated board carries: nominal gains, no offsets */
  stance_calibration_default(&rec->calib);
  for (int c = 0; c < STANCE_N_CELLS; c++)
    rec->calib.gain_n_per_count[c] = STANCE_SIM_GAIN_NOMINAL;
  snprintf(rec->calib.id, sizeof rec->calib.id, "%s", STANCE_SIM_BOARD_SERIAL "-nominal");
  snprintf(rec->calib.board_serial, sizeof rec->calib.board_serial, "%s", STANCE_SIM_BOARD_SERIAL);
  rec->calib.created_unix_ms = STANCE_SIM_EPOCH_MS;
  rec->has_calibration = true;
  StanceMeta *meta = &rec->meta;
  meta->protocol = STANCE_PROTO_UNKNOWN;
  meta->side = STANCE_SIDE_BOTH;
  meta->start_unix_ms = STANCE_SIM_EPOCH_MS;
  snprintf(meta->board_serial, sizeof meta->board_serial, "%s", STANCE_SIM_BOARD_SERIAL);
  snprintf(meta->firmware_version, sizeof meta->firmware_version, "sim");
  snprintf(meta->calibration_id, sizeof meta->calibration_id, "%s", rec->calib.id);
  snprintf(meta->source, sizeof meta->source, "simulator");
  char buf[64];
  stance_meta_set(meta, "sim.session", "calibration");
  snprintf(buf, sizeof buf, "%" PRIu64, p->seed);
  stance_meta_set(meta, "sim.seed", buf);
  snprintf(buf, sizeof buf, "%zu", n_steps);
  stance_meta_set(meta, "sim.calibration-steps", buf);

  StanceSimRng rng;
  _stance_rng_seed(&rng, p->seed, CALIB_STREAM_SENSOR);
  const double w_ring = 2.0 * M_PI * p->settle_hz;
  const double amp = p->settle_pct / 100.0;
  const double ring_life = 12.0 * p->settle_tau_s;
  size_t ph = 0, ring_lo = 0;
  for (size_t i = 0; i < n; i++) {
    double ti = (double)i / rate;
    while (ph + 1 < sch.n_ph && ti >= sch.ph[ph].t1)
      ph++;
    double cells[STANCE_N_CELLS] = {0};
    double part[STANCE_CELLS_PER_PLATE];
    if (sch.n_ph > 0) {
      const Phase *q = &sch.ph[ph];
      double m = q->m0;
      if (q->m1 != q->m0 && q->t1 > q->t0)
        m = q->m0 + (q->m1 - q->m0) * _stance_smoothstep((ti - q->t0) / (q->t1 - q->t0));
      if (q->plate >= 0 && m != 0.0) {
        double f = m * g;
        if (m < q->peak) { /* unloading branch: the plate reads high */
          double u = m / q->peak;
          f += p->hysteresis_pct / 100.0 * q->peak * g * 4.0 * u * (1.0 - u);
        }
        _stance_sim_split_cells(&geo.plate[q->plate], f, q->x, q->y, part);
        for (int c = 0; c < STANCE_CELLS_PER_PLATE; c++)
          cells[q->plate * STANCE_CELLS_PER_PLATE + c] += part[c];
      }
    }
    while (ring_lo < sch.n_ring && ti - sch.ring[ring_lo].t0 > ring_life)
      ring_lo++;
    for (size_t k = ring_lo; k < sch.n_ring && sch.ring[k].t0 <= ti; k++) {
      const Ring *rg = &sch.ring[k];
      double dt = ti - rg->t0;
      double f = amp * rg->df * exp(-dt / p->settle_tau_s) * sin(w_ring * dt);
      _stance_sim_split_cells(&geo.plate[rg->plate], f, rg->x, rg->y, part);
      for (int c = 0; c < STANCE_CELLS_PER_PLATE; c++)
        cells[rg->plate * STANCE_CELLS_PER_PLATE + c] += part[c];
    }
    /* each physical cell's counts */
    double cell_counts[STANCE_N_CELLS];
    for (int c = 0; c < STANCE_N_CELLS; c++) {
      double g_cell = _stance_rng_gauss(&rng);
      double g_adc = _stance_rng_gauss(&rng);
      double f = cells[c];
      if (c == p->nonlinear_cell)
        f *= 1.0 + p->nonlinear_per_kn * f / 1000.0;
      f += p->cell_noise_n * g_cell + p->drift_n_per_min * ti / 60.0;
      cell_counts[c] =
          p->offset_counts[c] + f / p->gain_n_per_count[c] + p->adc_noise_counts * g_adc;
    }
    int32_t counts[STANCE_N_CELLS];
    uint16_t status = 0;
    for (int c = 0; c < STANCE_N_CELLS; c++)
      counts[c] = _stance_sim_adc_counts(cell_counts[truth->channel_cell[c]], c, &status);
    r = stance_recording_append_counts(rec, counts, status);
    if (r < 0) {
      r = stance_error_set(err, r, "could not store simulated sample %zu", i);
      goto fail;
    }
  }
  free(sch.ph);
  free(sch.ring);
  *rec_out = rec;
  if (truth_out)
    *truth_out = truth;
  else
    stance_sim_calib_truth_free(truth);
  return STANCE_OK;

fail:
  free(sch.ph);
  free(sch.ring);
  stance_recording_free(rec);
  stance_sim_calib_truth_free(truth);
  return r;
}
