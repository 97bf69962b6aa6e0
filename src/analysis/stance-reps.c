/* stance-reps.c: segmentation and metrics of dynamic strength reps: split squat, lunge, step-up,
 * single-leg squat and RDL, barbell back squat and deadlift (docs/methods.md, "Reps").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Method, in one pass family after another over the total force (all O(n)):
 *
 *  1. Smoothing for event and peak detection: a centred 20 ms moving average `s` of the total
 *     force (bad samples skipped). Rep forces change over hundreds of milliseconds, so the 20 ms
 *     average changes a rep's peak by far less than 0.01 % while it divides the sensor noise by
 *     about 4.5: a raw-sample maximum would sit 2-3 noise SDs above the true peak.
 *  2. Plateaus: stretches of at least 0.1 s where `s` stays within a range of
 *     max(4 N, 4 SDs of `s` in the weighing window) over every centred 100 ms window (the SD of
 *     the average, not of the raw force: mains hum would inflate that). Each has a level (mean
 *     force).
 *  3. Moves (squats, split stances, step-up, RDL): starting at a plateau (level L, the system
 *     weight at that moment), the COM velocity v = integral of (F - L) / m dt (m = L / g) is
 *     followed to the next plateau; a plateau reached while |v| is still large (a constant-speed
 *     cruise in a slow descent) is passed through, one reached at rest closes the group. The group
 *     starts where `s` first leaves L by the onset band (the options' onset rule, 20 N by default)
 *     stepped back to the last crossing of L, and ends symmetrically. Inside the group, the signs
 *     of v give the moves: down (eccentric, v < 0) and up (concentric, v > 0), split at the zero
 *     crossings of v (the reversal of a squat). Lobes of v below 0.05 m/s or 2 cm are noise.
 *     A plateau at another level (unrack, rerack, stepping off) that lasts at least 1 s ends
 *     the group: a load change is not a move (the flat top of a slow, fatigued rep's
 *     concentric peak can stay within the stillness range for 0.4 s).
 *  4. Deadlift: a rep is a load excursion: a stretch above body weight (by the onset band) whose
 *     impulse above body weight exceeds 0.2 BW x 1 s (the athlete's own stand-up or set-up moves
 *     stay far below that). The system weight L2 with the bar is solved so that the net impulse
 *     between liftoff and touchdown (first and last crossings of L2 around the excursions above
 *     it) is zero: the bar starts and ends at rest. Moves are then found at L2 as in 3.
 *  5. Reps: a down move followed by an up move at the same level within 4 s (squat types and
 *     RDL), or up then down (step-up and deadlift). Unpaired moves are not reps.
 *  6. Sets: consecutive reps separated by at least 8 s, by a change of the system weight, or by
 *     stepping off the plates start a new set. Barbell sets are warm-up sets when their bar load
 *     is below 95 % of the heaviest set's.
 *
 * Per rep: peak force (max of the 20 ms average) and mean force per limb and total, concentric
 * RFD ((F at the concentric peak - F at con_start) / time), load shares, time under tension,
 * phase durations, peak velocity and displacement of the concentric move, net impulse; per set:
 * the fatigue index (default: drop of the peak force above system weight from the first to the
 * last rep; also gross and by least-squares regression across all reps).
 *
 * Threads: reentrant; all state lives on the caller's stack and in buffers freed before return.
 */
#include "stance-analysis-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parameters (documented in docs/methods.md, "Reps"). */
#define REP_MA_S 0.020          /* moving average for peaks and events */
#define REP_RFD_MA_S 0.050      /* moving average for the concentric RFD */
#define REP_VERTEX_S 0.300      /* largest half window of the parabola fitted to a peak */
#define REP_VERTEX_TOP 0.2      /* ... fitted over the top 20 % of the peak's rise */
#define REP_QUIET_WIN_S 0.100   /* centred window of the stillness test */
#define REP_QUIET_MIN_N 4.0     /* stillness range floor, N */
#define REP_QUIET_SD_K 4.0      /* ... or this many SDs of the 20 ms average while weighing */
#define REP_PLATEAU_MIN_S 0.100 /* shortest plateau */
#define REP_LEVEL_CHANGE_S 1.0  /* a plateau at another level must last this long to end a group */
#define REP_V_SIG 0.05          /* m/s: slower velocity lobes are noise */
#define REP_D_SIG 0.02          /* m: smaller displacement lobes are noise */
#define REP_V_REST_REL 0.25     /* a plateau is a rest when |v| < this x the group's peak |v| */
#define REP_V_REST_MIN 0.02     /* ... or below this, m/s */
#define REP_V_MAX 4.0           /* m/s: beyond this the level is wrong (a load change) */
#define REP_MAX_HOLD_S 4.0      /* longest pause between the two moves of one rep */
#define REP_SET_GAP_S 8.0       /* a longer gap between reps starts a new set */
#define REP_WORKING_FRAC 0.95   /* barbell: working set when load >= this x heaviest */
#define REP_DL_IMPULSE_BW_S 0.2 /* deadlift excursion impulse above BW, in BW x s */
#define REP_PARTIAL_FRAC 0.7    /* a rep shallower than this x the set's median is partial */

typedef struct {
  size_t a, b; /* [a, b) */
  double level;
} Plateau;

typedef struct {
  size_t start, end; /* [start, end) */
  int dir;           /* -1 down (eccentric), +1 up (concentric) */
  double level;      /* system weight during the move, N */
  double vpk;        /* largest |v|, m/s */
  double disp;       /* integral of v, m (signed) */
  size_t rest_a;     /* the rest plateau before the move's group (for standing shares) */
  size_t rest_b;
  size_t next_a, next_b; /* the rest plateau after it */
  /* deadlift: the load excursion */
  bool dl;
  size_t x0, x1;
} Move;

typedef struct {
  size_t start, end; /* rep window, [start, end) */
  size_t tut0, tut1; /* first move's start, second move's end */
  size_t ecc0, ecc1; /* the down move */
  size_t con0, con1; /* the up move */
  double level;      /* system weight, N */
  double vpk, disp;  /* of the concentric move */
  int set;           /* 1-based */
  bool incomplete;
  /* extra events: name, index */
  const char *ev_name[4];
  size_t ev_i[4];
  int n_ev;
} Rep;

typedef struct {
  const StanceCtx *c;
  size_t n;
  double dt, rate;
  const double *F; /* total force (conditioned) */
  const uint8_t *bad;
  double *s; /* 20 ms moving average of the total */
  size_t ma_half;
  double band; /* onset band, N: what counts as a movement */
  double edge; /* edge threshold, N: where a movement starts and ends (the stillness range) */
  double bw;   /* body weight, N (0 when unknown) */
  double bw_sd;
  Plateau *pl;
  size_t n_pl, cap_pl;
  Move *mv;
  size_t n_mv, cap_mv;
  Rep *rp;
  size_t n_rp, cap_rp;
  double *v; /* velocity scratch */
  size_t cap_v;
  double *buf; /* per-rep smoothing scratch */
  size_t cap_buf;
  double *buf2;
  size_t cap_buf2;
  StanceMethod onset_method;
  bool have_onset_method;
} RCtx;

#define GROW(ptr, n, cap)                                                                          \
  do {                                                                                             \
    if ((n) >= (cap)) {                                                                            \
      size_t _nc = (cap) ? 2 * (cap) : 16;                                                         \
      void *_p = realloc((ptr), _nc * sizeof *(ptr));                                              \
      if (!_p)                                                                                     \
        return STANCE_ENOMEM;                                                                      \
      (ptr) = _p;                                                                                  \
      (cap) = _nc;                                                                                 \
    }                                                                                              \
  } while (0)

static int
ensure(double **p, size_t *cap, size_t need)
{
  if (need <= *cap)
    return STANCE_OK;
  size_t nc = *cap ? *cap : 1024;
  while (nc < need)
    nc *= 2;
  double *q = realloc(*p, nc * sizeof *q);
  if (!q)
    return STANCE_ENOMEM;
  *p = q;
  *cap = nc;
  return STANCE_OK;
}

static bool
is_bad(const RCtx *r, size_t i)
{
  return r->bad && r->bad[i];
}

#define CUBIC_U25 0.32635
#define CUBIC_U75 0.67365

/* Fractional crossing time (in samples) of y between samples i - 1 and i. */
static double
frac_cross(const double *sh, size_t base, size_t i, double y)
{
  if (i <= base)
    return (double)i;
  double y0 = sh[i - 1 - base], y1 = sh[i - base];
  return y1 != y0 ? (double)(i - 1) + (y - y0) / (y1 - y0) : (double)i;
}

/* Times (fractional samples) at which y(i) = s[i] crosses 25 % and 75 % of the way from y0 to
 * y1, scanning forward from a (fwd) or backward from b over [a, b); false when not found. */
static bool
transfer_times(const double *s, size_t a, size_t b, double y0, double y1, bool fwd, double *t25,
               double *t75)
{
  double q1 = y0 + 0.25 * (y1 - y0), q3 = y0 + 0.75 * (y1 - y0), sg = y1 >= y0 ? 1.0 : -1.0;
  if (b <= a + 2)
    return false;
  if (fwd) {
    size_t k = a + 1;
    while (k < b && (s[k] - q1) * sg < 0.0)
      k++;
    if (k >= b)
      return false;
    *t25 = frac_cross(s, 0, k, q1);
    while (k < b && (s[k] - q3) * sg < 0.0)
      k++;
    if (k >= b)
      return false;
    *t75 = frac_cross(s, 0, k, q3);
  } else {
    size_t k = b - 1;
    while (k > a + 1 && (s[k - 1] - q3) * sg >= 0.0)
      k--;
    if (k <= a + 1)
      return false;
    *t75 = frac_cross(s, 0, k, q3);
    while (k > a + 1 && (s[k - 1] - q1) * sg >= 0.0)
      k--;
    if (k <= a + 1)
      return false;
    *t25 = frac_cross(s, 0, k, q1);
  }
  return *t75 > *t25;
}

/* Time (fractional sample) of the vertex of a least-squares parabola through the good samples
 * of f around ip: a broad peak's time without the noise's pull on the arg-max. The window is
 * where the smoothed series sm (sm[i - base]) stays at or above thr (the top of the peak), at
 * least +- 10 ms and at most +- max_half, within [a, b). Falls back to ip when the fit is not a
 * maximum inside the window. */
static double
peak_vertex(const double *f, const uint8_t *bad, const double *sm, size_t base, size_t ip, size_t a,
            size_t b, double thr, size_t max_half, double rate)
{
  size_t min_half = (size_t)llround(0.010 * rate);
  size_t lo = ip, hi = ip + 1;
  while (lo > a && ip - lo < max_half && (ip - lo < min_half || sm[lo - 1 - base] >= thr))
    lo--;
  while (hi < b && hi - ip <= max_half && (hi - ip <= min_half || sm[hi - base] >= thr))
    hi++;
  double S[5] = {0, 0, 0, 0, 0}, T[3] = {0, 0, 0};
  for (size_t i = lo; i < hi; i++) {
    if (bad && bad[i])
      continue;
    double x = (double)i - (double)ip, x2 = x * x, y = f[i];
    S[0] += 1;
    S[1] += x;
    S[2] += x2;
    S[3] += x2 * x;
    S[4] += x2 * x2;
    T[0] += y;
    T[1] += x * y;
    T[2] += x2 * y;
  }
  /* Normal equations for y = c0 + c1 x + c2 x^2 (Cramer's rule). */
  double m[3][3] = {{S[0], S[1], S[2]}, {S[1], S[2], S[3]}, {S[2], S[3], S[4]}};
  double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
               m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  if (S[0] < 5 || fabs(det) < 1e-12)
    return (double)ip;
  double d1 = T[0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
              m[0][1] * (T[1] * m[2][2] - m[1][2] * T[2]) +
              m[0][2] * (T[1] * m[2][1] - m[1][1] * T[2]);
  double d2 = m[0][0] * (T[1] * m[2][2] - m[1][2] * T[2]) -
              T[0] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
              m[0][2] * (m[1][0] * T[2] - T[1] * m[2][0]);
  double d3 = m[0][0] * (m[1][1] * T[2] - T[1] * m[2][1]) -
              m[0][1] * (m[1][0] * T[2] - T[1] * m[2][0]) +
              T[0] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  (void)d1;
  double c1 = d2 / det, c2 = d3 / det;
  if (!(c2 < 0.0))
    return (double)ip;
  double xv = -c1 / (2.0 * c2);
  if (!(xv >= (double)lo - (double)ip && xv <= (double)hi - 1.0 - (double)ip))
    return (double)ip;
  return (double)ip + xv;
}

/* Centred moving average of f over [i - half, i + half] for i in [a, b), good samples only, into
 * out[i - a]. A window without a good sample repeats the previous value (or f[i]). O(b - a). */
static void
moving_average(const double *f, const uint8_t *bad, size_t n, size_t half, size_t a, size_t b,
               double *out)
{
  double sum = 0.0;
  size_t cnt = 0;
  size_t lo = a > half ? a - half : 0, hi = lo; /* window [lo, hi) */
  double prev = f[a];
  for (size_t i = a; i < b; i++) {
    size_t want_lo = i > half ? i - half : 0;
    size_t want_hi = i + half + 1 < n ? i + half + 1 : n;
    while (hi < want_hi) {
      if (!(bad && bad[hi])) {
        sum += f[hi];
        cnt++;
      }
      hi++;
    }
    while (lo < want_lo) {
      if (!(bad && bad[lo])) {
        sum -= f[lo];
        cnt--;
      }
      lo++;
    }
    double v = cnt ? sum / (double)cnt : prev;
    out[i - a] = v;
    prev = v;
  }
}

/* ---- Plateaus: sliding range of s over a centred window, by monotonic deques ---- */

static int
find_plateaus(RCtx *r)
{
  size_t n = r->n, h = (size_t)llround(0.5 * REP_QUIET_WIN_S * r->rate);
  if (h < 1)
    h = 1;
  double qthr = r->edge;
  size_t min_len = (size_t)llround(REP_PLATEAU_MIN_S * r->rate);
  if (min_len < 2)
    min_len = 2;
  size_t w = 2 * h + 2;
  size_t *dmax = malloc(w * sizeof *dmax), *dmin = malloc(w * sizeof *dmin);
  if (!dmax || !dmin) {
    free(dmax);
    free(dmin);
    return STANCE_ENOMEM;
  }
  /* Ring deques of indices; window for centre i is [i - h, i + h]. */
  size_t mx_h = 0, mx_n = 0, mn_h = 0, mn_n = 0;
  size_t next = 0;            /* next index to push */
  size_t last_bad = SIZE_MAX; /* most recent bad index pushed */
  size_t run_a = 0;
  bool in_run = false;
  const double *s = r->s;
  for (size_t i = 0; i <= n; i++) {
    bool quiet = false;
    if (i < n) {
      size_t want = i + h + 1 < n ? i + h + 1 : n;
      while (next < want) {
        if (is_bad(r, next))
          last_bad = next;
        while (mx_n && s[dmax[(mx_h + mx_n - 1) % w]] <= s[next])
          mx_n--;
        dmax[(mx_h + mx_n) % w] = next;
        mx_n++;
        while (mn_n && s[dmin[(mn_h + mn_n - 1) % w]] >= s[next])
          mn_n--;
        dmin[(mn_h + mn_n) % w] = next;
        mn_n++;
        next++;
      }
      size_t lo = i > h ? i - h : 0;
      while (mx_n && dmax[mx_h] < lo) {
        mx_h = (mx_h + 1) % w;
        mx_n--;
      }
      while (mn_n && dmin[mn_h] < lo) {
        mn_h = (mn_h + 1) % w;
        mn_n--;
      }
      bool bad_in = last_bad != SIZE_MAX && last_bad >= lo;
      quiet = !bad_in && mx_n && mn_n && s[dmax[mx_h]] - s[dmin[mn_h]] <= qthr;
    }
    if (quiet && !in_run) {
      in_run = true;
      run_a = i;
    } else if (!quiet && in_run) {
      in_run = false;
      if (i - run_a >= min_len) {
        if (r->n_pl >= r->cap_pl) {
          size_t nc = r->cap_pl ? 2 * r->cap_pl : 64;
          Plateau *p = realloc(r->pl, nc * sizeof *p);
          if (!p) {
            free(dmax);
            free(dmin);
            return STANCE_ENOMEM;
          }
          r->pl = p;
          r->cap_pl = nc;
        }
        double sum = 0.0;
        size_t cnt = 0;
        for (size_t k = run_a; k < i; k++)
          if (!is_bad(r, k)) {
            sum += r->F[k];
            cnt++;
          }
        r->pl[r->n_pl++] = (Plateau){run_a, i, cnt ? sum / (double)cnt : s[run_a]};
      }
    }
  }
  free(dmax);
  free(dmin);
  return STANCE_OK;
}

/* ---- Crossings ---- */

/* From k, where s[k] - L is non-zero, walks back while the sign stays (not before lo); returns
 * the first index of that run: the sample just after the crossing of L. */
static size_t
back_to_crossing(const double *s, double L, size_t k, size_t lo)
{
  double sg = s[k] - L >= 0.0 ? 1.0 : -1.0;
  size_t i = k;
  while (i > lo && (s[i - 1] - L) * sg > 0.0)
    i--;
  return i;
}

/* From k, walks forward while the sign of s - L stays (before hi); returns the exclusive end. */
static size_t
fwd_to_crossing(const double *s, double L, size_t k, size_t hi)
{
  double sg = s[k] - L >= 0.0 ? 1.0 : -1.0;
  size_t i = k;
  while (i + 1 < hi && (s[i + 1] - L) * sg > 0.0)
    i++;
  return i + 1;
}

/* Start of a departure from level L that first exceeds the band at k0: the line through the
 * samples where the deviation last fell to EXTRAP_HI and EXTRAP_LO of that of k0 (5 N and 2 N
 * for the default 20 N band, 7 noise SDs of the 20 ms average and more), extrapolated back to
 * zero deviation (never before lo). Rep forces leave the weight with a finite slope (the
 * acceleration of a move starts from zero), so the line lands on the true start: the low points
 * keep the curvature of a small lobe (an RDL's braking peaks near 30 N) from biasing it; a bias
 * of the level by d newtons moves it by only d / slope, where the zero crossing of a noisy,
 * slightly biased level could wander by tens of milliseconds. */
#define EXTRAP_HI 0.25
#define EXTRAP_LO 0.10

static size_t
extrap_start_frac(const double *s, double L, size_t k0, size_t lo, double fhi, double flo)
{
  double d0 = fabs(s[k0] - L);
  size_t kh = k0;
  while (kh > lo && fabs(s[kh] - L) > fhi * d0)
    kh--;
  size_t kq = kh;
  while (kq > lo && fabs(s[kq] - L) > flo * d0)
    kq--;
  double dh = fabs(s[kh] - L), dq = fabs(s[kq] - L);
  if (kq >= kh || dh <= dq)
    return kq;
  double slope = (dh - dq) / (double)(kh - kq); /* N per sample */
  double back = dq / slope;
  return back >= (double)(kq - lo) ? lo : kq - (size_t)llround(back);
}

/* End of a return to level L whose last sample beyond the band is k1: the mirror of
 * extrap_start; returns the exclusive end (never beyond hi). */
static size_t
extrap_end_frac(const double *s, double L, size_t k1, size_t hi, double fhi, double flo)
{
  double d1 = fabs(s[k1] - L);
  size_t kh = k1;
  while (kh + 1 < hi && fabs(s[kh] - L) > fhi * d1)
    kh++;
  size_t kq = kh;
  while (kq + 1 < hi && fabs(s[kq] - L) > flo * d1)
    kq++;
  double dh = fabs(s[kh] - L), dq = fabs(s[kq] - L);
  if (kq <= kh || dh <= dq)
    return kq + 1;
  double slope = (dh - dq) / (double)(kq - kh);
  size_t e = kq + (size_t)llround(dq / slope) + 1;
  return e > hi ? hi : e;
}

static size_t
extrap_start(const double *s, double L, size_t k0, size_t lo)
{
  return extrap_start_frac(s, L, k0, lo, EXTRAP_HI, EXTRAP_LO);
}

static size_t
extrap_end(const double *s, double L, size_t k1, size_t hi)
{
  return extrap_end_frac(s, L, k1, hi, EXTRAP_HI, EXTRAP_LO);
}

/* First index in [from, to) where |s - L| > band (bad samples skipped), by the onset helper. */
static bool
departure(RCtx *r, size_t from, size_t to, double L, size_t *k)
{
  StanceMethod m;
  memset(&m, 0, sizeof m);
  /* The step-back of the BW +- k SD rule is replaced by the crossing step-back below. */
  bool ok = stance_ev_onset(r->c, r->s, from, to, L, r->bw_sd, 0, k, &m);
  if (!r->have_onset_method) {
    r->onset_method = m;
    r->have_onset_method = true;
  }
  if (ok && m.n_params > 0) {
    for (int p = 0; p < m.n_params; p++)
      if (!strcmp(m.params[p].key, "band_n"))
        r->band = m.params[p].num;
  }
  if (!ok)
    return false;
  /* stance_ev_onset may have stepped back (BW +- k SD rule with a step-back): find the hit. */
  while (*k < to && fabs(r->s[*k] - L) <= r->band)
    (*k)++;
  return *k < to;
}

/* First / last index in [from, to) where |s - L| > thr; false when none. */
static bool
first_active(const RCtx *r, size_t from, size_t to, double L, double thr, size_t *k)
{
  for (size_t i = from; i < to; i++)
    if (!is_bad(r, i) && fabs(r->s[i] - L) > thr) {
      *k = i;
      return true;
    }
  return false;
}

static bool
last_active(const RCtx *r, size_t from, size_t to, double L, double thr, size_t *k)
{
  for (size_t i = to; i > from; i--)
    if (!is_bad(r, i - 1) && fabs(r->s[i - 1] - L) > thr) {
      *k = i - 1;
      return true;
    }
  return false;
}

/* Velocity of the COM over [a, b) at level L: v[i - a], v[0] = 0; returns false when the level
 * is implausible (|v| beyond REP_V_MAX). */
static int
integrate_v(RCtx *r, size_t a, size_t b, double L, bool *plausible)
{
  int rc = ensure(&r->v, &r->cap_v, b - a + 1);
  if (rc)
    return rc;
  double m = L / r->c->g, k = r->dt / m, v = 0.0;
  *plausible = true;
  for (size_t i = a; i < b; i++) {
    r->v[i - a] = v;
    double f = is_bad(r, i) ? r->s[i] : r->F[i];
    v += (f - L) * k;
    if (fabs(v) > REP_V_MAX)
      *plausible = false;
  }
  r->v[b - a] = v;
  return STANCE_OK;
}

/* Splits the group [a, b) (velocity in r->v from a0) into moves at level L. */
static int
group_moves(RCtx *r, size_t a0, size_t a, size_t b, double L, size_t rest_a, size_t rest_b,
            size_t next_a, size_t next_b)
{
  if (b <= a + 2)
    return STANCE_OK;
  const double *v = r->v;
  double v0 = v[a - a0];
  /* Raw sign segments of v - v0. */
  typedef struct {
    size_t a, b, ipk; /* raw sign segment [a, b), index of its largest |v| */
    int sg;
    double pk, disp;
  } Seg;
  Seg kept[64];
  int nk = 0;
  size_t sa = a, ipk = a;
  int sg = 0;
  double pk = 0.0, disp = 0.0;
  for (size_t i = a; i <= b; i++) {
    double x = i < b ? v[i - a0] - v0 : 0.0;
    int si = x > 0.0 ? 1 : (x < 0.0 ? -1 : sg);
    if (i == b || (si != sg && sg != 0)) {
      if (sg != 0 && pk >= REP_V_SIG && fabs(disp) >= REP_D_SIG) {
        if (nk > 0 && kept[nk - 1].sg == sg) {
          kept[nk - 1].b = i;
          if (pk > kept[nk - 1].pk) {
            kept[nk - 1].pk = pk;
            kept[nk - 1].ipk = ipk;
          }
          kept[nk - 1].disp += disp;
        } else if (nk < 64) {
          kept[nk++] = (Seg){sa, i, ipk, sg, pk, disp};
        }
      } else if (nk > 0 && sg != 0 && kept[nk - 1].sg == sg) {
        kept[nk - 1].b = i; /* a noise flicker of the same sign: part of that lobe */
        kept[nk - 1].disp += disp;
      }
      sa = i;
      pk = 0.0;
      disp = 0.0;
    }
    if (i < b) {
      sg = si;
      if (fabs(x) > pk) {
        pk = fabs(x);
        ipk = i;
      }
      disp += x * r->dt;
    }
  }
  /* Boundaries between consecutive moves: a reversal (the zero crossing of v, where the force
   * stays beyond the band: a squat's bottom) or a pause (the force within the band for at least
   * 50 ms around it: a deadlift's lockout), whose edges are found like a group's. */
  size_t ends[64], starts[64];
  size_t min_pause = (size_t)llround(0.05 * r->rate);
  for (int k = 0; k + 1 < nk; k++) {
    /* The pause: the longest stretch within the band between the two lobes' fastest moments
     * where the body is also at rest (|v| small: a constant-speed cruise or the moment of
     * fastest movement is within the band too, but moving). */
    size_t bnd = kept[k + 1].a, p0 = bnd, p1 = bnd, best = 0;
    double vrest = fmax(REP_V_REST_MIN, REP_V_REST_REL * fmin(kept[k].pk, kept[k + 1].pk));
    for (size_t i = kept[k].ipk; i < kept[k + 1].ipk;) {
      if (fabs(r->s[i] - L) > r->band) {
        i++;
        continue;
      }
      size_t j = i;
      while (j < kept[k + 1].ipk && fabs(r->s[j] - L) <= r->band)
        j++;
      size_t mid = i + (j - i) / 2;
      if (j - i > best && fabs(v[mid - a0] - v0) < vrest) {
        best = j - i;
        p0 = i;
        p1 = j;
      }
      i = j;
    }
    if (best >= min_pause && p0 > kept[k].ipk && p1 < kept[k + 1].ipk) {
      ends[k] = extrap_end(r->s, L, p0 - 1, p1);
      starts[k + 1] = extrap_start(r->s, L, p1, p0);
      if (starts[k + 1] < ends[k])
        starts[k + 1] = ends[k] = bnd;
    } else {
      ends[k] = starts[k + 1] = bnd;
    }
  }
  for (int k = 0; k < nk; k++) {
    GROW(r->mv, r->n_mv, r->cap_mv);
    Move *m = &r->mv[r->n_mv++];
    memset(m, 0, sizeof *m);
    m->start = k == 0 ? a : starts[k];
    m->end = k + 1 == nk ? b : ends[k];
    m->dir = kept[k].sg;
    m->level = L;
    m->vpk = kept[k].pk;
    m->disp = 0.0;
    for (size_t i = m->start; i < m->end; i++)
      m->disp += (v[i - a0] - v0) * r->dt;
    m->rest_a = rest_a;
    m->rest_b = rest_b;
    m->next_a = next_a;
    m->next_b = next_b;
  }
  return STANCE_OK;
}

/* Level tolerance for "the same system weight". */
static double
level_tol(double L)
{
  return fmax(15.0, 0.03 * fabs(L));
}

/* Squats, split stances, step-up, RDL, back squat: moves between rest plateaus. */
static int
find_moves(RCtx *r)
{
  size_t lc_len = (size_t)llround(REP_LEVEL_CHANGE_S * r->rate);
  double load_min = r->bw > 0.0 ? 0.5 * r->bw : 200.0;
  size_t cur = 0;
  while (cur < r->n_pl && r->pl[cur].level < load_min)
    cur++;
  while (cur + 1 < r->n_pl) {
    const Plateau *P = &r->pl[cur];
    double L = P->level;
    size_t g0 = P->b;
    size_t j = cur + 1;
    size_t next = r->n_pl; /* the plateau that closes the group */
    bool shift = false;
    while (j < r->n_pl) {
      const Plateau *Q = &r->pl[j];
      /* A rest is still at the system weight: within 2 edge thresholds (8 N by default) or 1 %;
       * a slow rep's flat speed-up dip (-18 N for 0.4 s) must not pass for one. A load change
       * is a still level beyond the same-level tolerance (15 N or 3 %) for at least 1 s; the
       * flat top of a slow, fatigued rep (+9 N for 2 s) is neither. */
      double dl = fabs(Q->level - L);
      if (dl > level_tol(L) && Q->b - Q->a >= lc_len) {
        shift = true;
        next = j;
        break;
      }
      if (dl > fmax(2.0 * r->edge, 0.01 * fabs(L))) {
        j++; /* a still moment away from the level: inside a move */
        continue;
      }
      bool ok;
      int rc = integrate_v(r, g0, Q->a, L, &ok);
      if (rc)
        return rc;
      if (!ok) {
        shift = true;
        next = j;
        break;
      }
      double vmax = 0.0;
      for (size_t i = g0; i <= Q->a; i++)
        vmax = fmax(vmax, fabs(r->v[i - g0]));
      double vend = fabs(r->v[Q->a - g0]);
      if (vend < fmax(REP_V_REST_MIN, REP_V_REST_REL * vmax)) {
        next = j;
        break;
      }
      j++; /* moving through a constant-speed stretch */
    }
    if (next >= r->n_pl)
      break; /* the recording ends moving: an incomplete move is not analysed */
    if (!shift && L >= load_min) {
      const Plateau *Q = &r->pl[next];
      size_t k0, k1;
      if (departure(r, g0, Q->a, L, &k0) && last_active(r, k0, Q->a, L, r->band, &k1)) {
        size_t a = extrap_start(r->s, L, k0, P->a);
        size_t b = extrap_end(r->s, L, k1, Q->b);
        /* A slow rep can swing by less than the band in its first or last lobe (the speed-up
         * of a 5 s descent): when the force already left the stillness range before the
         * band-crossing lobe's own start (or after its end), that lobe sets the edge, timed by
         * the same extrapolation from its own edge crossing. */
        size_t ke;
        if (first_active(r, g0, a, L, r->edge, &ke))
          a = extrap_start_frac(r->s, L, ke, P->a, 0.75, 0.4);
        if (b < Q->a && last_active(r, b, Q->a, L, r->edge, &ke))
          b = extrap_end_frac(r->s, L, ke, Q->b, 0.75, 0.4);
        bool ok;
        int rc = integrate_v(r, a, b, L, &ok);
        if (rc)
          return rc;
        if (ok) {
          rc = group_moves(r, a, a, b, L, P->a, P->b, Q->a, Q->b);
          if (rc)
            return rc;
        }
      }
    }
    cur = next;
  }
  return STANCE_OK;
}

/* Deadlift: load excursions above body weight, the system weight solved for zero net impulse
 * between liftoff and touchdown, and the moves at that level. */
static int
find_deadlift(RCtx *r)
{
  double bw = r->bw;
  if (!(bw > 0.0)) {
    /* Lowest loaded plateau. */
    bw = INFINITY;
    for (size_t k = 0; k < r->n_pl; k++)
      if (r->pl[k].level > 200.0)
        bw = fmin(bw, r->pl[k].level);
    if (!isfinite(bw))
      return STANCE_OK;
    r->bw = bw;
  }
  double jmin = REP_DL_IMPULSE_BW_S * bw;
  size_t i = 0, n = r->n;
  size_t merge = (size_t)llround(0.2 * r->rate);
  size_t prev_x1 = 0;
  while (i < n) {
    size_t k0;
    if (!departure(r, i, n, bw, &k0))
      break;
    if (r->s[k0] < bw) {
      i = k0 + 1;
      continue;
    }
    /* The excursion: above bw + band, gaps shorter than 0.2 s merged. */
    size_t e = k0;
    size_t last = k0;
    while (e < n) {
      if (r->s[e] - bw > r->band)
        last = e;
      else if (e - last > merge)
        break;
      e++;
    }
    size_t x0 = extrap_start(r->s, bw, k0, prev_x1);
    size_t x1 = extrap_end(r->s, bw, last, n);
    i = x1 > k0 ? x1 : k0 + 1;
    prev_x1 = x1;
    double J = stance_curve_integral(r->F, x0, x1, bw, r->dt);
    if (J < jmin || x1 >= n || x0 == 0)
      continue;
    /* System weight: start at the mean of the middle half, iterate to zero net impulse. */
    size_t q = (x1 - x0) / 4;
    double sum = 0.0;
    for (size_t k = x0 + q; k < x1 - q; k++)
      sum += r->s[k];
    double L2 = sum / (double)(x1 - x0 - 2 * q);
    size_t lo = 0, hi = 0;
    bool ok = false;
    for (int it = 0; it < 30; it++) {
      size_t a1 = x1, b1 = x0;
      for (size_t k = x0; k < x1; k++)
        if (r->s[k] - L2 > r->band) {
          a1 = k;
          break;
        }
      for (size_t k = x1; k > x0; k--)
        if (r->s[k - 1] - L2 > r->band) {
          b1 = k - 1;
          break;
        }
      if (a1 >= b1) {
        ok = false;
        break;
      }
      lo = back_to_crossing(r->s, L2, a1, x0);
      hi = fwd_to_crossing(r->s, L2, b1, x1);
      double mean = 0.0;
      size_t cnt = 0;
      for (size_t k = lo; k < hi; k++)
        if (!is_bad(r, k)) {
          mean += r->F[k];
          cnt++;
        }
      if (!cnt)
        break;
      mean /= (double)cnt;
      ok = true;
      if (fabs(mean - L2) < 1e-3) {
        L2 = mean;
        break;
      }
      L2 = mean;
    }
    if (!ok)
      continue;
    /* The tension ramp and the release are smooth load changes with flat ends: time them by
     * the cubic transfer fit (25 % / 75 % crossings) rather than by the band. */
    double t25, t75;
    if (transfer_times(r->s, x0, lo, bw, L2, true, &t25, &t75)) {
      double span = (t75 - t25) / (CUBIC_U75 - CUBIC_U25), st = t25 - CUBIC_U25 * span;
      if (st >= (double)prev_x1 && st < (double)lo)
        x0 = (size_t)llround(st);
    }
    if (transfer_times(r->s, hi, x1, L2, bw, false, &t25, &t75)) {
      double span = (t75 - t25) / (CUBIC_U75 - CUBIC_U25), en = t25 - CUBIC_U25 * span + span;
      if (en > (double)hi && en <= (double)n)
        x1 = (size_t)llround(en);
    }
    bool plaus;
    int rc = integrate_v(r, lo, hi, L2, &plaus);
    if (rc)
      return rc;
    size_t first = r->n_mv;
    rc = group_moves(r, lo, lo, hi, L2, x0, x0, x1, x1);
    if (rc)
      return rc;
    for (size_t k = first; k < r->n_mv; k++) {
      r->mv[k].dl = true;
      r->mv[k].x0 = x0;
      r->mv[k].x1 = x1;
    }
  }
  return STANCE_OK;
}

/* ---- Reps from moves ---- */

static bool
rise_first(StanceProtocol p)
{
  return p == STANCE_PROTO_STEP_UP || p == STANCE_PROTO_DEADLIFT;
}

/* Step-up: the rep runs from the start of the weight transfer onto the stepping leg to the end of
 * the transfer back. The trailing plate's share of the total falls from its standing share ss to
 * 0 (and rises back after the step down) along a smooth S-shaped transfer whose ends, with zero
 * slope, cannot be timed by a threshold. The times where 25 % and 75 % of the transfer are done
 * are clean crossings; a cubic transfer S(u) = 3u^2 - 2u^3 reaches them at u = 0.3264 and
 * 0.6736, so span = (t75 - t25) / 0.3472 and the transfer starts at t25 - 0.3264 span. ss is the
 * mean share of the still stretch next to the rep within 0.02 of its largest (the standing
 * share, not the moments of the transfer itself). Events: trail_off (end of the first transfer:
 * the trailing foot leaves) and trail_on (start of the transfer back: it lands). */
static double
standing_share(const RCtx *r, const double *ft, size_t pa, size_t pb)
{
  double mx = -1.0;
  for (size_t i = pa; i < pb; i++)
    if (!is_bad(r, i) && r->s[i] > 1.0)
      mx = fmax(mx, ft[i] / r->F[i]);
  double sum = 0.0;
  size_t cnt = 0;
  for (size_t i = pa; i < pb; i++)
    if (!is_bad(r, i) && r->F[i] > 1.0 && ft[i] / r->F[i] >= mx - 0.02) {
      sum += ft[i] / r->F[i];
      cnt++;
    }
  return cnt ? sum / (double)cnt : NAN;
}

static void
step_up_bounds(RCtx *r, Rep *rp, const Move *up, const Move *down, int tp)
{
  const StanceCtx *c = r->c;
  const double *ft = c->f[tp];
  if (!ft)
    return;
  /* Leaving: [rest before, end of the rise), scanned backwards from the rise. */
  double ss = standing_share(r, ft, up->rest_a, up->rest_b);
  size_t a = up->rest_a, b = up->end;
  if (isfinite(ss) && ss > 0.05 && b > a + 2 && ensure(&r->buf, &r->cap_buf, b - a) == 0) {
    moving_average(ft, r->bad, r->n, r->ma_half, a, b, r->buf);
    for (size_t i = a; i < b; i++)
      r->buf[i - a] /= fmax(r->s[i], 1.0);
    size_t k = b - 1;
    while (k > a + 1 && r->buf[k - 1 - a] < 0.25 * ss)
      k--;
    double t75 = frac_cross(r->buf, a, k, 0.25 * ss);
    while (k > a + 1 && r->buf[k - 1 - a] < 0.75 * ss)
      k--;
    double t25 = frac_cross(r->buf, a, k, 0.75 * ss);
    if (k > a + 1 && t75 > t25) {
      double span = (t75 - t25) / (CUBIC_U75 - CUBIC_U25);
      double st = t25 - CUBIC_U25 * span;
      if (st >= (double)a && st < (double)up->start) {
        rp->start = (size_t)llround(st);
        rp->ev_name[rp->n_ev] = "trail_off";
        rp->ev_i[rp->n_ev++] = (size_t)llround(st + span);
      }
    }
  }
  /* Returning: [start of the step down, end of the rest after), scanned forwards. */
  ss = standing_share(r, ft, down->next_a, down->next_b);
  a = down->start;
  b = down->next_b;
  if (isfinite(ss) && ss > 0.05 && b > a + 2 && ensure(&r->buf, &r->cap_buf, b - a) == 0) {
    moving_average(ft, r->bad, r->n, r->ma_half, a, b, r->buf);
    for (size_t i = a; i < b; i++)
      r->buf[i - a] /= fmax(r->s[i], 1.0);
    size_t k = a + 1;
    while (k < b && r->buf[k - a] < 0.25 * ss)
      k++;
    double t25 = frac_cross(r->buf, a, k, 0.25 * ss);
    while (k < b && r->buf[k - a] < 0.75 * ss)
      k++;
    double t75 = frac_cross(r->buf, a, k, 0.75 * ss);
    if (k < b && t75 > t25) {
      double span = (t75 - t25) / (CUBIC_U75 - CUBIC_U25);
      double on = t25 - CUBIC_U25 * span, en = on + span;
      if (on >= (double)a && en > (double)down->end && en <= (double)r->n) {
        rp->ev_name[rp->n_ev] = "trail_on";
        rp->ev_i[rp->n_ev++] = (size_t)llround(on);
        rp->end = (size_t)llround(en);
      }
    }
  }
}

/* Lunge: the front foot's share of the total rises from 0 to its working share sf after the
 * step and falls back to 0 before the return, both as smooth transfers timed by the same cubic
 * fit from their 25 % and 75 % crossings as the step-up (sf: mean of the rep's shares within
 * 0.02 of their largest). front_on is the start of the rise, front_off the end of the fall. */
static void
lunge_contact(RCtx *r, Rep *rp, int fp)
{
  const double *ff = r->c->f[fp];
  size_t a = rp->start, b = rp->end;
  if (!ff || b <= a + 4 || ensure(&r->buf, &r->cap_buf, b - a) != STANCE_OK)
    return;
  moving_average(ff, r->bad, r->n, r->ma_half, a, b, r->buf);
  double mx = 0.0;
  for (size_t i = a; i < b; i++) {
    r->buf[i - a] /= fmax(r->s[i], 1.0);
    mx = fmax(mx, r->buf[i - a]);
  }
  double sum = 0.0;
  size_t cnt = 0;
  for (size_t i = a; i < b; i++)
    if (r->buf[i - a] >= mx - 0.02) {
      sum += r->buf[i - a];
      cnt++;
    }
  if (!cnt || mx < 0.05)
    return;
  double sf = sum / (double)cnt;
  size_t k = a + 1;
  while (k < b && r->buf[k - a] < 0.25 * sf)
    k++;
  double t25 = frac_cross(r->buf, a, k, 0.25 * sf);
  while (k < b && r->buf[k - a] < 0.75 * sf)
    k++;
  double t75 = frac_cross(r->buf, a, k, 0.75 * sf);
  if (k >= b || !(t75 > t25))
    return;
  double span = (t75 - t25) / (CUBIC_U75 - CUBIC_U25);
  double on = t25 - CUBIC_U25 * span;
  if (on < (double)a)
    on = (double)a;
  rp->ev_name[rp->n_ev] = "front_on";
  rp->ev_i[rp->n_ev++] = (size_t)llround(on);
  k = b - 1;
  while (k > a + 1 && r->buf[k - 1 - a] < 0.25 * sf)
    k--;
  double u75 = frac_cross(r->buf, a, k, 0.25 * sf);
  while (k > a + 1 && r->buf[k - 1 - a] < 0.75 * sf)
    k--;
  double u25 = frac_cross(r->buf, a, k, 0.75 * sf);
  if (!(u75 > u25) || u25 <= on)
    return;
  span = (u75 - u25) / (CUBIC_U75 - CUBIC_U25);
  double off = u25 - CUBIC_U25 * span + span;
  if (off > (double)b)
    off = (double)b;
  rp->ev_name[rp->n_ev] = "front_off";
  rp->ev_i[rp->n_ev++] = (size_t)llround(off);
}

static int
side_plate(StanceSide s)
{
  return s == STANCE_SIDE_RIGHT ? 1 : 0;
}

static int
pair_reps(RCtx *r, StanceSide side)
{
  const StanceCtx *c = r->c;
  bool rf = rise_first(c->protocol);
  int first_dir = rf ? 1 : -1;
  size_t max_hold = (size_t)llround(REP_MAX_HOLD_S * r->rate);
  int fp = side_plate(side), op = 1 - fp;
  for (size_t k = 0; k + 1 < r->n_mv; k++) {
    const Move *m1 = &r->mv[k], *m2 = &r->mv[k + 1];
    if (m1->dir != first_dir || m2->dir != -first_dir)
      continue;
    if (m2->start < m1->end || m2->start - m1->end > max_hold)
      continue;
    if (fabs(m1->level - m2->level) > level_tol(m1->level))
      continue;
    if (m1->dl != m2->dl || (m1->dl && m1->x0 != m2->x0))
      continue;
    GROW(r->rp, r->n_rp, r->cap_rp);
    Rep *rp = &r->rp[r->n_rp++];
    memset(rp, 0, sizeof *rp);
    const Move *dn = rf ? m2 : m1, *up = rf ? m1 : m2;
    rp->tut0 = m1->start;
    rp->tut1 = m2->end;
    rp->start = m1->start;
    rp->end = m2->end;
    rp->ecc0 = dn->start;
    rp->ecc1 = dn->end;
    rp->con0 = up->start;
    rp->con1 = up->end;
    rp->level = 0.5 * (m1->level + m2->level);
    rp->vpk = up->vpk;
    rp->disp = up->disp;
    if (m1->dl) {
      rp->start = m1->x0;
      rp->end = m1->x1;
      rp->ev_name[rp->n_ev] = "liftoff";
      rp->ev_i[rp->n_ev++] = m1->start;
      rp->ev_name[rp->n_ev] = "touchdown";
      rp->ev_i[rp->n_ev++] = m2->end;
    }
    if (c->protocol == STANCE_PROTO_STEP_UP && c->has_limbs) {
      step_up_bounds(r, rp, up, dn, op);
    }
    if (c->protocol == STANCE_PROTO_LUNGE && c->has_limbs)
      lunge_contact(r, rp, fp);
    rp->incomplete = rp->start == 0 || rp->end >= r->n;
    k++; /* both moves used */
  }
  return STANCE_OK;
}

/* ---- Sets ---- */

typedef struct {
  size_t first, n; /* reps [first, first + n) */
  double level;    /* mean system weight of its reps */
  double bar_kg;   /* barbell: (level - bw) / g */
  bool warmup;
} Set;

/* Is there an unloaded plateau between a and b? */
static bool
off_between(const RCtx *r, size_t a, size_t b, double load_min)
{
  for (size_t k = 0; k < r->n_pl; k++)
    if (r->pl[k].a >= a && r->pl[k].b <= b && r->pl[k].level < load_min)
      return true;
  return false;
}

/* ---- Metrics ---- */

static void
method_common(RCtx *r, StanceMethod *m)
{
  stance_method_param_num(m, "ma_s", REP_MA_S);
  (void)r;
}

typedef struct {
  double pk[3], mean[3], rfd[3];
  bool has[3];
} RepVals;

/* Peak (20 ms average), mean (raw) and concentric RFD of one series over the rep. */
static int
series_vals(RCtx *r, const double *f, const Rep *rp, double *pk, double *mean, double *rfd)
{
  size_t a = rp->start, b = rp->end;
  int rc = ensure(&r->buf, &r->cap_buf, b - a);
  if (rc)
    return rc;
  moving_average(f, r->bad, r->n, r->ma_half, a, b, r->buf);
  double mx = -INFINITY, sum = 0.0;
  size_t cnt = 0;
  for (size_t i = a; i < b; i++) {
    mx = fmax(mx, r->buf[i - a]);
    if (!is_bad(r, i)) {
      sum += f[i];
      cnt++;
    }
  }
  *pk = mx;
  *mean = cnt ? sum / (double)cnt : NAN;
  size_t c0 = rp->con0 > a ? rp->con0 : a, c1 = rp->con1 < b ? rp->con1 : b;
  *rfd = NAN;
  if (c1 > c0) {
    /* The concentric peak is broad and the rise from con_start small (tens of newtons in a
     * squat), so its time is found on a wider average (REP_RFD_MA_S) to keep the noise from
     * moving it. */
    int rc2 = ensure(&r->buf2, &r->cap_buf2, c1 - c0);
    if (rc2)
      return rc2;
    moving_average(f, r->bad, r->n, (size_t)llround(0.5 * REP_RFD_MA_S * r->rate), c0, c1, r->buf2);
    size_t ip = c0;
    for (size_t i = c0; i < c1; i++)
      if (r->buf2[i - c0] > r->buf2[ip - c0])
        ip = i;
    double fpk = -INFINITY;
    for (size_t i = c0; i < c1; i++)
      fpk = fmax(fpk, r->buf[i - a]);
    double thr = fpk - REP_VERTEX_TOP * (fpk - r->buf[c0 - a]);
    double tv = ip > c0 ? peak_vertex(f, r->bad, r->buf2, c0, ip, c0, c1, thr,
                                      (size_t)llround(REP_VERTEX_S * r->rate), r->rate)
                        : (double)c0;
    *rfd = tv > (double)c0 ? (fpk - r->buf[c0 - a]) / ((tv - (double)c0) * r->dt) : 0.0;
  }
  return STANCE_OK;
}

static void
set_or_absent(StanceMetric *m, StanceSel sel, double v, const char *why)
{
  if (isfinite(v))
    stance_metric_set(m, sel, v);
  else
    stance_metric_absent(m, sel, "%s", why);
}

static int
rep_trial(RCtx *r, const Rep *rp, const Set *st, StanceSide side, bool unilateral, bool barbell,
          double median_disp, RepVals *out)
{
  const StanceCtx *c = r->c;
  double t0 = (double)rp->start * r->dt, t1 = (double)rp->end * r->dt;
  StanceTrial *t = stance_analysis_add_trial(c->out, "rep", t0, t1);
  if (!t)
    return STANCE_ENOMEM;
  t->set = rp->set;
  t->side = side;
  unsigned has = STANCE_HAS_TOTAL;
  if (c->has_limbs) {
    if (unilateral)
      has |= side == STANCE_SIDE_RIGHT ? STANCE_HAS_RIGHT : STANCE_HAS_LEFT;
    else
      has |= STANCE_HAS_LEFT | STANCE_HAS_RIGHT;
  }
  static const unsigned bits[3] = {STANCE_HAS_LEFT, STANCE_HAS_RIGHT, STANCE_HAS_TOTAL};

  /* Events */
  if (stance_trial_add_event(t, "ecc_start", (double)rp->ecc0 * r->dt, STANCE_SEL_TOTAL) ||
      stance_trial_add_event(t, "con_start", (double)rp->con0 * r->dt, STANCE_SEL_TOTAL))
    return STANCE_ENOMEM;
  size_t ipk = rp->start;
  for (size_t i = rp->start; i < rp->end; i++)
    if (r->s[i] > r->s[ipk])
      ipk = i;
  double tpk = peak_vertex(r->F, r->bad, r->s, 0, ipk, rp->start, rp->end,
                           r->s[ipk] - REP_VERTEX_TOP * (r->s[ipk] - rp->level),
                           (size_t)llround(REP_VERTEX_S * r->rate), r->rate);
  if (stance_trial_add_event(t, "peak", tpk * r->dt, STANCE_SEL_TOTAL))
    return STANCE_ENOMEM;
  for (int k = 0; k < rp->n_ev; k++) {
    StanceSel sel = STANCE_SEL_TOTAL;
    if (!strcmp(rp->ev_name[k], "front_on") || !strcmp(rp->ev_name[k], "front_off"))
      sel = side == STANCE_SIDE_RIGHT ? STANCE_SEL_RIGHT : STANCE_SEL_LEFT;
    if (!strncmp(rp->ev_name[k], "trail", 5))
      sel = side == STANCE_SIDE_RIGHT ? STANCE_SEL_LEFT : STANCE_SEL_RIGHT;
    if (stance_trial_add_event(t, rp->ev_name[k], (double)rp->ev_i[k] * r->dt, sel))
      return STANCE_ENOMEM;
  }
  if (stance_trial_add_event(t, "rep_end", (double)rp->end * r->dt, STANCE_SEL_TOTAL))
    return STANCE_ENOMEM;

  /* Per-series values */
  RepVals rv;
  memset(&rv, 0, sizeof rv);
  for (int s = 0; s < 3; s++) {
    if (!(has & bits[s]) || !c->f[s])
      continue;
    int rc = series_vals(r, c->f[s], rp, &rv.pk[s], &rv.mean[s], &rv.rfd[s]);
    if (rc)
      return rc;
    rv.has[s] = true;
  }
  /* Shares use both plates even on one leg (the free plate's share is 0 %). */
  double mean_lr[2] = {NAN, NAN};
  if (c->has_limbs)
    for (int s = 0; s < 2; s++) {
      double sum = 0.0;
      size_t cnt = 0;
      for (size_t i = rp->start; i < rp->end; i++)
        if (!is_bad(r, i)) {
          sum += c->f[s][i];
          cnt++;
        }
      mean_lr[s] = cnt ? sum / (double)cnt : NAN;
    }
  *out = rv;

  StanceMetric *m = stance_trial_add_metric(t, "peak_force", "N", "rep.peak_ma");
  if (!m)
    return STANCE_ENOMEM;
  method_common(r, &m->method);
  for (int s = 0; s < 3; s++)
    if (rv.has[s])
      set_or_absent(m, (StanceSel)s, rv.pk[s], "no good sample in the rep");

  m = stance_trial_add_metric(t, "mean_force", "N", "rep.mean");
  if (!m)
    return STANCE_ENOMEM;
  stance_method_param_str(&m->method, "window", "rep");
  for (int s = 0; s < 3; s++)
    if (rv.has[s])
      set_or_absent(m, (StanceSel)s, rv.mean[s], "no good sample in the rep");

  m = stance_trial_add_metric(t, "con_rfd", "N/s", "rep.con_rfd");
  if (!m)
    return STANCE_ENOMEM;
  method_common(r, &m->method);
  stance_method_param_str(&m->method, "from", "con_start");
  stance_method_param_str(&m->method, "to", "series_peak_in_concentric");
  for (int s = 0; s < 3; s++)
    if (rv.has[s])
      set_or_absent(m, (StanceSel)s, rv.rfd[s], "no concentric phase inside the rep");

  if (c->has_limbs && isfinite(mean_lr[0]) && isfinite(mean_lr[1]) &&
      mean_lr[0] + mean_lr[1] > 0.0) {
    double tot = mean_lr[0] + mean_lr[1];
    m = stance_trial_add_metric(t, "load_share_pct", "%", "rep.load_share");
    if (!m)
      return STANCE_ENOMEM;
    stance_method_param_str(&m->method, "formula", "100 * mean(limb) / mean(total)");
    stance_metric_set(m, STANCE_SEL_LEFT, 100.0 * mean_lr[0] / tot);
    stance_metric_set(m, STANCE_SEL_RIGHT, 100.0 * mean_lr[1] / tot);
    if (unilateral)
      m->no_asym = true; /* 100 % against 0 % on one leg says nothing about asymmetry */
    if (c->protocol == STANCE_PROTO_SPLIT_SQUAT || c->protocol == STANCE_PROTO_LUNGE) {
      int fp = side_plate(side);
      m = stance_trial_add_metric(t, "front_share_pct", "%", "rep.front_share");
      if (!m)
        return STANCE_ENOMEM;
      stance_method_param_str(&m->method, "formula", "100 * mean(front) / mean(total)");
      stance_method_param_str(&m->method, "front", side == STANCE_SIDE_RIGHT ? "right" : "left");
      stance_metric_set(m, STANCE_SEL_TOTAL, 100.0 * mean_lr[fp] / tot);
    }
  }

  struct {
    const char *id;
    double v;
    const char *mth;
  } tv[] = {
      {"time_under_tension", (double)(rp->tut1 - rp->tut0) * r->dt, "rep.tut"},
      {"rep_duration", (double)(rp->end - rp->start) * r->dt, "rep.duration"},
      {"ecc_duration", (double)(rp->ecc1 - rp->ecc0) * r->dt, "rep.phase"},
      {"con_duration", (double)(rp->con1 - rp->con0) * r->dt, "rep.phase"},
  };
  for (size_t k = 0; k < sizeof tv / sizeof tv[0]; k++) {
    m = stance_trial_add_metric(t, tv[k].id, "s", tv[k].mth);
    if (!m)
      return STANCE_ENOMEM;
    stance_method_param_str(&m->method, "boundaries", "crossing_of_system_weight");
    stance_metric_set(m, STANCE_SEL_TOTAL, tv[k].v);
  }
  m = stance_trial_add_metric(t, "peak_velocity", "m/s", "rep.com_velocity");
  if (!m)
    return STANCE_ENOMEM;
  stance_method_param_num(&m->method, "system_weight_n", rp->level);
  stance_metric_set(m, STANCE_SEL_TOTAL, rp->vpk);
  m = stance_trial_add_metric(t, "com_displacement", "m", "rep.com_velocity");
  if (!m)
    return STANCE_ENOMEM;
  stance_method_param_num(&m->method, "system_weight_n", rp->level);
  stance_metric_set(m, STANCE_SEL_TOTAL, fabs(rp->disp));
  m = stance_trial_add_metric(t, "net_impulse", "N.s", "impulse.trapezoid_net");
  if (!m)
    return STANCE_ENOMEM;
  stance_method_param_num(&m->method, "weight_n", rp->level);
  stance_method_param_str(&m->method, "window", "time_under_tension");
  stance_metric_set(
      m, STANCE_SEL_TOTAL,
      stance_curve_integral(c->f[STANCE_SEL_TOTAL], rp->tut0, rp->tut1, rp->level, r->dt));
  if (barbell) {
    m = stance_trial_add_metric(t, "bar_load_kg", "kg", "rep.bar_load");
    if (!m)
      return STANCE_ENOMEM;
    stance_method_param_str(&m->method, "formula", "(system_weight - body_weight) / g");
    stance_method_param_num(&m->method, "body_weight_n", r->bw);
    if (r->bw > 0.0)
      stance_metric_set(m, STANCE_SEL_TOTAL, (rp->level - r->bw) / r->c->g);
    else
      stance_metric_absent(m, STANCE_SEL_TOTAL, "no body weight");
    m = stance_trial_add_metric(t, "system_mass_kg", "kg", "rep.system_mass");
    if (!m)
      return STANCE_ENOMEM;
    stance_method_param_str(&m->method, "formula", "system_weight / g");
    stance_metric_set(m, STANCE_SEL_TOTAL, rp->level / r->c->g);
  }

  /* Flags */
  if (rp->incomplete && stance_trial_flag(t, STANCE_FLAG_INCOMPLETE, STANCE_SEVERITY_WARNING,
                                          "the rep touches the %s of the recording",
                                          rp->start == 0 ? "start" : "end"))
    return STANCE_ENOMEM;
  size_t nbad = 0;
  for (size_t i = rp->start; i < rp->end; i++)
    nbad += is_bad(r, i);
  if (nbad &&
      stance_trial_flag(t, STANCE_FLAG_GAPS, STANCE_SEVERITY_WARNING,
                        "%zu gap or saturated samples in the rep (%.3f-%.3f s) were left out", nbad,
                        t0, t1))
    return STANCE_ENOMEM;
  if (median_disp > 0.0 && fabs(rp->disp) < REP_PARTIAL_FRAC * median_disp &&
      stance_trial_flag(t, "partial_rep", STANCE_SEVERITY_WARNING,
                        "concentric displacement %.3f m is below %.0f %% of the set's median "
                        "%.3f m",
                        fabs(rp->disp), 100.0 * REP_PARTIAL_FRAC, median_disp))
    return STANCE_ENOMEM;
  if (st->warmup && stance_trial_flag(t, "warmup_set", STANCE_SEVERITY_INFO,
                                      "set %d is a warm-up set (bar %.1f kg)", rp->set, st->bar_kg))
    return STANCE_ENOMEM;
  return STANCE_OK;
}

static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static StanceMetric *
session_metric(StanceAnalysis *a, const char *id, const char *unit, const char *mth, double v)
{
  StanceMetric *m = stance_analysis_add_metric(a, id, unit, mth);
  if (m)
    stance_metric_set(m, STANCE_SEL_TOTAL, v);
  return m;
}

/* Infers the side when the options and the recording do not say it. */
static StanceSide
infer_side(RCtx *r)
{
  const StanceCtx *c = r->c;
  if (!c->has_limbs || !c->f[0] || !c->f[1] || r->n_rp == 0)
    return STANCE_SIDE_LEFT;
  double sum[2] = {0, 0}, pk[2] = {0, 0};
  for (size_t k = 0; k < r->n_rp; k++)
    for (int s = 0; s < 2; s++)
      for (size_t i = r->rp[k].start; i < r->rp[k].end; i++) {
        sum[s] += c->f[s][i];
        pk[s] = fmax(pk[s], c->f[s][i]);
      }
  if (c->protocol == STANCE_PROTO_STEP_UP)
    return pk[0] >= pk[1] ? STANCE_SIDE_LEFT : STANCE_SIDE_RIGHT;
  if (c->protocol == STANCE_PROTO_LUNGE) {
    /* The front plate is empty while standing between reps. */
    const Plateau *P = r->n_pl ? &r->pl[0] : NULL;
    double l = 0, rr = 0;
    if (P)
      for (size_t i = P->a; i < P->b; i++) {
        l += c->f[0][i];
        rr += c->f[1][i];
      }
    return l <= rr ? STANCE_SIDE_LEFT : STANCE_SIDE_RIGHT;
  }
  return sum[0] >= sum[1] ? STANCE_SIDE_LEFT : STANCE_SIDE_RIGHT;
}

int
stance_analyse_reps(StanceCtx *c, StanceError *err)
{
  StanceAnalysis *a = c->out;
  if (!c->f[STANCE_SEL_TOTAL] || c->n < 4 || !(c->rate > 0.0)) {
    stance_analysis_flag(a, "no_trials", STANCE_SEVERITY_ERROR, "no force data to find reps in");
    return STANCE_OK;
  }
  RCtx r;
  memset(&r, 0, sizeof r);
  r.c = c;
  r.n = c->n;
  r.rate = c->rate;
  r.dt = c->dt > 0.0 ? c->dt : 1.0 / c->rate;
  r.F = c->f[STANCE_SEL_TOTAL];
  r.bad = c->bad;
  r.bw = c->cond && c->cond->has_body_weight ? c->cond->body_weight_n : 0.0;
  r.bw_sd = c->cond && c->cond->has_body_weight ? c->cond->body_weight_sd_n : 2.0;
  r.band = 20.0;

  r.ma_half = (size_t)llround(0.5 * REP_MA_S * r.rate);
  int rc = STANCE_OK;
  bool barbell = c->protocol == STANCE_PROTO_BACK_SQUAT || c->protocol == STANCE_PROTO_DEADLIFT;
  bool unilateral = c->protocol == STANCE_PROTO_SL_SQUAT || c->protocol == STANCE_PROTO_SL_RDL;
  bool needs_side = !barbell;

  r.s = malloc(r.n * sizeof *r.s);
  if (!r.s) {
    rc = STANCE_ENOMEM;
    goto done;
  }
  moving_average(r.F, r.bad, r.n, r.ma_half, 0, r.n, r.s);
  /* Stillness range and edge threshold: from the noise of the 20 ms average in the weighing
   * window (sway passes through it, mains hum and sensor noise mostly do not), not from the raw
   * weighing SD, which hum can inflate to several newtons. */
  double sd_s = 0.5;
  if (c->cond && c->cond->has_body_weight) {
    size_t w0 = (size_t)llround(c->cond->bw_window_start_s * r.rate);
    size_t w1 = (size_t)llround(c->cond->bw_window_end_s * r.rate);
    if (w1 > r.n)
      w1 = r.n;
    double sum = 0.0, sum2 = 0.0;
    size_t cnt = 0;
    for (size_t i = w0; i < w1; i++)
      if (!is_bad(&r, i)) {
        sum += r.s[i];
        cnt++;
      }
    if (cnt > 10) {
      double mean = sum / (double)cnt;
      for (size_t i = w0; i < w1; i++)
        if (!is_bad(&r, i))
          sum2 += (r.s[i] - mean) * (r.s[i] - mean);
      sd_s = sqrt(sum2 / (double)(cnt - 1));
    }
  }
  r.edge = fmax(REP_QUIET_MIN_N, REP_QUIET_SD_K * sd_s);
  rc = find_plateaus(&r);
  if (rc)
    goto done;
  if (c->protocol == STANCE_PROTO_DEADLIFT)
    rc = find_deadlift(&r);
  else
    rc = find_moves(&r);
  if (rc)
    goto done;

  StanceSide side = c->side;
  if (needs_side && side != STANCE_SIDE_LEFT && side != STANCE_SIDE_RIGHT) {
    /* Pair first with a provisional side (it only matters for the contact events). */
    rc = pair_reps(&r, STANCE_SIDE_LEFT);
    if (rc)
      goto done;
    side = infer_side(&r);
    r.n_rp = 0;
    stance_analysis_flag(a, "side_inferred", STANCE_SEVERITY_INFO,
                         "the recording does not name the %s: taken as %s from the loads",
                         c->protocol == STANCE_PROTO_STEP_UP ? "stepping leg"
                         : unilateral                        ? "stance leg"
                                                             : "front foot",
                         side == STANCE_SIDE_RIGHT ? "right" : "left");
  }
  if (!needs_side)
    side = STANCE_SIDE_BOTH;
  rc = pair_reps(&r, side);
  if (rc)
    goto done;

  /* Onset method of the document: the rule, refined to the crossing of the system weight. */
  if (r.have_onset_method) {
    stance_method_copy(&a->onset_method, &r.onset_method);
    stance_method_param_str(&a->onset_method, "refine", "crossing_of_system_weight_ma20");
  }

  if (r.n_rp == 0) {
    stance_analysis_flag(a, "no_trials", STANCE_SEVERITY_ERROR,
                         "no rep found: no down and up movement pair at a steady system weight "
                         "(%zu movements, %zu still periods)",
                         r.n_mv, r.n_pl);
    session_metric(a, "rep_count", "count", "reps.count", 0.0);
    session_metric(a, "set_count", "count", "reps.sets", 0.0);
    goto done;
  }

  /* Sets */
  size_t gap = (size_t)llround(REP_SET_GAP_S * r.rate);
  double load_min = r.bw > 0.0 ? 0.5 * r.bw : 200.0;
  Set *sets = calloc(r.n_rp, sizeof *sets);
  if (!sets) {
    rc = STANCE_ENOMEM;
    goto done;
  }
  size_t n_sets = 0;
  for (size_t k = 0; k < r.n_rp; k++) {
    bool new_set = k == 0;
    if (k > 0) {
      const Rep *p = &r.rp[k - 1], *q = &r.rp[k];
      new_set = q->start - p->end >= gap || fabs(q->level - p->level) > level_tol(p->level) ||
                off_between(&r, p->end, q->start, load_min);
    }
    if (new_set) {
      sets[n_sets].first = k;
      sets[n_sets].n = 0;
      n_sets++;
    }
    sets[n_sets - 1].n++;
    r.rp[k].set = (int)n_sets;
  }
  double max_bar = 0.0;
  for (size_t j = 0; j < n_sets; j++) {
    double sum = 0.0;
    for (size_t k = sets[j].first; k < sets[j].first + sets[j].n; k++)
      sum += r.rp[k].level;
    sets[j].level = sum / (double)sets[j].n;
    sets[j].bar_kg = r.bw > 0.0 ? (sets[j].level - r.bw) / r.c->g : 0.0;
    max_bar = fmax(max_bar, sets[j].bar_kg);
  }
  int n_warm = 0;
  if (barbell && r.bw > 0.0)
    for (size_t j = 0; j < n_sets; j++) {
      sets[j].warmup = sets[j].bar_kg < REP_WORKING_FRAC * max_bar;
      n_warm += sets[j].warmup;
    }

  /* Trials */
  double *disp = malloc(r.n_rp * sizeof *disp);
  RepVals *vals = malloc(r.n_rp * sizeof *vals);
  if (!disp || !vals) {
    free(disp);
    free(vals);
    free(sets);
    rc = STANCE_ENOMEM;
    goto done;
  }
  for (size_t j = 0; j < n_sets && !rc; j++) {
    size_t f0 = sets[j].first, nn = sets[j].n;
    for (size_t k = 0; k < nn; k++)
      disp[k] = fabs(r.rp[f0 + k].disp);
    qsort(disp, nn, sizeof *disp, cmp_double);
    double med = nn % 2 ? disp[nn / 2] : 0.5 * (disp[nn / 2 - 1] + disp[nn / 2]);
    for (size_t k = f0; k < f0 + nn && !rc; k++)
      rc = rep_trial(&r, &r.rp[k], &sets[j], side, unilateral, barbell, nn >= 3 ? med : 0.0,
                     &vals[k]);
  }
  if (rc) {
    free(disp);
    free(vals);
    free(sets);
    goto done;
  }

  /* Session metrics */
  StanceMetric *m;
  if (!session_metric(a, "rep_count", "count", "reps.count", (double)r.n_rp) ||
      !(m = session_metric(a, "set_count", "count", "reps.sets", (double)n_sets))) {
    rc = STANCE_ENOMEM;
  } else {
    stance_method_param_num(&m->method, "set_gap_s", REP_SET_GAP_S);
  }
  if (!rc && barbell) {
    m = session_metric(a, "working_set_count", "count", "reps.working_sets",
                       (double)((int)n_sets - n_warm));
    if (m)
      stance_method_param_num(&m->method, "working_frac", REP_WORKING_FRAC);
    m = m ? session_metric(a, "warmup_set_count", "count", "reps.working_sets", (double)n_warm)
          : NULL;
    if (m)
      stance_method_param_num(&m->method, "working_frac", REP_WORKING_FRAC);
    m = m ? session_metric(a, "system_mass_kg", "kg", "rep.system_mass", (r.bw / r.c->g) + max_bar)
          : NULL;
    if (!m)
      rc = STANCE_ENOMEM;
  }
  double fi_sum = 0.0;
  int fi_n = 0;
  char id[32];
  for (size_t j = 0; j < n_sets && !rc; j++) {
    size_t f0 = sets[j].first, nn = sets[j].n;
    snprintf(id, sizeof id, "reps_set%zu", j + 1);
    if (!session_metric(a, id, "count", "reps.count", (double)nn)) {
      rc = STANCE_ENOMEM;
      break;
    }
    if (barbell && r.bw > 0.0) {
      snprintf(id, sizeof id, "bar_load_kg_set%zu", j + 1);
      m = session_metric(a, id, "kg", "rep.bar_load", sets[j].bar_kg);
      if (!m) {
        rc = STANCE_ENOMEM;
        break;
      }
      stance_method_param_num(&m->method, "body_weight_n", r.bw);
    }
    /* Rest before this set: the longest still stretch between the sets, widened to where the
     * total leaves its level by the onset band. */
    if (j > 0) {
      size_t pa = r.rp[f0 - 1].end, pb = r.rp[f0].start;
      const Plateau *best = NULL;
      for (size_t k = 0; k < r.n_pl; k++)
        if (r.pl[k].a >= pa && r.pl[k].b <= pb && r.pl[k].level >= load_min &&
            (!best || r.pl[k].b - r.pl[k].a > best->b - best->a))
          best = &r.pl[k];
      if (best) {
        size_t lo = best->a, hi = best->b;
        while (lo > pa && fabs(r.s[lo - 1] - best->level) <= r.band)
          lo--;
        while (hi < pb && fabs(r.s[hi] - best->level) <= r.band)
          hi++;
        /* Edges: a movement (deadlift stand-up and set-up) leaves the level with a finite slope:
         * the band extrapolation; a load change (back squat rerack and unrack) is a smooth
         * transfer with flat ends: the cubic fit between the set's level and the rest's. */
        double t25, t75;
        if (lo > pa) {
          size_t e = extrap_end(r.s, best->level, lo - 1, hi);
          if (c->protocol == STANCE_PROTO_BACK_SQUAT &&
              transfer_times(r.s, pa, best->a, sets[j - 1].level, best->level, false, &t25, &t75)) {
            double span = (t75 - t25) / (CUBIC_U75 - CUBIC_U25);
            double en = t25 - CUBIC_U25 * span + span;
            if (en > (double)pa && en < (double)hi)
              e = (size_t)llround(en);
          }
          lo = e;
        }
        if (hi < pb) {
          size_t st = extrap_start(r.s, best->level, hi, lo);
          if (c->protocol == STANCE_PROTO_BACK_SQUAT &&
              transfer_times(r.s, best->b, pb, best->level, sets[j].level, true, &t25, &t75)) {
            double span = (t75 - t25) / (CUBIC_U75 - CUBIC_U25);
            double b0 = t25 - CUBIC_U25 * span;
            if (b0 > (double)lo && b0 < (double)pb)
              st = (size_t)llround(b0);
          }
          hi = st;
        }
        snprintf(id, sizeof id, "rest_s_set%zu", j + 1);
        m = session_metric(a, id, "s", "reps.rest", (double)(hi - lo) * r.dt);
        if (!m) {
          rc = STANCE_ENOMEM;
          break;
        }
        stance_method_param_num(&m->method, "band_n", r.band);
      }
    }
    if (nn < 2)
      continue;
    /* Fatigue: excess peaks e_k = peak_k - system weight. */
    double e1 = vals[f0].pk[2] - r.rp[f0].level;
    double en = vals[f0 + nn - 1].pk[2] - r.rp[f0 + nn - 1].level;
    double g1 = vals[f0].pk[2], gn = vals[f0 + nn - 1].pk[2];
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t k = 0; k < nn; k++) {
      double x = (double)k, y = vals[f0 + k].pk[2] - r.rp[f0 + k].level;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    double den = (double)nn * sxx - sx * sx;
    double slope = den != 0.0 ? ((double)nn * sxy - sx * sy) / den : 0.0;
    double icpt = (sy - slope * sx) / (double)nn;
    snprintf(id, sizeof id, "fatigue_index_set%zu", j + 1);
    m = stance_analysis_add_metric(a, id, "%", "fatigue.first_last_excess");
    if (!m) {
      rc = STANCE_ENOMEM;
      break;
    }
    stance_method_param_str(&m->method, "formula",
                            "100 * (E_first - E_last) / E_first, E = peak - system weight");
    if (e1 > 0.0)
      stance_metric_set(m, STANCE_SEL_TOTAL, 100.0 * (e1 - en) / e1);
    else
      stance_metric_absent(m, STANCE_SEL_TOTAL, "the first rep's peak is not above the weight");
    if (e1 > 0.0 && (!barbell || !sets[j].warmup)) {
      fi_sum += 100.0 * (e1 - en) / e1;
      fi_n++;
    }
    snprintf(id, sizeof id, "fatigue_index_gross_set%zu", j + 1);
    m = stance_analysis_add_metric(a, id, "%", "fatigue.first_last_gross");
    if (!m) {
      rc = STANCE_ENOMEM;
      break;
    }
    stance_method_param_str(&m->method, "formula", "100 * (F_first - F_last) / F_first");
    set_or_absent(m, STANCE_SEL_TOTAL, g1 > 0.0 ? 100.0 * (g1 - gn) / g1 : NAN,
                  "no peak force in the first rep");
    snprintf(id, sizeof id, "fatigue_index_slope_set%zu", j + 1);
    m = stance_analysis_add_metric(a, id, "%", "fatigue.regression_excess");
    if (!m) {
      rc = STANCE_ENOMEM;
      break;
    }
    stance_method_param_str(&m->method, "formula",
                            "-100 * b (n - 1) / a, least squares E_k = a + b k, k = 0..n-1");
    if (icpt > 0.0)
      stance_metric_set(m, STANCE_SEL_TOTAL, -100.0 * slope * (double)(nn - 1) / icpt);
    else
      stance_metric_absent(m, STANCE_SEL_TOTAL, "the fitted first-rep excess is not positive");
  }
  if (!rc && fi_n > 0) {
    m = session_metric(a, "fatigue_index", "%", "fatigue.first_last_excess", fi_sum / fi_n);
    if (!m)
      rc = STANCE_ENOMEM;
    else
      stance_method_param_str(&m->method, "over", barbell ? "working sets (mean)" : "sets (mean)");
  }
  /* Session load shares: mean over the reps. */
  if (!rc && c->has_limbs) {
    double sl = 0, sr = 0, sf = 0;
    size_t nl = 0, nf = 0;
    for (size_t k = 0; k < a->n_trials; k++) {
      const StanceMetric *ls = stance_trial_metric(&a->trials[k], "load_share_pct");
      double x, y;
      if (ls && stance_metric_get(ls, STANCE_SEL_LEFT, &x) &&
          stance_metric_get(ls, STANCE_SEL_RIGHT, &y)) {
        sl += x;
        sr += y;
        nl++;
      }
      const StanceMetric *fs = stance_trial_metric(&a->trials[k], "front_share_pct");
      if (fs && stance_metric_get(fs, STANCE_SEL_TOTAL, &x)) {
        sf += x;
        nf++;
      }
    }
    if (nl) {
      m = stance_analysis_add_metric(a, "load_share_pct", "%", "rep.load_share");
      if (!m) {
        rc = STANCE_ENOMEM;
      } else {
        stance_method_param_str(&m->method, "over", "reps (mean)");
        stance_metric_set(m, STANCE_SEL_LEFT, sl / (double)nl);
        stance_metric_set(m, STANCE_SEL_RIGHT, sr / (double)nl);
        if (unilateral)
          m->no_asym = true;
      }
    }
    if (!rc && nf) {
      m = stance_analysis_add_metric(a, "front_share_pct", "%", "rep.front_share");
      if (!m)
        rc = STANCE_ENOMEM;
      else {
        stance_method_param_str(&m->method, "over", "reps (mean)");
        stance_metric_set(m, STANCE_SEL_TOTAL, sf / (double)nf);
      }
    }
  }
  free(disp);
  free(vals);
  free(sets);

done:
  free(r.s);
  free(r.pl);
  free(r.mv);
  free(r.rp);
  free(r.v);
  free(r.buf);
  free(r.buf2);
  if (rc)
    return stance_error_set(err, rc, "reps: out of memory");
  return STANCE_OK;
}
