/* stance-hops.c: reactive contacts - drop jumps (dj), single-leg hops in place (sl-hop) and
 * bilateral pogo hops (pogo). docs/methods.md, "Hops and drop jumps", has every rule; the
 * definitions match the simulator's truth (src/daq/stance-sim-jumps.c, truth_contact()).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Segmentation (one pass over the total force, then passes over the list of contacts):
 *   1. the total force is split into contacts (above the takeoff threshold) and unloaded stretches
 *      (at or below it); bad samples carry the state they are in;
 *   2. loaded blips shorter than HOP_MIN_CONTACT_S inside an unloaded stretch are ignored (and
 *      flagged on the hop whose flight holds them); unloaded dips shorter than HOP_MIN_FLIGHT_S
 *      inside a contact join the contact and are flagged as a double contact;
 *   3. a trial is a contact of at most HOP_MAX_CONTACT_S that ends in a takeoff followed by a
 *      flight of at most HOP_MAX_FLIGHT_S (its landing is the next contact's touchdown). Standing,
 *      the countermovement that starts a hop series and the final landing are longer contacts and
 *      are not trials. A longer unloaded stretch is the athlete off the plates (on the box before
 *      a drop jump, stepping off): a contact after it is a drop (dj: the drop height exists). A
 *      contact cut by the recording's start, or whose flight runs past its end, is a trial flagged
 *      incomplete_trial with the metrics it cannot give absent.
 *
 * Events are threshold crossings interpolated linearly between the two samples around them, so
 * contact and flight times are not quantised to the sample period.
 *
 * Complexity: O(n) in the samples (each sample is visited by the scan and by at most two trial
 * windows), memory O(number of contacts).
 */
#include "stance-analysis-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Shortest unloaded stretch that is a flight (shorter: a double contact), s. */
#define HOP_MIN_FLIGHT_S 0.050
/* Shortest loaded stretch that is a contact (shorter: a blip in a flight), s. */
#define HOP_MIN_CONTACT_S 0.020
/* A contact whose force stays below this share of the body weight is not a landing. */
#define HOP_MIN_PEAK_BW 0.5
/* Longest flight (a longer unloaded stretch is the athlete off the plates), s: 1 s is a jump
 * height of 1.23 m, beyond any human jump. */
#define HOP_MAX_FLIGHT_S 1.0
/* Longest reactive contact (a longer one is standing, a countermovement or a landing), s. */
#define HOP_MAX_CONTACT_S 1.0
/* Drop-jump landing: window after the landing for the landing peak force, s. */
#define DJ_LANDING_WINDOW_S 0.5
/* Drop-jump trial end: at most this long after the landing, s. */
#define DJ_TRIAL_TAIL_S 1.5

#define FLAG_DOUBLE_CONTACT "double_contact"
#define FLAG_CONTACT_BLIP "contact_blip"
#define FLAG_SIDE_MISMATCH "side_mismatch"
#define FLAG_CONTRALATERAL "contralateral_contact"
#define FLAG_REBOUND "rebound_contact"

typedef struct {
  size_t s, e;       /* first loaded sample, first unloaded sample after the contact (n: cut) */
  int n_dips;        /* unloaded dips shorter than a flight merged into the contact */
  size_t dip_at;     /* the first dip's first sample */
  int n_blips_after; /* loaded blips ignored in the unloaded stretch after the contact */
  size_t blip_at;    /* the first of them */
  double fmax;       /* largest force of the contact, N */
} Contact;

typedef struct {
  Contact *v;
  size_t n, cap;
} ContactList;

static int
contacts_push(ContactList *l, size_t s, size_t e)
{
  if (l->n == l->cap) {
    size_t ncap = l->cap ? 2 * l->cap : 64;
    Contact *p = realloc(l->v, ncap * sizeof *p);
    if (!p)
      return STANCE_ENOMEM;
    l->v = p;
    l->cap = ncap;
  }
  l->v[l->n++] = (Contact){s, e, 0, 0, 0, 0, 0.0};
  return STANCE_OK;
}

/* Step 1: contacts of f (above thr) in [0, n). A contact running into the end has e = n. */
static int
find_contacts(const double *f, const uint8_t *bad, size_t n, double thr, ContactList *l)
{
  size_t k = 0;
  while (k < n) {
    size_t s, e;
    if (!stance_ev_first_above(f, bad, k, n, thr, &s))
      break;
    /* A contact at the very start (bad samples before it included) starts at 0. */
    if (!stance_ev_first_below(f, bad, s + 1, n, thr, &e))
      e = n;
    int r = contacts_push(l, s, e);
    if (r < 0)
      return r;
    double mx = f[s];
    for (size_t i = s; i < e; i++)
      if ((!bad || !bad[i]) && f[i] > mx)
        mx = f[i];
    l->v[l->n - 1].fmax = mx;
    k = e + 1;
  }
  return STANCE_OK;
}

/* Step 2: blips out, dips in. */
static void
clean_contacts(ContactList *l, size_t n, size_t min_contact, double min_peak, size_t min_flight)
{
  /* Blips: a contact shorter than min_contact, or whose force never reaches min_peak (a ringing
   * plate after a takeoff, a touch of a toe; a real landing must stop the body, so its force
   * exceeds the body weight), with unloaded stretches on both sides (not at the recording's
   * edges), joins the unloaded stretch; the contact before it remembers it. */
  size_t w = 0;
  for (size_t k = 0; k < l->n; k++) {
    Contact c = l->v[k];
    bool inner = c.s > 0 && c.e < n;
    if (inner && (c.e - c.s < min_contact || c.fmax < min_peak)) {
      if (w > 0) {
        Contact *p = &l->v[w - 1];
        if (p->n_blips_after++ == 0)
          p->blip_at = c.s;
      }
      continue;
    }
    l->v[w++] = c;
  }
  l->n = w;
  /* Dips: a short unloaded stretch between two contacts joins them. */
  w = 0;
  for (size_t k = 0; k < l->n; k++) {
    Contact c = l->v[k];
    if (w > 0 && c.s - l->v[w - 1].e < min_flight) {
      Contact *p = &l->v[w - 1];
      if (p->n_dips++ == 0)
        p->dip_at = p->e;
      p->n_dips += c.n_dips;
      p->e = c.e;
      p->n_blips_after = c.n_blips_after;
      p->blip_at = c.blip_at;
      continue;
    }
    l->v[w++] = c;
  }
  l->n = w;
}

/* Time (s) where f crosses thr between samples i - 1 and i, interpolated linearly; i dt when the
 * crossing cannot be interpolated (first sample, a bad neighbour, equal values). */
static double
cross_time(const double *f, const uint8_t *bad, size_t i, double thr, double dt)
{
  if (i == 0 || (bad && (bad[i] || bad[i - 1])))
    return (double)i * dt;
  double a = f[i - 1], b = f[i];
  if (a == b)
    return (double)i * dt;
  double x = (thr - a) / (b - a);
  if (!(x >= 0.0 && x <= 1.0))
    return (double)i * dt;
  return ((double)(i - 1) + x) * dt;
}

static bool
any_bad(const uint8_t *bad, size_t a, size_t b)
{
  if (!bad)
    return false;
  for (size_t i = a; i < b; i++)
    if (bad[i])
      return true;
  return false;
}

/* Edge refinement (the Vertical-Jumps-Fz rule, Gidiel-Machado et al. 2025): the threshold finds
 * the contact; its edges then move to where the force crosses the largest absolute force the
 * plate reads during the adjacent flight (its noise), so the 20 N threshold does not shorten the
 * contact. The flight's first and last REFINE_TRIM_S are left out of the noise measurement. A
 * noise level at or above the threshold (a ringing plate, a short flight) keeps the threshold. */
#define REFINE_TRIM_S 0.030
/* Longest stretch of unloaded plate before a drop, or after a last takeoff, whose noise counts. */
#define REFINE_SPAN_S 1.0
/* An edge moves at most this far from the threshold crossing. */
#define REFINE_MAX_S 0.030

static double
flight_level(const double *f, const uint8_t *bad, size_t a, size_t b, double thr, double rate)
{
  size_t trim = (size_t)llround(REFINE_TRIM_S * rate);
  if (b <= a + 2 * trim + 3)
    return thr;
  double mx = 0.0;
  size_t used = 0;
  for (size_t i = a + trim; i < b - trim; i++) {
    if (bad && bad[i])
      continue;
    double v = fabs(f[i]);
    if (v > mx)
      mx = v;
    used++;
  }
  return used > 0 && mx < thr ? mx : thr;
}

/* Refined time of a rising edge whose threshold crossing is at sample s (f[s] > threshold). */
static double
edge_up(const double *f, const uint8_t *bad, size_t s, double level, double rate, double dt)
{
  size_t lim = (size_t)llround(REFINE_MAX_S * rate);
  size_t stop = s > lim ? s - lim : 0;
  size_t i = s;
  while (i > stop && (!bad || !bad[i - 1]) && f[i - 1] > level)
    i--;
  return cross_time(f, bad, i, level, dt);
}

/* Refined time of a falling edge whose threshold crossing is at sample e (f[e] <= threshold). */
static double
edge_down(const double *f, const uint8_t *bad, size_t e, size_t n, double level, double rate,
          double dt)
{
  size_t lim = (size_t)llround(REFINE_MAX_S * rate);
  size_t stop = e + lim < n ? e + lim : n - 1;
  size_t i = e;
  while (i < stop && (!bad || !bad[i]) && f[i] > level)
    i++;
  return cross_time(f, bad, i, level, dt);
}

/* A limb's own contact inside [a, b): touchdown (first sample above thr), takeoff (first sample
 * at or below thr after the last one above), the number of dips between them. */
typedef struct {
  bool loaded;
  size_t td, to;
  int n_dips;
  size_t dip_at;
} LimbContact;

static LimbContact
limb_contact(const double *f, const uint8_t *bad, size_t a, size_t b, double thr)
{
  LimbContact lc = {false, 0, 0, 0, 0};
  size_t td;
  if (!stance_ev_first_above(f, bad, a, b, thr, &td))
    return lc;
  size_t last = td;
  for (size_t i = b; i > td; i--)
    if ((!bad || !bad[i - 1]) && f[i - 1] > thr) {
      last = i - 1;
      break;
    }
  lc.loaded = true;
  lc.td = td;
  lc.to = last + 1;
  bool below = false;
  for (size_t i = td; i <= last; i++) {
    if (bad && bad[i])
      continue;
    bool now = f[i] <= thr;
    if (now && !below && lc.n_dips++ == 0)
      lc.dip_at = i;
    below = now;
  }
  return lc;
}

static const char *
limb_name(int j)
{
  return j == STANCE_SEL_LEFT ? "left" : j == STANCE_SEL_RIGHT ? "right" : "total";
}

/* Drop (box) height from the recording's metadata, m; false when it gives none. */
static bool
meta_box_height(const StanceRecording *rec, double *h)
{
  static const char *const keys[] = {"box_height_m", "drop_height_m"};
  for (size_t k = 0; k < 2; k++) {
    const char *v = stance_meta_get(&rec->meta, keys[k]);
    if (!v)
      continue;
    char *end = NULL;
    double x = strtod(v, &end);
    if (end && end != v && *end == '\0' && isfinite(x) && x > 0.0 && x <= 2.0) {
      *h = x;
      return true;
    }
  }
  return false;
}

/* Everything one trial needs from the segmentation. */
typedef struct {
  size_t k;             /* contact index */
  size_t s, e;          /* contact samples: first loaded, first unloaded after */
  bool cut_start;       /* the contact began before the recording */
  bool has_landing;     /* the flight ends in a landing inside the recording */
  size_t land;          /* landing sample (next contact's s) */
  size_t next_e;        /* end of the landing contact */
  bool prev_flight;     /* the unloaded stretch before is a flight (of a hop or the start) */
  size_t prev_to;       /* the previous contact's takeoff sample (prev_flight) */
  bool drop;            /* the stretch before is the athlete off the plates (or the start) */
  double thr[3];        /* thresholds per slot */
  double lvl_before[3]; /* refined edge levels: noise of the stretch before and after */
  double lvl_after[3];
} HopSeg;

typedef struct {
  StanceCtx *c;
  StanceMethod thr_method[3];
  double thr[3];  /* takeoff/landing thresholds per slot, N */
  bool bilateral; /* pogo, dj */
  bool dj;
  bool has_box;
  double box_h;
  int count[3]; /* complete trials per stance limb (left, right) and in total */
} HopRun;

/* Per-trial values used across several metrics. */
typedef struct {
  bool ev_ok;        /* touchdown and takeoff times known */
  double t_td, t_to; /* s */
  bool fl_ok;
  double t_land, tc, tf;
  bool dv_ok;    /* velocity change over the contact known (body mass, no bad sample) */
  double dv;     /* m/s, (impulse - W tc) / m over the contact */
  size_t ia, ib; /* samples at or just before the touchdown and at or just after takeoff */
  bool vtd_ok;   /* touchdown velocity known */
  double v_td;   /* m/s, negative (downward) */
  const char *vtd_rule;
  char vtd_why[96];
  size_t i_peak;
  double f_peak;
  bool peak_ok;
} HopVals;

#define ADD(m, t, id, unit, meth)                                                                  \
  do {                                                                                             \
    if (!((m) = stance_trial_add_metric((t), (id), (unit), (meth))))                               \
      return STANCE_ENOMEM;                                                                        \
  } while (0)

/* The threshold rule stance_ev_takeoff_threshold() reported ("fixed" or "unloaded_5sd"). */
static const char *
thr_rule(const StanceMethod *m)
{
  for (int i = 0; i < m->n_params; i++)
    if (strcmp(m->params[i].key, "rule") == 0 && m->params[i].str[0])
      return m->params[i].str;
  return "fixed";
}

static void
thr_params(StanceMethod *m, const HopRun *hr, unsigned slots)
{
  stance_method_param_num(m, "threshold_n", hr->thr[STANCE_SEL_TOTAL]);
  stance_method_param_str(m, "threshold_rule", thr_rule(&hr->thr_method[STANCE_SEL_TOTAL]));
  if (slots & STANCE_HAS_LEFT)
    stance_method_param_num(m, "threshold_left_n", hr->thr[STANCE_SEL_LEFT]);
  if (slots & STANCE_HAS_RIGHT)
    stance_method_param_num(m, "threshold_right_n", hr->thr[STANCE_SEL_RIGHT]);
  stance_method_param_str(m, "edge_refinement", "max_flight_noise");
  stance_method_param_str(m, "interpolation", "linear");
  stance_method_param_num(m, "min_flight_s", HOP_MIN_FLIGHT_S);
  stance_method_param_num(m, "max_contact_s", HOP_MAX_CONTACT_S);
}

/* Contact and flight time of one limb on its own plate, with its events; absences explained. */
static int
limb_timing(HopRun *hr, StanceTrial *t, const HopSeg *sg, int j, StanceMetric *mc, StanceMetric *mf)
{
  StanceCtx *c = hr->c;
  const double *f = c->f[j];
  const uint8_t *bad = c->bad;
  /* The limb's touchdown is searched from a little before the total's (a limb can cross a sample
   * earlier when the other plate reads slightly below zero), never before the previous takeoff. */
  size_t back = (size_t)llround(0.010 * c->rate);
  if (back < 2)
    back = 2;
  size_t a = sg->s > back ? sg->s - back : 0;
  if (sg->prev_flight && a <= sg->prev_to)
    a = sg->prev_to + 1 < sg->s ? sg->prev_to + 1 : sg->s;
  /* ... and its takeoff up to a little after the total's (never into the flight, where a load blip
   * on one plate would stretch the limb's contact). */
  size_t b = sg->e + back < c->n ? sg->e + back : c->n;
  LimbContact lc = limb_contact(f, bad, a, b, sg->thr[j]);
  if (!lc.loaded) {
    stance_metric_absent(mc, (StanceSel)j, "%s plate not loaded during the contact", limb_name(j));
    stance_metric_absent(mf, (StanceSel)j, "%s plate not loaded during the contact", limb_name(j));
    return STANCE_OK;
  }
  double dt = c->dt, thr = sg->thr[j];
  double td = edge_up(f, bad, lc.td, sg->lvl_before[j], c->rate, dt);
  double to = lc.to < c->n ? edge_down(f, bad, lc.to, c->n, sg->lvl_after[j], c->rate, dt)
                           : (double)c->n * dt;
  int r;
  if (!sg->cut_start && (r = stance_trial_add_event(t, "touchdown", td, (StanceSel)j)) < 0)
    return r;
  if (lc.to < c->n && (r = stance_trial_add_event(t, "takeoff", to, (StanceSel)j)) < 0)
    return r;
  bool edge_bad = any_bad(bad, lc.td > 0 ? lc.td - 1 : 0, lc.td + 1) ||
                  (lc.to < c->n && any_bad(bad, lc.to - 1, lc.to + 1));
  if (sg->cut_start)
    stance_metric_absent(mc, (StanceSel)j, "contact began before the recording");
  else if (edge_bad)
    stance_metric_absent(mc, (StanceSel)j, "gap or saturation at the %s touchdown or takeoff",
                         limb_name(j));
  else
    stance_metric_set(mc, (StanceSel)j, to - td);
  if (lc.n_dips > 0 &&
      (r = stance_trial_flag(t, FLAG_DOUBLE_CONTACT, STANCE_SEVERITY_WARNING,
                             "the %s plate unloaded %d time%s during the contact, first at "
                             "%.3f s: the %s contact time spans them",
                             limb_name(j), lc.n_dips, lc.n_dips > 1 ? "s" : "",
                             (double)lc.dip_at * dt, limb_name(j))) < 0)
    return r;
  if (!sg->has_landing) {
    stance_metric_absent(mf, (StanceSel)j, "the recording ends during the flight");
    return STANCE_OK;
  }
  size_t ld;
  size_t la = sg->land > back ? sg->land - back : 0;
  if (la < lc.to)
    la = lc.to;
  if (!stance_ev_first_above(f, bad, la, sg->next_e, thr, &ld)) {
    stance_metric_absent(mf, (StanceSel)j, "the %s foot did not land on its plate", limb_name(j));
    return STANCE_OK;
  }
  double tl = edge_up(f, bad, ld, sg->lvl_after[j], c->rate, dt);
  if ((r = stance_trial_add_event(t, "landing", tl, (StanceSel)j)) < 0)
    return r;
  if (any_bad(bad, lc.to > 0 ? lc.to - 1 : 0, ld + 1))
    stance_metric_absent(mf, (StanceSel)j, "gap or saturation during the %s flight", limb_name(j));
  else
    stance_metric_set(mf, (StanceSel)j, tl - to);
  return STANCE_OK;
}

/* Velocity change over the contact (impulse-momentum) and the touchdown velocity. */
static void
hop_dynamics(const HopRun *hr, const HopSeg *sg, HopVals *v)
{
  const StanceCtx *c = hr->c;
  const double *f = c->f[STANCE_SEL_TOTAL];
  const double dt = c->dt, g = c->g;
  v->dv_ok = false;
  v->vtd_ok = false;
  v->vtd_rule = "";
  snprintf(v->vtd_why, sizeof v->vtd_why, "touchdown velocity unknown");
  if (!(c->mass_kg > 0.0)) {
    snprintf(v->vtd_why, sizeof v->vtd_why, "no body weight (no still window): mass unknown");
    return;
  }
  if (!v->ev_ok || sg->s == 0 || sg->e >= c->n) {
    snprintf(v->vtd_why, sizeof v->vtd_why, "contact cut by the recording");
    return;
  }
  if (v->ib >= c->n || any_bad(c->bad, v->ia, v->ib + 1)) {
    snprintf(v->vtd_why, sizeof v->vtd_why, "gap or saturation during the contact");
    return;
  }
  /* The trapezoid over [ia, ib] (both ends unloaded) is the impulse from just before the
   * touchdown to just after the takeoff; the weight acts over the contact only. */
  double imp = stance_curve_integral(f, v->ia, v->ib + 1, 0.0, dt);
  v->dv = (imp - c->system_weight_n * v->tc) / c->mass_kg;
  v->dv_ok = true;
  if (v->fl_ok) {
    /* Backwards from the takeoff velocity the flight gives (takeoff and landing at one height). */
    v->v_td = 0.5 * g * v->tf - v->dv;
    v->vtd_rule = "impulse_momentum_from_flight";
    v->vtd_ok = true;
  } else {
    snprintf(v->vtd_why, sizeof v->vtd_why,
             "the flight after the contact is unknown (cut by the recording end or a gap)");
  }
}

/* Metrics of one trial. */
static int
hop_trial(HopRun *hr, const HopSeg *sg, StanceSide stance)
{
  StanceCtx *c = hr->c;
  const double dt = c->dt, g = c->g;
  const double *f = c->f[STANCE_SEL_TOTAL];
  const double *fr = c->f_raw[STANCE_SEL_TOTAL] ? c->f_raw[STANCE_SEL_TOTAL] : f;
  const uint8_t *bad = c->bad;
  int r;

  HopVals v;
  memset(&v, 0, sizeof v);
  v.t_td = edge_up(f, bad, sg->s, sg->lvl_before[STANCE_SEL_TOTAL], c->rate, dt);
  v.t_to = sg->e < c->n
               ? edge_down(f, bad, sg->e, c->n, sg->lvl_after[STANCE_SEL_TOTAL], c->rate, dt)
               : (double)c->n * dt;
  v.ev_ok = !sg->cut_start && sg->e < c->n && !any_bad(bad, sg->s > 0 ? sg->s - 1 : 0, sg->s + 1) &&
            !any_bad(bad, sg->e - 1, sg->e + 1);
  v.tc = v.t_to - v.t_td;
  v.ia = (size_t)floor(v.t_td / dt + 1e-9);
  if (v.ia >= sg->s)
    v.ia = sg->s > 0 ? sg->s - 1 : 0;
  v.ib = (size_t)ceil(v.t_to / dt - 1e-9);
  if (v.ib < sg->e)
    v.ib = sg->e;
  if (sg->has_landing) {
    v.t_land = edge_up(f, bad, sg->land, sg->lvl_after[STANCE_SEL_TOTAL], c->rate, dt);
    v.tf = v.t_land - v.t_to;
    v.fl_ok = !any_bad(bad, sg->e - 1, sg->land + 1);
  }

  double start = sg->cut_start ? 0.0 : v.t_td;
  double end = sg->has_landing ? v.t_land : (double)c->n * dt;
  if (hr->dj && sg->has_landing) {
    double tail = (double)sg->next_e * dt;
    end = fmin(tail, v.t_land + DJ_TRIAL_TAIL_S);
  }
  StanceTrial *t = stance_analysis_add_trial(c->out, hr->dj ? "jump" : "hop", start, end);
  if (!t)
    return STANCE_ENOMEM;
  t->side = stance;

  /* Slots: bilateral both plates and the total; unilateral the stance plate and the total; one
   * plate: the total. */
  unsigned slots = STANCE_HAS_TOTAL;
  if (c->has_limbs) {
    if (stance == STANCE_SIDE_BOTH)
      slots |= STANCE_HAS_LEFT | STANCE_HAS_RIGHT;
    else
      slots |= stance == STANCE_SIDE_LEFT ? STANCE_HAS_LEFT : STANCE_HAS_RIGHT;
  }

  /* Events on the total. */
  if (!sg->cut_start && (r = stance_trial_add_event(t, "touchdown", v.t_td, STANCE_SEL_TOTAL)) < 0)
    return r;

  /* Total peak (unfiltered) over the contact. */
  size_t c_end = sg->e < c->n ? sg->e + 1 : c->n;
  v.i_peak = sg->s;
  for (size_t i = sg->s; i < c_end; i++)
    if (fr[i] > fr[v.i_peak])
      v.i_peak = i;
  v.f_peak = fr[v.i_peak];
  v.peak_ok = !sg->cut_start && !any_bad(bad, sg->s, c_end);
  if (v.peak_ok &&
      (r = stance_trial_add_event(t, "peak", (double)v.i_peak * dt, STANCE_SEL_TOTAL)) < 0)
    return r;

  hop_dynamics(hr, sg, &v);
  /* Touchdown velocity when the following flight is missing: from the previous flight (hops)
   * or from the box height (drop jumps with the height in the metadata). */
  if (!v.vtd_ok && v.dv_ok && sg->prev_flight) {
    double t_prev_to =
        edge_down(f, bad, sg->prev_to, c->n, sg->lvl_before[STANCE_SEL_TOTAL], c->rate, dt);
    v.v_td = -0.5 * g * (v.t_td - t_prev_to);
    v.vtd_rule = "previous_flight";
    v.vtd_ok = true;
  } else if (!v.vtd_ok && v.dv_ok && sg->drop && hr->has_box) {
    v.v_td = -sqrt(2.0 * g * hr->box_h);
    v.vtd_rule = "box_height";
    v.vtd_ok = true;
  }

  /* COM path over the contact from the touchdown velocity: lowest point (COM displacement) and
   * the end of braking (velocity back to >= 0). Same trapezoid rule as the simulator's body. */
  bool com_ok = false, has_vzero = false;
  double com_disp = 0.0;
  size_t i_vzero = 0;
  if (v.vtd_ok && v.dv_ok) {
    double m = c->mass_kg;
    double t0 = (double)v.ia * dt;
    double vv = v.v_td + g * (v.t_td - t0);          /* velocity at sample ia */
    double y = -0.5 * (vv + v.v_td) * (v.t_td - t0); /* height above the touchdown point */
    double acc = f[v.ia] / m - g, y_min = 0.0;
    bool was_neg = vv < 0.0;
    for (size_t i = v.ia + 1; i <= v.ib; i++) {
      double a1 = f[i] / m - g;
      double v1 = vv + 0.5 * dt * (acc + a1);
      y += 0.5 * dt * (vv + v1);
      vv = v1;
      acc = a1;
      if (vv < 0.0)
        was_neg = true;
      if (was_neg && !has_vzero && vv >= 0.0) {
        has_vzero = true;
        i_vzero = i;
      }
      if (y < y_min)
        y_min = y;
    }
    com_disp = -y_min;
    com_ok = com_disp > 0.0;
  }
  if (has_vzero &&
      (r = stance_trial_add_event(t, "braking_end", (double)i_vzero * dt, STANCE_SEL_TOTAL)) < 0)
    return r;
  if (sg->e < c->n && (r = stance_trial_add_event(t, "takeoff", v.t_to, STANCE_SEL_TOTAL)) < 0)
    return r;
  if (sg->has_landing && (r = stance_trial_add_event(t, "landing", v.t_land, STANCE_SEL_TOTAL)) < 0)
    return r;

  /* Flags. */
  if (sg->cut_start &&
      (r = stance_trial_flag(t, STANCE_FLAG_INCOMPLETE, STANCE_SEVERITY_WARNING,
                             "the recording starts during this contact (takeoff at %.3f s): "
                             "touchdown, contact time and contact forces are unknown",
                             v.t_to)) < 0)
    return r;
  if (!sg->has_landing &&
      (r = stance_trial_flag(t, STANCE_FLAG_INCOMPLETE, STANCE_SEVERITY_WARNING,
                             "the recording ends %.3f s after the takeoff at %.3f s, before the "
                             "landing: flight time and jump height are unknown",
                             (double)c->n * dt - v.t_to, v.t_to)) < 0)
    return r;
  if (sg->drop && !hr->dj && sg->k > 0 &&
      (r = stance_trial_flag(t, "off_plates_before", STANCE_SEVERITY_INFO,
                             "the plates were unloaded for more than %.1f s before this "
                             "contact: it is a drop onto the plates, not a hop from a flight",
                             HOP_MAX_FLIGHT_S)) < 0)
    return r;
  if (hr->dj && !sg->drop &&
      (r = stance_trial_flag(t, FLAG_REBOUND, STANCE_SEVERITY_INFO,
                             "this contact follows the flight of a previous jump (a rebound), "
                             "not a drop from the box: no drop height")) < 0)
    return r;

  /* Force-curve metrics over the contact [touchdown, takeoff] (the takeoff sample included, as
   * the simulator's truth does). */
  StanceCurveSpec spec;
  memset(&spec, 0, sizeof spec);
  /* From the first sample at or after the (refined) touchdown to the first at or after the
   * takeoff, included: the truth's window. */
  spec.onset = v.ia + 1 <= sg->s ? v.ia + 1 : sg->s;
  spec.peak_from = spec.onset;
  spec.end = v.ib + 1 <= c->n ? v.ib + 1 : c->n;
  spec.mass_kg = c->mass_kg;
  spec.epochs = false;
  spec.impulse = true;
  spec.relative = true;
  if (stance == STANCE_SIDE_BOTH) {
    spec.weight_n[STANCE_SEL_LEFT] = stance_ctx_limb_weight(c, STANCE_SEL_LEFT);
    spec.weight_n[STANCE_SEL_RIGHT] = stance_ctx_limb_weight(c, STANCE_SEL_RIGHT);
    spec.weight_rule = c->limb_weight_rule ? c->limb_weight_rule : "half_bw";
  } else {
    int j = stance == STANCE_SIDE_LEFT ? STANCE_SEL_LEFT : STANCE_SEL_RIGHT;
    spec.weight_n[j] = c->system_weight_n;
    spec.weight_rule = "stance_limb";
  }
  spec.weight_n[STANCE_SEL_TOTAL] = c->system_weight_n;
  if (sg->cut_start) {
    /* The contact's forces before the recording are unknown: every curve metric is absent. */
    static const char *const curve_ids[][2] = {
        {"peak_force", "N"},     {"peak_force_net", "N"}, {"peak_force_rel", "N/kg"},
        {"peak_force_bw", "BW"}, {"time_to_peak", "s"},   {"mean_force", "N"},
        {"peak_rfd", "N/s"},     {"impulse", "N.s"},      {"net_impulse", "N.s"}};
    for (size_t k = 0; k < sizeof curve_ids / sizeof *curve_ids; k++) {
      StanceMetric *m;
      ADD(m, t, curve_ids[k][0], curve_ids[k][1], "curve.cut");
      for (int j = 0; j < 3; j++)
        if (slots & (j == 0 ? STANCE_HAS_LEFT : j == 1 ? STANCE_HAS_RIGHT : STANCE_HAS_TOTAL))
          stance_metric_absent(m, (StanceSel)j, "contact began before the recording");
    }
  } else {
    if ((r = stance_curve_metrics(c, t, slots, &spec)) < 0)
      return r;
    if (c->has_limbs && stance == STANCE_SIDE_BOTH && sg->e < c->n &&
        (r = stance_limb_timing(c, t, sg->s, c_end)) < 0)
      return r;
  }

  /* Contact and flight time. */
  StanceMetric *mc, *mf;
  ADD(mc, t, "contact_time", "s", "contact.threshold_crossing");
  thr_params(&mc->method, hr, slots);
  if (sg->cut_start)
    stance_metric_absent(mc, STANCE_SEL_TOTAL, "contact began before the recording");
  else if (sg->e >= c->n)
    stance_metric_absent(mc, STANCE_SEL_TOTAL, "contact runs past the recording end");
  else if (!v.ev_ok)
    stance_metric_absent(mc, STANCE_SEL_TOTAL, "gap or saturation at the touchdown or takeoff");
  else
    stance_metric_set(mc, STANCE_SEL_TOTAL, v.tc);
  /* Re-fetched by id after every add (the pointer is valid until the next add_metric). */
  ADD(mf, t, "flight_time", "s", "flight.threshold_crossing");
  thr_params(&mf->method, hr, slots);
  stance_method_param_num(&mf->method, "max_flight_s", HOP_MAX_FLIGHT_S);
  if (!sg->has_landing)
    stance_metric_absent(mf, STANCE_SEL_TOTAL, "the recording ends during the flight");
  else if (!v.fl_ok || sg->e >= c->n)
    stance_metric_absent(mf, STANCE_SEL_TOTAL, "gap or saturation during the flight");
  else
    stance_metric_set(mf, STANCE_SEL_TOTAL, v.tf);
  size_t n_metrics_ct = t->n_metrics - 2; /* index of contact_time */
  for (int j = STANCE_SEL_LEFT; j <= STANCE_SEL_RIGHT; j++) {
    if (!(slots & (j == STANCE_SEL_LEFT ? STANCE_HAS_LEFT : STANCE_HAS_RIGHT)))
      continue;
    if ((r = limb_timing(hr, t, sg, j, &t->metrics[n_metrics_ct], &t->metrics[n_metrics_ct + 1])) <
        0)
      return r;
  }

  bool tc_ok = !sg->cut_start && v.ev_ok && v.tc > 0.0;
  bool tf_ok = sg->has_landing && v.fl_ok && v.ev_ok && v.tf > 0.0;
  StanceMetric *m;

  ADD(m, t, "jump_height_flight", "m", "jump_height.flight_time");
  stance_method_param_num(&m->method, "g", g);
  stance_method_param_str(&m->method, "formula", "g tf^2 / 8");
  if (tf_ok)
    stance_metric_set(m, STANCE_SEL_TOTAL, g * v.tf * v.tf / 8.0);
  else
    stance_metric_absent(m, STANCE_SEL_TOTAL, "flight time unknown");

  ADD(m, t, "rsi", "m/s", "rsi.height_over_contact");
  stance_method_param_str(&m->method, "formula", "jump_height_flight / contact_time");
  if (tf_ok && tc_ok)
    stance_metric_set(m, STANCE_SEL_TOTAL, g * v.tf * v.tf / 8.0 / v.tc);
  else
    stance_metric_absent(m, STANCE_SEL_TOTAL, "%s unknown", tc_ok ? "flight time" : "contact time");

  /* Takeoff velocity by impulse-momentum: needs a touchdown velocity that does not come from the
   * following flight (else it would only repeat the flight time). */
  bool vto_ok = false;
  double v_to = 0.0;
  const char *vto_rule = NULL;
  char vto_why[96];
  snprintf(vto_why, sizeof vto_why, "%s", v.vtd_why);
  if (v.dv_ok && tc_ok) {
    if (sg->prev_flight && !sg->cut_start) {
      double t_prev_to =
          edge_down(f, bad, sg->prev_to, c->n, sg->lvl_before[STANCE_SEL_TOTAL], c->rate, dt);
      if (!any_bad(bad, sg->prev_to > 0 ? sg->prev_to - 1 : 0, sg->s + 1)) {
        v_to = -0.5 * g * (v.t_td - t_prev_to) + v.dv;
        vto_rule = "previous_flight";
        vto_ok = true;
      } else {
        snprintf(vto_why, sizeof vto_why, "gap or saturation in the previous flight");
      }
    } else if (sg->drop && hr->has_box) {
      v_to = -sqrt(2.0 * g * hr->box_h) + v.dv;
      vto_rule = "box_height";
      vto_ok = true;
    } else if (sg->drop) {
      snprintf(vto_why, sizeof vto_why,
               "touchdown velocity unknown: no box height in the recording (meta box_height_m)");
    } else {
      snprintf(vto_why, sizeof vto_why, "touchdown velocity unknown: the previous flight is cut");
    }
  } else if (!tc_ok) {
    snprintf(vto_why, sizeof vto_why, "contact time unknown");
  }
  ADD(m, t, "takeoff_velocity", "m/s", "takeoff_velocity.impulse_momentum");
  if (vto_rule)
    stance_method_param_str(&m->method, "touchdown_velocity", vto_rule);
  stance_method_param_num(&m->method, "mass_kg", c->mass_kg);
  if (vto_ok)
    stance_metric_set(m, STANCE_SEL_TOTAL, v_to);
  else
    stance_metric_absent(m, STANCE_SEL_TOTAL, "%s", vto_why);
  ADD(m, t, "jump_height_impulse", "m", "jump_height.impulse_momentum");
  if (vto_rule)
    stance_method_param_str(&m->method, "touchdown_velocity", vto_rule);
  if (vto_ok && v_to > 0.0)
    stance_metric_set(m, STANCE_SEL_TOTAL, v_to * v_to / (2.0 * g));
  else if (vto_ok)
    stance_metric_absent(m, STANCE_SEL_TOTAL, "takeoff velocity %.3f m/s is not upwards", v_to);
  else
    stance_metric_absent(m, STANCE_SEL_TOTAL, "%s", vto_why);

  /* Landing (touchdown) velocity, positive downwards. */
  ADD(m, t, "landing_velocity", "m/s", "landing_velocity.impulse_momentum");
  stance_method_param_str(&m->method, "takeoff_velocity", "flight_time");
  stance_method_param_str(&m->method, "formula", "dv - g tf / 2, dv = (impulse - W tc) / m");
  if (v.vtd_ok && strcmp(v.vtd_rule, "impulse_momentum_from_flight") == 0)
    stance_metric_set(m, STANCE_SEL_TOTAL, -v.v_td);
  else
    stance_metric_absent(m, STANCE_SEL_TOTAL, "%s", v.vtd_why);

  if (hr->dj) {
    ADD(m, t, "drop_height", "m",
        hr->has_box ? "drop_height.box" : "drop_height.touchdown_velocity");
    if (!sg->drop) {
      stance_metric_absent(m, STANCE_SEL_TOTAL, "a rebound contact, not a drop");
    } else if (hr->has_box) {
      stance_method_param_num(&m->method, "box_height_m", hr->box_h);
      stance_metric_set(m, STANCE_SEL_TOTAL, hr->box_h);
    } else {
      stance_method_param_str(&m->method, "formula", "landing_velocity^2 / (2 g)");
      if (v.vtd_ok && strcmp(v.vtd_rule, "impulse_momentum_from_flight") == 0)
        stance_metric_set(m, STANCE_SEL_TOTAL, v.v_td * v.v_td / (2.0 * g));
      else
        stance_metric_absent(m, STANCE_SEL_TOTAL, "%s", v.vtd_why);
    }
  }

  ADD(m, t, "com_displacement", "m", "com.double_integration");
  stance_method_param_str(&m->method, "touchdown_velocity", v.vtd_ok ? v.vtd_rule : "unknown");
  stance_method_param_str(&m->method, "integration", "trapezoid");
  if (com_ok)
    stance_metric_set(m, STANCE_SEL_TOTAL, com_disp);
  else
    stance_metric_absent(m, STANCE_SEL_TOTAL, "%s",
                         v.vtd_ok ? "the COM did not move down during the contact" : v.vtd_why);

  ADD(m, t, "leg_stiffness", "kN/m", "stiffness.dalleau_2004");
  stance_method_param_str(&m->method, "formula",
                          "m pi (tf + tc) / (tc^2 ((tf + tc) / pi - tc / 4))");
  stance_method_param_num(&m->method, "mass_kg", c->mass_kg);
  if (tf_ok && tc_ok && c->mass_kg > 0.0) {
    double den = v.tc * v.tc * ((v.tf + v.tc) / M_PI - v.tc / 4.0);
    if (den > 0.0)
      stance_metric_set(m, STANCE_SEL_TOTAL, c->mass_kg * M_PI * (v.tf + v.tc) / den / 1000.0);
    else
      stance_metric_absent(m, STANCE_SEL_TOTAL, "contact too long for the sine-wave model");
  } else {
    stance_metric_absent(m, STANCE_SEL_TOTAL, "%s",
                         !(c->mass_kg > 0.0) ? "no body weight (no still window): mass unknown"
                         : tc_ok             ? "flight time unknown"
                                             : "contact time unknown");
  }

  ADD(m, t, "vertical_stiffness", "kN/m", "stiffness.peak_force_over_com");
  stance_method_param_str(&m->method, "formula", "peak_force / com_displacement");
  if (com_ok && v.peak_ok)
    stance_metric_set(m, STANCE_SEL_TOTAL, v.f_peak / com_disp / 1000.0);
  else
    stance_metric_absent(m, STANCE_SEL_TOTAL, "%s",
                         !v.peak_ok ? "gap or saturation in the contact"
                         : v.vtd_ok ? "the COM did not move down during the contact"
                                    : v.vtd_why);

  /* Drop jumps: the landing after the flight. */
  if (hr->dj && sg->has_landing) {
    size_t a = sg->land, b = sg->land + (size_t)llround(DJ_LANDING_WINDOW_S * c->rate);
    if (b > sg->next_e)
      b = sg->next_e;
    if (b > c->n)
      b = c->n;
    ADD(m, t, "landing_peak_force", "N", "peak.landing");
    stance_method_param_num(&m->method, "window_s", (double)(b - a) * dt);
    bool lbad = any_bad(bad, a, b);
    for (int j = 0; j < 3; j++) {
      unsigned bit = j == 0 ? STANCE_HAS_LEFT : j == 1 ? STANCE_HAS_RIGHT : STANCE_HAS_TOTAL;
      if (!(slots & bit) || !c->f[j])
        continue;
      const double *fj = c->f_raw[j] ? c->f_raw[j] : c->f[j];
      if (lbad || b <= a) {
        stance_metric_absent(m, (StanceSel)j, "gap or saturation in the landing");
        continue;
      }
      double mx = fj[a];
      for (size_t i = a; i < b; i++)
        mx = fj[i] > mx ? fj[i] : mx;
      stance_metric_set(m, (StanceSel)j, mx);
    }
  }

  return STANCE_OK;
}

int
stance_analyse_hops(StanceCtx *c, StanceError *err)
{
  (void)err;
  if (!c || !c->out || !c->f[STANCE_SEL_TOTAL])
    return STANCE_EINVAL;
  HopRun hr;
  memset(&hr, 0, sizeof hr);
  hr.c = c;
  hr.dj = c->protocol == STANCE_PROTO_DJ;
  hr.bilateral = c->protocol != STANCE_PROTO_SL_HOP;
  hr.has_box = hr.dj && c->rec && meta_box_height(c->rec, &hr.box_h);

  double *thr = hr.thr;
  for (int j = 0; j < 3; j++)
    if (c->f[j])
      thr[j] = stance_ev_takeoff_threshold(c, (StanceSel)j, &hr.thr_method[j]);

  const double *f = c->f[STANCE_SEL_TOTAL];
  const size_t n = c->n;
  ContactList cl = {NULL, 0, 0};
  int r = find_contacts(f, c->bad, n, thr[STANCE_SEL_TOTAL], &cl);
  if (r < 0) {
    free(cl.v);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory listing contacts");
  }
  size_t min_contact = (size_t)ceil(HOP_MIN_CONTACT_S * c->rate - 1e-9);
  size_t min_flight = (size_t)ceil(HOP_MIN_FLIGHT_S * c->rate - 1e-9);
  size_t max_flight = (size_t)floor(HOP_MAX_FLIGHT_S * c->rate + 1e-9);
  size_t max_contact = (size_t)floor(HOP_MAX_CONTACT_S * c->rate + 1e-9);
  /* Half the body weight when it is known, else 5 times the threshold. */
  double min_peak =
      c->system_weight_n > 0.0 ? HOP_MIN_PEAK_BW * c->system_weight_n : 5.0 * thr[STANCE_SEL_TOTAL];
  clean_contacts(&cl, n, min_contact < 1 ? 1 : min_contact, min_peak,
                 min_flight < 1 ? 1 : min_flight);

  size_t n_short = 0;
  for (size_t k = 0; k < cl.n && r >= 0; k++) {
    const Contact *ct = &cl.v[k];
    if (ct->e >= n || ct->e - ct->s > max_contact)
      continue; /* standing, a countermovement, a landing, or cut by the end */
    n_short++;
    HopSeg sg;
    memset(&sg, 0, sizeof sg);
    sg.k = k;
    sg.s = ct->s;
    sg.e = ct->e;
    sg.cut_start = ct->s == 0;
    if (k + 1 < cl.n) {
      if (cl.v[k + 1].s - ct->e > max_flight)
        continue; /* left the plates after this contact */
      sg.has_landing = true;
      sg.land = cl.v[k + 1].s;
      sg.next_e = cl.v[k + 1].e;
    } else if (n - ct->e > max_flight) {
      continue; /* left the plates: no flight */
    }
    if (k > 0 && ct->s - cl.v[k - 1].e <= max_flight && cl.v[k - 1].e < n) {
      sg.prev_flight = true;
      sg.prev_to = cl.v[k - 1].e;
    } else if (!sg.cut_start) {
      sg.drop = true; /* off the plates before (or the recording starts unloaded) */
    }
    size_t span = (size_t)llround(REFINE_SPAN_S * c->rate);
    size_t fa = k > 0 ? cl.v[k - 1].e : 0;
    if (sg.s > fa + span)
      fa = sg.s - span;
    size_t fb = sg.has_landing ? sg.land : (ct->e + span < n ? ct->e + span : n);
    for (int j = 0; j < 3; j++) {
      sg.thr[j] = thr[j];
      if (!c->f[j])
        continue;
      sg.lvl_before[j] =
          sg.cut_start ? thr[j] : flight_level(c->f[j], c->bad, fa, sg.s, thr[j], c->rate);
      sg.lvl_after[j] = flight_level(c->f[j], c->bad, ct->e, fb, thr[j], c->rate);
    }

    /* The stance limb: the plate that carried the contact (a named side that disagrees is
     * flagged, the plates win). */
    StanceSide stance = STANCE_SIDE_BOTH, named = c->side;
    bool mismatch = false;
    double other_max = 0.0;
    if (!hr.bilateral) {
      stance = named;
      if (c->has_limbs) {
        double load[2] = {0.0, 0.0};
        for (int j = 0; j < 2; j++)
          for (size_t i = ct->s; i < ct->e; i++)
            if (!c->bad || !c->bad[i])
              load[j] += c->f[j][i];
        stance = load[0] >= load[1] ? STANCE_SIDE_LEFT : STANCE_SIDE_RIGHT;
        mismatch = named != STANCE_SIDE_BOTH && named != stance;
        int o = stance == STANCE_SIDE_LEFT ? STANCE_SEL_RIGHT : STANCE_SEL_LEFT;
        for (size_t i = ct->s; i < ct->e; i++)
          if ((!c->bad || !c->bad[i]) && c->f[o][i] > other_max)
            other_max = c->f[o][i];
      }
    }
    if ((r = hop_trial(&hr, &sg, stance)) < 0)
      break;
    StanceTrial *t = &c->out->trials[c->out->n_trials - 1];
    if (mismatch &&
        (r = stance_trial_flag(t, FLAG_SIDE_MISMATCH, STANCE_SEVERITY_WARNING,
                               "the test names the %s leg but the %s plate carried this hop: "
                               "analysed as a %s-leg hop",
                               stance_side_name(named), stance_side_name(stance),
                               stance_side_name(stance))) < 0)
      break;
    if (!hr.bilateral && c->has_limbs) {
      int o = stance == STANCE_SIDE_LEFT ? STANCE_SEL_RIGHT : STANCE_SEL_LEFT;
      if (other_max > thr[o] &&
          (r = stance_trial_flag(t, FLAG_CONTRALATERAL, STANCE_SEVERITY_WARNING,
                                 "the %s plate was loaded (up to %.0f N) during this %s-leg hop",
                                 limb_name(o), other_max, stance_side_name(stance))) < 0)
        break;
    }
    if (ct->n_dips > 0 &&
        (r = stance_trial_flag(t, FLAG_DOUBLE_CONTACT, STANCE_SEVERITY_WARNING,
                               "the force fell below the %.0f N threshold for less than %.0f ms "
                               "%d time%s during the contact, first at %.3f s: counted as one "
                               "contact",
                               thr[STANCE_SEL_TOTAL], HOP_MIN_FLIGHT_S * 1e3, ct->n_dips,
                               ct->n_dips > 1 ? "s" : "", (double)ct->dip_at * c->dt)) < 0)
      break;
    if (ct->n_blips_after > 0 &&
        (r = stance_trial_flag(t, FLAG_CONTACT_BLIP, STANCE_SEVERITY_WARNING,
                               "%d load blip%s (shorter than %.0f ms or below %.0f N) during "
                               "the flight, first at %.3f s: ignored (not a landing)",
                               ct->n_blips_after, ct->n_blips_after > 1 ? "s" : "",
                               HOP_MIN_CONTACT_S * 1e3, min_peak, (double)ct->blip_at * c->dt)) < 0)
      break;
    if (!sg.cut_start && sg.has_landing) {
      hr.count[2]++;
      if (t->side == STANCE_SIDE_LEFT)
        hr.count[0]++;
      else if (t->side == STANCE_SIDE_RIGHT)
        hr.count[1]++;
    }
  }
  size_t n_contacts = cl.n;
  free(cl.v);
  if (r < 0)
    return stance_error_set(err, r, "out of memory while analysing hops");

  if (c->out->n_trials == 0) {
    stance_analysis_flag(c->out, "no_trials", STANCE_SEVERITY_ERROR,
                         "no %s found: %zu contact%s above %.0f N, %zu of them %.1f s or shorter, "
                         "none ending in a flight of %.0f-%.0f ms with a landing",
                         hr.dj ? "drop jump" : "hop", n_contacts, n_contacts == 1 ? "" : "s",
                         thr[STANCE_SEL_TOTAL], n_short, HOP_MAX_CONTACT_S, HOP_MIN_FLIGHT_S * 1e3,
                         HOP_MAX_FLIGHT_S * 1e3);
  }
  StanceMetric *m = stance_analysis_add_metric(c->out, hr.dj ? "jump_count" : "hop_count", "count",
                                               "count.complete_contacts");
  if (!m)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory");
  m->no_asym = true;
  stance_method_param_str(&m->method, "counts",
                          "contacts with a touchdown, a takeoff and a landing in the recording");
  stance_metric_set(m, STANCE_SEL_TOTAL, hr.count[2]);
  if (!hr.bilateral && c->has_limbs) {
    stance_metric_set(m, STANCE_SEL_LEFT, hr.count[0]);
    stance_metric_set(m, STANCE_SEL_RIGHT, hr.count[1]);
  }
  return STANCE_OK;
}
