/* stance-calib-segment.c: finding the plan's steps in a recorded session, and averaging each step.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Segmentation works on one signal, the total force T of all 8 channels through provisional gains
 * (the nominal gain or the recording's calibration): T = sum_c s_c g_c (counts_c - zero_c), with
 * the zero from the first plateau of the plain sum and s_c the sign of channel c's largest
 * excursion from it (-1 for a cell whose signal wires are reversed). A sum does not care which
 * channel a cell is on, the signs undo reversed wiring, and gains a few % off only scale it, so
 * the steps of a faulty board (swapped, misplaced, reversed cells) are still found and the faults
 * diagnosed afterwards. (A sum of magnitudes would do the same without the signs, but bends where
 * a slowly drifting channel crosses its zero, which moves the step boundaries.)
 *
 *   1. steady[i]: the standard deviation of T over a centred window (steady_window_s) is within
 *      twice the recording's noise floor (the median of those deviations: most of a calibration
 *      session is steady);
 *   2. plateaus: runs of steady samples at least min_step_s long, each with its mean level;
 *   3. matching in order: the first plateau is the zero; step k takes the next plateau whose load
 *      (level - the latest zero step's level, which follows slow drift) is within the tolerance of
 *      m_k g. Plateaus between the previous load
 *      and the expected one (masses added or removed one at a time) and repeats of the previous
 *      load are passed over; anything else means step k is missing;
 *   4. boundaries: a step starts where T (smoothed over 20 ms) first comes within 5 noise SDs of
 *      the plateau's level after the previous step ended, and ends where T first leaves it after
 *      the plateau.
 */
#include "stance-calib-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
_stance_calib_scale_gains(const StanceRecording *rec, const StanceCalibOptions *opt,
                          double gains[STANCE_N_CELLS], StanceError *err)
{
  if (opt->nominal_gain_n_per_count > 0.0) {
    for (int c = 0; c < STANCE_N_CELLS; c++)
      gains[c] = opt->nominal_gain_n_per_count;
    return STANCE_OK;
  }
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    double g = rec->calib.gain_n_per_count[c];
    if (!isfinite(g) || g == 0.0)
      return stance_error_set(err, STANCE_ERANGE,
                              "the recording's calibration has gain %g for channel %d (expected "
                              "a finite non-zero gain, or give the cells' nominal gain)",
                              g, c + 1);
    gains[c] = fabs(g);
  }
  if (stance_calibration_is_placeholder(&rec->calib))
    return stance_error_set(err, STANCE_EINVAL,
                            "the recording's calibration has the placeholder gain 1 N/count "
                            "(expected the cells' nominal gain, e.g. nominal-gain 0.0004 N/count, "
                            "to scale the counts)");
  return STANCE_OK;
}

/* ======================================================================================
 * Segmentation
 * ====================================================================================== */

typedef struct {
  size_t start, end; /* steady run [start, end) */
  double level;      /* mean of T over the run, N */
  double sd_smooth;  /* SD of the smoothed T over the run, N */
} Plateau;

/* The total-force signal of a recording and what is derived from it. */
typedef struct {
  size_t n, h, hs, min_len;
  double *s1, *s2; /* prefix sums of T and T^2 (n + 1) */
  size_t *sb;      /* prefix count of bad samples (gaps, saturation) (n + 1) */
  double *sd;      /* SD of T over [i - h, i + h]; INFINITY where undefined */
  double *ts;      /* T averaged over the good samples of [i - hs, i + hs]; NAN when fewer than
                      half are good */
  uint8_t *steady;
  double floor_sd; /* noise floor: median of sd */
  Plateau *pl;
  size_t n_pl, cap_pl;
} Signal;

static void
signal_free(Signal *sg)
{
  free(sg->s1);
  free(sg->s2);
  free(sg->sb);
  free(sg->sd);
  free(sg->ts);
  free(sg->steady);
  free(sg->pl);
}

static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Mean of the non-NAN x[a..b), or fallback when there is none. */
static double
local_mean(const double *x, size_t a, size_t b, double fallback)
{
  double sum = 0.0;
  size_t cnt = 0;
  for (size_t i = a; i < b; i++)
    if (!isnan(x[i])) {
      sum += x[i];
      cnt++;
    }
  return cnt ? sum / (double)cnt : fallback;
}

static double
t_of(const StanceRecording *rec, size_t i)
{
  return (double)i / rec->sample_rate_hz;
}

/* Builds T and its plateaus: T = sum_c g_c (counts_c - base_c), base NULL: relative to the first
 * good sample. The caller gives a reversed cell a negative gain. */
static int
signal_build(Signal *sg, const StanceRecording *rec, const double *gains, const double *base,
             double fs_total, const StanceCalibOptions *opt, StanceError *err)
{
  const size_t n = sg->n, h = sg->h, hs = sg->hs;
  double t_ref = NAN;
  sg->s1[0] = sg->s2[0] = 0.0;
  sg->sb[0] = 0;
  for (size_t i = 0; i < n; i++) {
    bool bad = (rec->status[i] & (STANCE_STATUS_GAP | STANCE_STATUS_SAT_MASK)) != 0;
    double t = 0.0;
    if (!bad) {
      const int32_t *cv = &rec->counts[i * STANCE_N_CELLS];
      for (int c = 0; c < STANCE_N_CELLS; c++)
        t += base ? gains[c] * ((double)cv[c] - base[c]) : gains[c] * (double)cv[c];
      if (!base) {
        if (isnan(t_ref))
          t_ref = t;
        t -= t_ref; /* keeps the sums of squares small */
      }
    }
    sg->s1[i + 1] = sg->s1[i] + t;
    sg->s2[i + 1] = sg->s2[i] + t * t;
    sg->sb[i + 1] = sg->sb[i] + (bad ? 1 : 0);
  }
  if (sg->sb[n] == n)
    return stance_error_set(err, STANCE_ENODATA,
                            "every sample of the recording is a gap or saturated (expected "
                            "readings)");
  size_t n_sd = 0;
  double *sample = malloc((n / h + 1) * sizeof(double));
  if (!sample)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory segmenting %zu samples", n);
  for (size_t i = 0; i < n; i++) {
    sg->sd[i] = INFINITY;
    if (i < h || i + h >= n)
      continue;
    size_t a = i - h, b = i + h + 1;
    if (sg->sb[b] != sg->sb[a])
      continue;
    double m = (double)(b - a);
    double mean = (sg->s1[b] - sg->s1[a]) / m;
    double var = ((sg->s2[b] - sg->s2[a]) - mean * mean * m) / (m - 1.0);
    sg->sd[i] = sqrt(fmax(var, 0.0));
    if ((i - h) % h == 0)
      sample[n_sd++] = sg->sd[i];
  }
  if (n_sd == 0) {
    free(sample);
    return stance_error_set(err, STANCE_ENODATA,
                            "no stretch of %g s without gaps in the recording (expected steady "
                            "readings)",
                            opt->steady_window_s);
  }
  qsort(sample, n_sd, sizeof(double), cmp_double);
  sg->floor_sd = sample[n_sd / 2];
  free(sample);
  double thr = 2.0 * sg->floor_sd + 1e-6 * fs_total;
  for (size_t i = 0; i < n; i++) {
    sg->steady[i] = sg->sd[i] <= thr;
    size_t a = i >= hs ? i - hs : 0, b = i + hs + 1 < n ? i + hs + 1 : n;
    size_t good = (b - a) - (sg->sb[b] - sg->sb[a]); /* bad samples add 0 to s1 */
    sg->ts[i] = 2 * good < b - a ? NAN : (sg->s1[b] - sg->s1[a]) / (double)good;
  }
  sg->n_pl = 0;
  for (size_t i = 0; i < n;) {
    if (!sg->steady[i]) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < n && sg->steady[j])
      j++;
    if (j - i >= sg->min_len) {
      if (sg->n_pl == sg->cap_pl) {
        size_t cap = sg->cap_pl ? sg->cap_pl * 2 : 128;
        Plateau *q = realloc(sg->pl, cap * sizeof *q);
        if (!q)
          return stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu plateaus", cap);
        sg->pl = q;
        sg->cap_pl = cap;
      }
      Plateau *p = &sg->pl[sg->n_pl++];
      p->start = i;
      p->end = j;
      p->level = (sg->s1[j] - sg->s1[i]) / (double)(j - i);
      double acc = 0.0;
      size_t cnt = 0;
      for (size_t k = i; k < j; k++)
        if (!isnan(sg->ts[k])) {
          acc += (sg->ts[k] - p->level) * (sg->ts[k] - p->level);
          cnt++;
        }
      p->sd_smooth = cnt > 1 ? sqrt(acc / (double)(cnt - 1)) : 0.0;
    }
    i = j;
  }
  if (sg->n_pl == 0)
    return stance_error_set(err, STANCE_ENODATA,
                            "no steady reading of at least %g s in the recording (expected the "
                            "plates empty at the start, then each mass held still)",
                            opt->min_step_s);
  return STANCE_OK;
}

int
stance_calib_segment(const StanceRecording *rec, const StanceCalibPlan *plan,
                     const StanceCalibOptions *opt_in, StanceCalibSpan *spans, StanceError *err)
{
  if (!rec || !plan || !spans)
    return stance_error_set(err, STANCE_EINVAL, "no recording, plan or span array given");
  StanceCalibOptions opt;
  int r = _stance_calib_cells_options(rec, STANCE_CALIB_EXPECT_SESSION, opt_in, &opt, err);
  if (r < 0)
    return r;
  if (plan->n_steps == 0 || plan->steps[0].kind != STANCE_CALIB_ZERO)
    return stance_error_set(err, STANCE_EINVAL,
                            "the plan does not start with a zero step (expected a valid plan)");
  double gains[STANCE_N_CELLS];
  r = _stance_calib_scale_gains(rec, &opt, gains, err);
  if (r < 0)
    return r;

  const size_t n = rec->n_samples;
  const double rate = rec->sample_rate_hz;
  Signal sg = {
      .n = n,
      .h = (size_t)fmax(2.0, round(0.5 * opt.steady_window_s * rate)), /* half window */
      .hs = (size_t)fmax(1.0, round(0.010 * rate)), /* 20 ms smoothing half window */
      .min_len = (size_t)ceil(opt.min_step_s * rate),
  };
  if (n < 2 * sg.h + 1 + sg.min_len)
    return stance_error_set(err, STANCE_ENODATA,
                            "the recording is %.3f s long (expected a whole calibration session, "
                            "%zu steps of at least %g s each)",
                            t_of(rec, n), plan->n_steps, opt.min_step_s);
  double fs_total = 0.0;
  for (int pl = 0; pl < STANCE_N_PLATES; pl++)
    fs_total = fmax(fs_total, _stance_calib_full_scale_n(plan, pl, opt.gravity_m_s2));
  sg.s1 = malloc((n + 1) * sizeof(double));
  sg.s2 = malloc((n + 1) * sizeof(double));
  sg.sb = malloc((n + 1) * sizeof(size_t));
  sg.sd = malloc(n * sizeof(double));
  sg.ts = malloc(n * sizeof(double));
  sg.steady = malloc(n);
  size_t *match = malloc(plan->n_steps * sizeof(size_t));
  if (!sg.s1 || !sg.s2 || !sg.sb || !sg.sd || !sg.ts || !sg.steady || !match) {
    r = stance_error_set(err, STANCE_ENOMEM, "out of memory segmenting %zu samples", n);
    goto out;
  }
  /* pass 1: the signed sum finds the first plateau, the zero; pass 2: magnitudes about it */
  r = signal_build(&sg, rec, gains, NULL, fs_total, &opt, err);
  if (r < 0)
    goto out;
  double base[STANCE_N_CELLS] = {0};
  size_t nb = 0;
  for (size_t i = sg.pl[0].start; i < sg.pl[0].end; i++) {
    if (rec->status[i] & (STANCE_STATUS_GAP | STANCE_STATUS_SAT_MASK))
      continue;
    for (int c = 0; c < STANCE_N_CELLS; c++)
      base[c] += rec->counts[i * STANCE_N_CELLS + c];
    nb++;
  }
  for (int c = 0; c < STANCE_N_CELLS; c++)
    base[c] /= (double)nb;
  /* each channel's sign: that of its largest excursion from the zero (a load, not drift) */
  double ext[STANCE_N_CELLS] = {0};
  for (size_t i = 0; i < n; i++) {
    if (rec->status[i] & (STANCE_STATUS_GAP | STANCE_STATUS_SAT_MASK))
      continue;
    for (int c = 0; c < STANCE_N_CELLS; c++) {
      double d = (double)rec->counts[i * STANCE_N_CELLS + c] - base[c];
      if (fabs(d) > fabs(ext[c]))
        ext[c] = d;
    }
  }
  for (int c = 0; c < STANCE_N_CELLS; c++)
    if (ext[c] < 0.0)
      gains[c] = -gains[c];
  r = signal_build(&sg, rec, gains, base, fs_total, &opt, err);
  if (r < 0)
    goto out;

  /* matching */
  const Plateau *pls = sg.pl;
  const size_t n_pl = sg.n_pl;
  const double g = opt.gravity_m_s2;
  const double tol_frac = opt.level_tolerance_pct / 100.0;
  const double tol_zero = tol_frac * _stance_calib_min_mass_kg(plan) * g;
  double t0 = pls[0].level; /* the latest zero's level: loads are read above it (slow drift) */
  match[0] = 0;
  char st[160], st2[160];
  for (size_t k = 1; k < plan->n_steps && r == 0; k++) {
    const StanceCalibStep *s = &plan->steps[k];
    double want = s->kind == STANCE_CALIB_ZERO ? 0.0 : s->mass_kg * g;
    double tol = s->kind == STANCE_CALIB_ZERO ? tol_zero : tol_frac * want;
    const StanceCalibStep *sp = &plan->steps[k - 1];
    double want_prev = sp->kind == STANCE_CALIB_ZERO ? 0.0 : sp->mass_kg * g;
    double tol_prev = sp->kind == STANCE_CALIB_ZERO ? tol_zero : tol_frac * want_prev;
    if (fabs(want - want_prev) <= tol + tol_prev) {
      r = stance_error_set(err, STANCE_EINVAL,
                           "%s and the step before differ by %g kg, too little to tell apart "
                           "in a recording (expected at least %g kg apart at a level tolerance "
                           "of %g %%); give the step boundaries instead",
                           stance_calib_step_text(plan, k, &rec->calib, st, sizeof st),
                           fabs(want - want_prev) / g, (tol + tol_prev) / g,
                           opt.level_tolerance_pct);
      break;
    }
    const Plateau *mp = &pls[match[k - 1]];
    double prev_load = mp->level - t0;
    size_t p = match[k - 1] + 1;
    bool found = false;
    for (; p < n_pl; p++) {
      double load = pls[p].level - t0;
      if (fabs(load - want) <= tol) {
        found = true;
        break;
      }
      if (fabs(load - prev_load) <= tol_prev)
        continue; /* the previous step again (a bump split its plateau) */
      double lo = fmin(prev_load, want), hi = fmax(prev_load, want);
      if (load > lo + tol_prev && load < hi - tol)
        continue; /* on the way: masses added or removed one at a time */
      stance_calib_step_text(plan, k, &rec->calib, st, sizeof st);
      stance_calib_step_text(plan, k - 1, &rec->calib, st2, sizeof st2);
      r = stance_error_set(err, STANCE_ENODATA,
                           "%s not found: after %s (steady until t = %.2f s) the next steady "
                           "reading is %.1f kg at t = %.2f s (expected %g kg within %g %%)",
                           st, st2, t_of(rec, mp->end), load / g, t_of(rec, pls[p].start), want / g,
                           opt.level_tolerance_pct);
      break;
    }
    if (r < 0)
      break;
    if (!found) {
      stance_calib_step_text(plan, k, &rec->calib, st, sizeof st);
      stance_calib_step_text(plan, k - 1, &rec->calib, st2, sizeof st2);
      r = stance_error_set(err, STANCE_ENODATA,
                           "%s not found: the recording (%.2f s) ends after %s (steady until "
                           "t = %.2f s) (expected a steady reading of %g kg)",
                           st, t_of(rec, n), st2, t_of(rec, mp->end), want / g);
      break;
    }
    match[k] = p;
    if (s->kind == STANCE_CALIB_ZERO)
      t0 = pls[p].level;
  }
  /* boundaries: where T arrives within 5 noise SDs of the level at the plateau's start after the
   * previous step ended, and where it leaves the level, tracked slowly from the plateau's end
   * (so that drift during a long step does not end it early); gaps neither end nor start a
   * step */
  double floor_smooth = sg.floor_sd / sqrt(2.0 * (double)sg.hs + 1.0); /* SD of 20 ms means */
  size_t half_s = (size_t)fmax(1.0, round(0.5 * rate));
  double alpha = 1.0 / (double)half_s;
  size_t prev_end = 0;
  for (size_t k = 0; k < plan->n_steps && r == 0; k++) {
    const Plateau *p = &pls[match[k]];
    double delta = 5.0 * fmax(p->sd_smooth, floor_smooth) + 1e-6 * fs_total;
    size_t len = p->end - p->start, w = len < half_s ? len : half_s;
    double ref_a = local_mean(sg.ts, p->start, p->start + w, p->level);
    double ref_b = local_mean(sg.ts, p->end - w, p->end, p->level);
    size_t a = prev_end;
    while (a < p->start && !(fabs(sg.ts[a] - ref_a) <= delta))
      a++;
    size_t b = p->end;
    for (; b < n; b++) {
      if (isnan(sg.ts[b]))
        continue;
      if (fabs(sg.ts[b] - ref_b) > delta)
        break;
      ref_b += alpha * (sg.ts[b] - ref_b);
    }
    spans[k].start = a;
    spans[k].end = b;
    prev_end = b;
  }
out:
  free(match);
  signal_free(&sg);
  return r;
}

/* ======================================================================================
 * Step means
 * ====================================================================================== */

#define N_BLOCKS 20

/* Averages step k over span sp into *d (see stance_calib_measure). */
static int
measure_one(const StanceRecording *rec, const StanceCalibPlan *plan, size_t k,
            const StanceCalibSpan *sp, const StanceCalibOptions *o, const double *gains,
            StanceCalibStepData *d, StanceError *err)
{
  const StanceCalibOptions opt = *o;
  const double rate = rec->sample_rate_hz;
  const size_t settle = (size_t)llround(opt.settle_s * rate);
  const size_t margin = (size_t)llround(0.1 * rate);
  const size_t min_n = (size_t)ceil(opt.min_average_s * rate);
  double fs[STANCE_N_PLATES];
  for (int pl = 0; pl < STANCE_N_PLATES; pl++)
    fs[pl] = _stance_calib_full_scale_n(plan, pl, opt.gravity_m_s2);
  char st[160], ch[48];
  memset(d, 0, sizeof *d);
  stance_calib_step_text(plan, k, &rec->calib, st, sizeof st);
  if (sp->start >= sp->end || sp->end > rec->n_samples)
    return stance_error_set(err, STANCE_ERANGE,
                            "%s: samples %zu-%zu are not a span of the recording (expected "
                            "start < end <= %zu)",
                            st, sp->start, sp->end, rec->n_samples);
  d->start = sp->start;
  d->end = sp->end;
  if (sp->end - sp->start < settle + margin + min_n)
    return stance_error_set(err, STANCE_ERANGE,
                            "%s lasts %.2f s (expected at least %.2f s: %g s to settle, then "
                            "%g s steady)",
                            st, (double)(sp->end - sp->start) / rate,
                            (double)(settle + margin + min_n) / rate, opt.settle_s,
                            opt.min_average_s);
  d->avg_start = sp->start + settle;
  d->avg_end = sp->end - margin;
  size_t len = d->avg_end - d->avg_start;

  double sum[STANCE_N_CELLS] = {0}, half[2][STANCE_N_CELLS] = {{0}};
  size_t nh[2] = {0, 0};
  double bsum[N_BLOCKS][STANCE_N_CELLS] = {{0}};
  size_t bn[N_BLOCKS] = {0};
  size_t used = 0;
  for (size_t i = d->avg_start; i < d->avg_end; i++) {
    uint16_t stw = rec->status[i];
    if (stw & STANCE_STATUS_GAP)
      continue;
    if (stw & STANCE_STATUS_SAT_MASK)
      return stance_error_set(
          err, STANCE_ERANGE,
          "%s: %s is at the ADC rail at t = %.3f s (expected readings "
          "within the ADC range: use lighter masses or check the cell)",
          st, stance_calib_channel_text(_stance_calib_railed_channel(stw), ch, sizeof ch),
          t_of(rec, i));
    size_t off = i - d->avg_start;
    int hf = off < len / 2 ? 0 : 1;
    size_t blk = off * N_BLOCKS / len;
    const int32_t *cv = &rec->counts[i * STANCE_N_CELLS];
    for (int c = 0; c < STANCE_N_CELLS; c++) {
      sum[c] += cv[c];
      half[hf][c] += cv[c];
      bsum[blk][c] += cv[c];
    }
    nh[hf]++;
    bn[blk]++;
    used++;
  }
  if (used < min_n || used * 2 < len || nh[0] == 0 || nh[1] == 0)
    return stance_error_set(err, STANCE_ENODATA,
                            "%s: %zu of %zu samples are readings, the rest gaps (expected at "
                            "least half and %g s)",
                            st, used, len, opt.min_average_s);
  d->n_used = used;
  for (int c = 0; c < STANCE_N_CELLS; c++)
    d->mean_counts[c] = sum[c] / (double)used;
  double ss[STANCE_N_CELLS] = {0};
  for (size_t i = d->avg_start; i < d->avg_end; i++) {
    if (rec->status[i] & STANCE_STATUS_GAP)
      continue;
    for (int c = 0; c < STANCE_N_CELLS; c++) {
      double e = (double)rec->counts[i * STANCE_N_CELLS + c] - d->mean_counts[c];
      ss[c] += e * e;
    }
  }
  int nb = 0;
  for (int b = 0; b < N_BLOCKS; b++)
    nb += bn[b] > 0;
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    d->sd_counts[c] = used > 1 ? sqrt(ss[c] / (double)(used - 1)) : 0.0;
    /* batch means: robust to noise correlated over less than a block (len / 20) */
    double bm_ss = 0.0;
    for (int b = 0; b < N_BLOCKS; b++)
      if (bn[b] > 0) {
        double e = bsum[b][c] / (double)bn[b] - d->mean_counts[c];
        bm_ss += e * e;
      }
    double sem_b = nb > 1 ? sqrt(bm_ss / (double)(nb - 1) / (double)nb) : 0.0;
    double sem_w = d->sd_counts[c] / sqrt((double)used);
    d->sem_counts[c] = fmax(sem_b, sem_w * 0.5); /* never below half the white-noise figure */
  }
  /* steadiness: the two halves of each plate agree within 0.1 % FS */
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    double diff = 0.0;
    for (int c = pl * STANCE_CELLS_PER_PLATE; c < (pl + 1) * STANCE_CELLS_PER_PLATE; c++)
      diff += gains[c] * (half[1][c] / (double)nh[1] - half[0][c] / (double)nh[0]);
    double lim = 0.001 * fs[pl];
    if (fabs(diff) > lim)
      return stance_error_set(err, STANCE_ERANGE,
                              "%s: the %s plate's reading moved by %.2f N between the two "
                              "halves of t = %.2f-%.2f s (expected steady within %.2f N, "
                              "0.1 %% of full scale): the mass moved or was still settling; "
                              "repeat the step",
                              st, _stance_calib_plate_name(pl), diff, t_of(rec, d->avg_start),
                              t_of(rec, d->avg_end), lim);
  }
  return STANCE_OK;
}

/* Checks the arguments shared by the measuring functions and fills opt and gains. */
static int
measure_setup(const StanceRecording *rec, const StanceCalibPlan *plan, const void *spans,
              const void *out, const StanceCalibOptions *opt_in, StanceCalibOptions *opt,
              double gains[STANCE_N_CELLS], StanceError *err)
{
  if (!rec || !plan || !spans || !out)
    return stance_error_set(err, STANCE_EINVAL, "no recording, plan, span or output given");
  int r = _stance_calib_cells_options(rec, STANCE_CALIB_EXPECT_COUNTS, opt_in, opt, err);
  if (r < 0)
    return r;
  return _stance_calib_scale_gains(rec, opt, gains, err);
}

int
stance_calib_measure_step(const StanceRecording *rec, const StanceCalibPlan *plan, size_t k,
                          const StanceCalibSpan *span, const StanceCalibOptions *opt_in,
                          StanceCalibStepData *out, StanceError *err)
{
  StanceCalibOptions opt;
  double gains[STANCE_N_CELLS];
  int r = measure_setup(rec, plan, span, out, opt_in, &opt, gains, err);
  if (r < 0)
    return r;
  if (k >= plan->n_steps)
    return stance_error_set(err, STANCE_ERANGE, "step %zu is not in the plan (expected 1 to %zu)",
                            k + 1, plan->n_steps);
  return measure_one(rec, plan, k, span, &opt, gains, out, err);
}

int
stance_calib_measure(const StanceRecording *rec, const StanceCalibPlan *plan,
                     const StanceCalibSpan *spans, const StanceCalibOptions *opt_in,
                     StanceCalibStepData *out, StanceError *err)
{
  StanceCalibOptions opt;
  double gains[STANCE_N_CELLS];
  int r = measure_setup(rec, plan, spans, out, opt_in, &opt, gains, err);
  for (size_t k = 0; k < plan->n_steps && r == 0; k++)
    r = measure_one(rec, plan, k, &spans[k], &opt, gains, &out[k], err);
  return r;
}
