/* stance-calib-plan.c: calibration plans: building, the default plan, the text format,
 * validation, and the names of cells, positions and steps.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Numbers are read and written in the "C" locale whatever the process locale is (a GUI may have
 * set LC_NUMERIC to a decimal-comma locale): strtod_l and uselocale around snprintf.
 */
#include "stance-calib-private.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================================
 * Shared helpers
 * ====================================================================================== */

const StanceCalibration *
_stance_calib_geometry(const StanceCalibration *geometry, StanceCalibration *tmp)
{
  if (geometry)
    return geometry;
  stance_calibration_default(tmp);
  return tmp;
}

void
_stance_calib_half_spans(const StancePlateGeometry *g, double *a, double *b)
{
  double sa = 0.0, sb = 0.0;
  for (int c = 0; c < STANCE_CELLS_PER_PLATE; c++) {
    sa += fabs(g->cell[c].x_mm);
    sb += fabs(g->cell[c].y_mm);
  }
  *a = sa / STANCE_CELLS_PER_PLATE;
  *b = sb / STANCE_CELLS_PER_PLATE;
}

double
_stance_calib_full_scale_n(const StanceCalibPlan *plan, int plate, double g)
{
  return stance_calib_plan_max_mass_kg(plan, plate) * g;
}

double
_stance_calib_min_mass_kg(const StanceCalibPlan *plan)
{
  double m = 0.0;
  for (size_t k = 0; k < plan->n_steps; k++) {
    const StanceCalibStep *s = &plan->steps[k];
    if (s->kind != STANCE_CALIB_ZERO && (m == 0.0 || s->mass_kg < m))
      m = s->mass_kg;
  }
  return m;
}

size_t
_stance_calib_zero_before(const StanceCalibPlan *plan, size_t k)
{
  for (size_t j = k + 1; j-- > 0;)
    if (plan->steps[j].kind == STANCE_CALIB_ZERO)
      return j;
  return 0;
}

void
_stance_calib_zero_weights(const StanceCalibPlan *plan, const StanceCalibStepData *steps, size_t k,
                           size_t *za, double *wa, size_t *zb, double *wb)
{
  *za = *zb = _stance_calib_zero_before(plan, k);
  *wa = 1.0;
  *wb = 0.0;
  if (*za == k)
    return;
  size_t j = k + 1;
  while (j < plan->n_steps && plan->steps[j].kind != STANCE_CALIB_ZERO)
    j++;
  if (j >= plan->n_steps)
    return;
  *zb = j;
  double ta = 0.5 * (double)(steps[*za].avg_start + steps[*za].avg_end);
  double tb = 0.5 * (double)(steps[j].avg_start + steps[j].avg_end);
  double t = 0.5 * (double)(steps[k].avg_start + steps[k].avg_end);
  double lam = tb > ta ? (t - ta) / (tb - ta) : 0.0;
  lam = fmin(fmax(lam, 0.0), 1.0);
  *wa = 1.0 - lam;
  *wb = lam;
}

int
_stance_calib_corner_cell(const StancePlateGeometry *g, double x, double y)
{
  double a, b;
  _stance_calib_half_spans(g, &a, &b);
  if (fabs(x) <= 0.25 * a || fabs(y) <= 0.25 * b)
    return -1;
  for (int c = 0; c < STANCE_CELLS_PER_PLATE; c++)
    if ((g->cell[c].x_mm > 0.0) == (x > 0.0) && (g->cell[c].y_mm > 0.0) == (y > 0.0))
      return c;
  return -1;
}

void
_stance_calib_fmt_double(char *buf, size_t n, double v)
{
  locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  locale_t old = c_loc ? uselocale(c_loc) : (locale_t)0;
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  if (c_loc) {
    uselocale(old);
    freelocale(c_loc);
  }
}

/* ======================================================================================
 * Plans
 * ====================================================================================== */

StanceCalibPlan *
stance_calib_plan_new(const char *name)
{
  StanceCalibPlan *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  snprintf(p->name, sizeof p->name, "%s", name ? name : "");
  return p;
}

void
stance_calib_plan_free(StanceCalibPlan *plan)
{
  if (!plan)
    return;
  free(plan->steps);
  free(plan);
}

StanceCalibPlan *
stance_calib_plan_copy(const StanceCalibPlan *plan)
{
  if (!plan)
    return NULL;
  StanceCalibPlan *p = stance_calib_plan_new(plan->name);
  if (!p)
    return NULL;
  if (plan->n_steps > 0) {
    p->steps = malloc(plan->n_steps * sizeof *p->steps);
    if (!p->steps) {
      free(p);
      return NULL;
    }
    memcpy(p->steps, plan->steps, plan->n_steps * sizeof *p->steps);
  }
  p->n_steps = p->capacity = plan->n_steps;
  return p;
}

static int
plan_push(StanceCalibPlan *plan, const StanceCalibStep *s, StanceError *err)
{
  if (plan->n_steps >= STANCE_CALIB_MAX_STEPS)
    return stance_error_set(err, STANCE_ERANGE,
                            "the plan has more than %d steps (expected at most %d)",
                            STANCE_CALIB_MAX_STEPS, STANCE_CALIB_MAX_STEPS);
  if (plan->n_steps == plan->capacity) {
    size_t cap = plan->capacity ? plan->capacity * 2 : 64;
    StanceCalibStep *q = realloc(plan->steps, cap * sizeof *q);
    if (!q)
      return stance_error_set(err, STANCE_ENOMEM, "out of memory for %zu plan steps", cap);
    plan->steps = q;
    plan->capacity = cap;
  }
  plan->steps[plan->n_steps++] = *s;
  return STANCE_OK;
}

static int
step_check_values(const StanceCalibStep *s, StanceError *err)
{
  if (s->kind == STANCE_CALIB_ZERO)
    return STANCE_OK;
  if (s->kind != STANCE_CALIB_LOAD && s->kind != STANCE_CALIB_UNLOAD)
    return stance_error_set(err, STANCE_EINVAL,
                            "step kind %d is not known (expected zero, load "
                            "or unload)",
                            (int)s->kind);
  if (s->plate != 0 && s->plate != 1)
    return stance_error_set(err, STANCE_EINVAL,
                            "plate %d is not a plate (expected 0 for left or 1 for right)",
                            s->plate);
  if (!isfinite(s->x_mm) || !isfinite(s->y_mm) || fabs(s->x_mm) > 5000.0 || fabs(s->y_mm) > 5000.0)
    return stance_error_set(err, STANCE_ERANGE,
                            "position (%g, %g) mm is not usable (expected finite coordinates "
                            "on the plate, in mm)",
                            s->x_mm, s->y_mm);
  if (!isfinite(s->mass_kg) || s->mass_kg <= 0.0 || s->mass_kg > STANCE_CALIB_MAX_MASS_KG)
    return stance_error_set(err, STANCE_ERANGE,
                            "mass %g kg is outside the allowed range (expected more than 0 and "
                            "at most %g kg)",
                            s->mass_kg, STANCE_CALIB_MAX_MASS_KG);
  return STANCE_OK;
}

int
stance_calib_plan_add(StanceCalibPlan *plan, StanceCalibStepKind kind, int plate, double x_mm,
                      double y_mm, double mass_kg, StanceError *err)
{
  if (!plan)
    return stance_error_set(err, STANCE_EINVAL, "no plan given");
  StanceCalibStep s = {
      .kind = kind, .plate = plate, .x_mm = x_mm, .y_mm = y_mm, .mass_kg = mass_kg, .line = 0};
  if (kind == STANCE_CALIB_ZERO) {
    s.plate = -1;
    s.x_mm = s.y_mm = s.mass_kg = 0.0;
  }
  int r = step_check_values(&s, err);
  if (r < 0)
    return r;
  return plan_push(plan, &s, err);
}

double
stance_calib_plan_max_mass_kg(const StanceCalibPlan *plan, int plate)
{
  double m = 0.0;
  if (!plan)
    return 0.0;
  for (size_t k = 0; k < plan->n_steps; k++)
    if (plan->steps[k].kind != STANCE_CALIB_ZERO && plan->steps[k].plate == plate)
      m = fmax(m, plan->steps[k].mass_kg);
  return m;
}

int
stance_calib_plan_default(const StanceCalibration *geometry, const double *loads_kg, size_t n_loads,
                          double corner_fraction, StanceCalibPlan **out, StanceError *err)
{
  static const double default_loads[] = {20.0, 50.0, 100.0};
  if (!out)
    return stance_error_set(err, STANCE_EINVAL, "no output plan given");
  *out = NULL;
  if (!loads_kg || n_loads == 0) {
    loads_kg = default_loads;
    n_loads = 3;
  }
  if (n_loads < 3 || n_loads > 20)
    return stance_error_set(err, STANCE_EINVAL,
                            "%zu loads given (expected 3 to 20 masses, e.g. 20, 50, 100 kg)",
                            n_loads);
  for (size_t i = 0; i < n_loads; i++) {
    if (!isfinite(loads_kg[i]) || loads_kg[i] <= 0.0 || loads_kg[i] > STANCE_CALIB_MAX_MASS_KG)
      return stance_error_set(err, STANCE_ERANGE,
                              "load %zu is %g kg (expected more than 0 and at most %g kg)", i + 1,
                              loads_kg[i], STANCE_CALIB_MAX_MASS_KG);
    if (i > 0 && !(loads_kg[i] > loads_kg[i - 1]))
      return stance_error_set(err, STANCE_EINVAL,
                              "load %zu (%g kg) is not heavier than load %zu (%g kg) (expected "
                              "distinct masses in ascending order)",
                              i + 1, loads_kg[i], i, loads_kg[i - 1]);
  }
  if (corner_fraction == 0.0)
    corner_fraction = 0.7;
  if (!(corner_fraction > 0.3 && corner_fraction <= 1.0))
    return stance_error_set(err, STANCE_ERANGE,
                            "corner fraction %g is outside (0.3, 1] (expected the fraction of "
                            "each cell's coordinates where its corner load stands, e.g. 0.7)",
                            corner_fraction);
  StanceCalibration tmp;
  const StanceCalibration *geo = _stance_calib_geometry(geometry, &tmp);

  char name[96];
  snprintf(name, sizeof name, "Centre and corners (%.2g of the cell positions), %zu loads to %g kg",
           corner_fraction, n_loads, loads_kg[n_loads - 1]);
  StanceCalibPlan *plan = stance_calib_plan_new(name);
  if (!plan)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for a plan");
  int r = stance_calib_plan_add(plan, STANCE_CALIB_ZERO, -1, 0, 0, 0, err);
  for (int pl = 0; pl < STANCE_N_PLATES && r == 0; pl++) {
    for (int pos = 0; pos <= STANCE_CELLS_PER_PLATE && r == 0; pos++) {
      double x = 0.0, y = 0.0;
      if (pos > 0) {
        /* rounded to 0.1 mm: positions are marked on the plate by hand */
        x = round(corner_fraction * geo->plate[pl].cell[pos - 1].x_mm * 10.0) / 10.0;
        y = round(corner_fraction * geo->plate[pl].cell[pos - 1].y_mm * 10.0) / 10.0;
      }
      for (size_t i = 0; i < n_loads && r == 0; i++)
        r = stance_calib_plan_add(plan, STANCE_CALIB_LOAD, pl, x, y, loads_kg[i], err);
      for (size_t i = n_loads - 1; i-- > 0 && r == 0;)
        r = stance_calib_plan_add(plan, STANCE_CALIB_UNLOAD, pl, x, y, loads_kg[i], err);
      if (r == 0)
        r = stance_calib_plan_add(plan, STANCE_CALIB_ZERO, -1, 0, 0, 0, err);
    }
  }
  if (r == 0)
    r = stance_calib_plan_validate(plan, geo, err);
  if (r < 0) {
    stance_calib_plan_free(plan);
    return r;
  }
  *out = plan;
  return STANCE_OK;
}

/* ======================================================================================
 * Names
 * ====================================================================================== */

const char *
stance_calib_cell_name(int cell)
{
  static const char *names[] = {"front-left", "front-right", "rear-right", "rear-left"};
  return cell >= 1 && cell <= 4 ? names[cell - 1] : "?";
}

const char *
stance_calib_channel_text(int channel, char *buf, size_t n)
{
  if (channel < 0 || channel >= STANCE_N_CELLS) {
    snprintf(buf, n, "channel %d", channel);
    return buf;
  }
  int cell = channel % STANCE_CELLS_PER_PLATE + 1;
  snprintf(buf, n, "%s plate cell %d (%s)",
           _stance_calib_plate_name(channel / STANCE_CELLS_PER_PLATE), cell,
           stance_calib_cell_name(cell));
  return buf;
}

const char *
stance_calib_position_name(const StancePlateGeometry *g, double x_mm, double y_mm, char *buf,
                           size_t n)
{
  double a, b;
  _stance_calib_half_spans(g, &a, &b);
  bool cx = fabs(x_mm) <= 0.25 * a, cy = fabs(y_mm) <= 0.25 * b;
  int corner = _stance_calib_corner_cell(g, x_mm, y_mm);
  if (cx && cy)
    snprintf(buf, n, "centre");
  else if (corner >= 0)
    snprintf(buf, n, "%s corner", stance_calib_cell_name(corner + 1));
  else if (cx)
    snprintf(buf, n, "%s edge", y_mm > 0.0 ? "front" : "rear");
  else
    snprintf(buf, n, "%s edge", x_mm > 0.0 ? "right" : "left");
  return buf;
}

const char *
stance_calib_step_kind_name(StanceCalibStepKind kind)
{
  switch (kind) {
  case STANCE_CALIB_ZERO: return "zero";
  case STANCE_CALIB_LOAD: return "load";
  case STANCE_CALIB_UNLOAD: return "unload";
  }
  return "?";
}

const char *
stance_calib_step_text(const StanceCalibPlan *plan, size_t k, const StanceCalibration *geometry,
                       char *buf, size_t n)
{
  if (!plan || k >= plan->n_steps) {
    snprintf(buf, n, "step %zu", k + 1);
    return buf;
  }
  const StanceCalibStep *s = &plan->steps[k];
  if (s->kind == STANCE_CALIB_ZERO) {
    snprintf(buf, n, "step %zu (both plates empty)", k + 1);
    return buf;
  }
  StanceCalibration tmp;
  const StanceCalibration *geo = _stance_calib_geometry(geometry, &tmp);
  char pos[48], x[32], y[32], m[32];
  stance_calib_position_name(&geo->plate[s->plate], s->x_mm, s->y_mm, pos, sizeof pos);
  _stance_calib_fmt_double(x, sizeof x, s->x_mm);
  _stance_calib_fmt_double(y, sizeof y, s->y_mm);
  _stance_calib_fmt_double(m, sizeof m, s->mass_kg);
  snprintf(buf, n, "step %zu (%s plate, %s x %s y %s mm, %s kg, %s)", k + 1,
           _stance_calib_plate_name(s->plate), pos, x, y, m,
           s->kind == STANCE_CALIB_LOAD ? "loading" : "unloading");
  return buf;
}

/* ======================================================================================
 * Validation
 * ====================================================================================== */

/* "step 14 (plan line 20)" or "step 14". */
static const char *
step_where(const StanceCalibPlan *plan, size_t k, char *buf, size_t n)
{
  if (plan->steps[k].line > 0)
    snprintf(buf, n, "step %zu (plan line %d)", k + 1, plan->steps[k].line);
  else
    snprintf(buf, n, "step %zu", k + 1);
  return buf;
}

int
stance_calib_plan_validate(const StanceCalibPlan *plan, const StanceCalibration *geometry,
                           StanceError *err)
{
  if (!plan)
    return stance_error_set(err, STANCE_EINVAL, "no plan given");
  StanceCalibration tmp;
  const StanceCalibration *geo = _stance_calib_geometry(geometry, &tmp);
  int r = stance_calibration_validate(geo, err);
  if (r < 0)
    return r;
  char w[64];
  if (plan->n_steps == 0)
    return stance_error_set(err, STANCE_ENODATA,
                            "the plan has no steps (expected a zero step, "
                            "then loads on each plate)");
  if (plan->steps[0].kind != STANCE_CALIB_ZERO)
    return stance_error_set(err, STANCE_EINVAL,
                            "%s is a %s step (expected the plan to start with 'zero': both plates "
                            "empty)",
                            step_where(plan, 0, w, sizeof w),
                            stance_calib_step_kind_name(plan->steps[0].kind));
  const StanceCalibStep *prev = NULL; /* previous step of the current run */
  for (size_t k = 0; k < plan->n_steps; k++) {
    const StanceCalibStep *s = &plan->steps[k];
    step_where(plan, k, w, sizeof w);
    StanceError e2 = {0};
    if (step_check_values(s, &e2) < 0)
      return stance_error_set(err, e2.code, "%s: %s", w, e2.message);
    if (s->kind == STANCE_CALIB_ZERO) {
      if (k > 0 && plan->steps[k - 1].kind == STANCE_CALIB_ZERO)
        return stance_error_set(err, STANCE_EINVAL,
                                "%s: a second 'zero' in a row (expected a load between two zero "
                                "steps)",
                                w);
      prev = NULL;
      continue;
    }
    const StancePlateGeometry *g = &geo->plate[s->plate];
    if (fabs(s->x_mm) > 0.5 * g->width_mm || fabs(s->y_mm) > 0.5 * g->length_mm)
      return stance_error_set(err, STANCE_ERANGE,
                              "%s: position x %g y %g mm is off the %s plate (expected |x| <= %g "
                              "and |y| <= %g mm)",
                              w, s->x_mm, s->y_mm, _stance_calib_plate_name(s->plate),
                              0.5 * g->width_mm, 0.5 * g->length_mm);
    if (!prev) {
      if (s->kind != STANCE_CALIB_LOAD)
        return stance_error_set(err, STANCE_EINVAL,
                                "%s: 'unload' right after empty plates (expected 'load': masses "
                                "are first added)",
                                w);
    } else {
      if (!_stance_calib_same_position(prev, s->plate, s->x_mm, s->y_mm))
        return stance_error_set(err, STANCE_EINVAL,
                                "%s: the mass moves to another plate or position without the "
                                "plates being emptied (expected a 'zero' step before it)",
                                w);
      if (s->kind == STANCE_CALIB_LOAD && !(s->mass_kg > prev->mass_kg))
        return stance_error_set(err, STANCE_EINVAL,
                                "%s: 'load' of %g kg after %g kg (expected a heavier mass when "
                                "loading, or 'unload')",
                                w, s->mass_kg, prev->mass_kg);
      if (s->kind == STANCE_CALIB_UNLOAD && !(s->mass_kg < prev->mass_kg))
        return stance_error_set(err, STANCE_EINVAL,
                                "%s: 'unload' to %g kg after %g kg (expected a lighter mass when "
                                "unloading, or 'load')",
                                w, s->mass_kg, prev->mass_kg);
    }
    prev = s;
  }
  /* Identifiability per plate: 3 distinct masses, 3 positions not on one line. */
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    const char *pn = _stance_calib_plate_name(pl);
    double masses[3];
    int n_m = 0;
    double px[3], py[3];
    int n_p = 0;
    bool spread = false;
    for (size_t k = 0; k < plan->n_steps; k++) {
      const StanceCalibStep *s = &plan->steps[k];
      if (s->kind == STANCE_CALIB_ZERO || s->plate != pl)
        continue;
      bool seen = false;
      for (int i = 0; i < n_m; i++)
        seen = seen || fabs(masses[i] - s->mass_kg) < 1e-9;
      if (!seen && n_m < 3)
        masses[n_m++] = s->mass_kg;
      seen = false;
      for (int i = 0; i < n_p; i++)
        seen = seen || _stance_calib_same_point(px[i], py[i], s->x_mm, s->y_mm);
      if (seen)
        continue;
      if (n_p < 2) {
        px[n_p] = s->x_mm;
        py[n_p] = s->y_mm;
        n_p++;
      } else if (!spread) {
        /* twice the area of the triangle with the first two positions, mm^2 */
        double area2 =
            fabs((px[1] - px[0]) * (s->y_mm - py[0]) - (py[1] - py[0]) * (s->x_mm - px[0]));
        double a, b;
        _stance_calib_half_spans(&geo->plate[pl], &a, &b);
        if (area2 > 0.01 * a * b)
          spread = true;
      }
    }
    if (n_m < 3)
      return stance_error_set(err, STANCE_EINVAL,
                              "the plan loads the %s plate with %d distinct mass%s (expected at "
                              "least 3, up to the plate's range)",
                              pn, n_m, n_m == 1 ? "" : "es");
    if (!spread)
      return stance_error_set(err, STANCE_EINVAL,
                              "the plan's positions on the %s plate lie on one line or are fewer "
                              "than 3 (expected the centre and a point near each cell, so that "
                              "each cell's gain can be found)",
                              pn);
  }
  return STANCE_OK;
}

/* ======================================================================================
 * Text format
 * ====================================================================================== */

typedef struct {
  const char *s; /* token start */
  size_t len;
  size_t col; /* 1-based column */
} Tok;

/* Splits line [p, p + n) (comment already cut) into whitespace-separated tokens. */
static int
tokenize(const char *p, size_t n, Tok *toks, int max)
{
  int nt = 0;
  size_t i = 0;
  while (i < n) {
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
      i++;
    if (i >= n)
      break;
    size_t st = i;
    while (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
      i++;
    if (nt < max)
      toks[nt] = (Tok){p + st, i - st, st + 1};
    nt++;
  }
  return nt;
}

static bool
tok_is(const Tok *t, const char *word)
{
  return t->len == strlen(word) && memcmp(t->s, word, t->len) == 0;
}

/* Strict number: the whole token, finite. */
static bool
tok_number(const Tok *t, locale_t loc, double *out)
{
  char buf[64];
  if (t->len == 0 || t->len >= sizeof buf)
    return false;
  memcpy(buf, t->s, t->len);
  buf[t->len] = '\0';
  char *end = NULL;
  errno = 0;
  double v = strtod_l(buf, &end, loc);
  if (end != buf + t->len || errno == ERANGE || !isfinite(v))
    return false;
  *out = v;
  return true;
}

/* The token as text for messages, cut to 40 bytes. */
static const char *
tok_text(const Tok *t, char *buf, size_t n)
{
  size_t len = t->len < 40 ? t->len : 40;
  if (len >= n)
    len = n - 1;
  memcpy(buf, t->s, len);
  buf[len] = '\0';
  return buf;
}

static int
parse_lines(const char *text, size_t len, locale_t loc, StanceCalibPlan *plan, StanceError *err)
{
  bool have_version = false;
  size_t line_no = 0, pos = 0;
  while (pos < len) {
    size_t eol = pos;
    while (eol < len && text[eol] != '\n')
      eol++;
    line_no++;
    const char *line = text + pos;
    size_t n = eol - pos;
    pos = eol + 1;
    for (size_t i = 0; i < n; i++)
      if (line[i] == '\0')
        return stance_error_set(err, STANCE_EFORMAT,
                                "line %zu, column %zu: a NUL byte (expected plain text)", line_no,
                                i + 1);
    const char *hash = memchr(line, '#', n);
    size_t content = hash ? (size_t)(hash - line) : n;
    Tok t[8];
    char tb[48];
    int nt = tokenize(line, content, t, 8);
    if (nt == 0)
      continue;
    if (!have_version) {
      double v;
      if (!tok_is(&t[0], "stance-calibration-plan"))
        return stance_error_set(err, STANCE_EFORMAT,
                                "line %zu, column %zu: '%s' (expected the first line to be "
                                "'stance-calibration-plan %d')",
                                line_no, t[0].col, tok_text(&t[0], tb, sizeof tb),
                                STANCE_CALIB_PLAN_VERSION);
      if (nt != 2 || !tok_number(&t[1], loc, &v) || v != floor(v))
        return stance_error_set(err, STANCE_EFORMAT,
                                "line %zu: expected 'stance-calibration-plan %d' (the format "
                                "version, one whole number)",
                                line_no, STANCE_CALIB_PLAN_VERSION);
      if (v != STANCE_CALIB_PLAN_VERSION)
        return stance_error_set(err, STANCE_EVERSION,
                                "line %zu, column %zu: plan format version %g (this build reads "
                                "version %d)",
                                line_no, t[1].col, v, STANCE_CALIB_PLAN_VERSION);
      have_version = true;
      continue;
    }
    if (tok_is(&t[0], "name")) {
      if (plan->n_steps > 0 || plan->name[0])
        return stance_error_set(err, STANCE_EFORMAT,
                                "line %zu, column 1: 'name' after the steps or given twice "
                                "(expected one 'name' line before the first step)",
                                line_no);
      if (nt < 2)
        return stance_error_set(err, STANCE_EFORMAT,
                                "line %zu: 'name' without a name (expected 'name <text>')",
                                line_no);
      /* the rest of the line, trailing blanks cut */
      const char *ns = t[1].s;
      size_t nl = (size_t)(line + content - ns);
      while (nl > 0 && (ns[nl - 1] == ' ' || ns[nl - 1] == '\t' || ns[nl - 1] == '\r'))
        nl--;
      if (nl >= sizeof plan->name)
        return stance_error_set(err, STANCE_ERANGE,
                                "line %zu, column %zu: the name is %zu bytes long (expected at "
                                "most %zu)",
                                line_no, t[1].col, nl, sizeof plan->name - 1);
      memcpy(plan->name, ns, nl);
      plan->name[nl] = '\0';
      continue;
    }
    StanceCalibStep s = {.plate = -1, .line = (int)line_no};
    if (tok_is(&t[0], "zero")) {
      if (nt != 1)
        return stance_error_set(err, STANCE_EFORMAT,
                                "line %zu, column %zu: '%s' after 'zero' (expected nothing: both "
                                "plates empty)",
                                line_no, t[1].col, tok_text(&t[1], tb, sizeof tb));
      s.kind = STANCE_CALIB_ZERO;
    } else if (tok_is(&t[0], "load") || tok_is(&t[0], "unload")) {
      s.kind = tok_is(&t[0], "load") ? STANCE_CALIB_LOAD : STANCE_CALIB_UNLOAD;
      static const char *what[] = {"", "a plate (left or right)", "x in mm (a number)",
                                   "y in mm (a number)", "the mass in kg (a number)"};
      if (nt < 5)
        return stance_error_set(err, STANCE_EFORMAT,
                                "line %zu: '%s' needs %s after it (expected '%s <left|right> "
                                "<x_mm> <y_mm> <mass_kg>')",
                                line_no, tok_text(&t[0], tb, sizeof tb), what[nt],
                                stance_calib_step_kind_name(s.kind));
      if (nt > 5)
        return stance_error_set(err, STANCE_EFORMAT,
                                "line %zu, column %zu: '%s' after the mass (expected the line to "
                                "end; comments start with '#')",
                                line_no, t[5].col, tok_text(&t[5], tb, sizeof tb));
      if (tok_is(&t[1], "left"))
        s.plate = 0;
      else if (tok_is(&t[1], "right"))
        s.plate = 1;
      else
        return stance_error_set(err, STANCE_EFORMAT,
                                "line %zu, column %zu: '%s' is not a plate (expected left or "
                                "right)",
                                line_no, t[1].col, tok_text(&t[1], tb, sizeof tb));
      double *dst[3] = {&s.x_mm, &s.y_mm, &s.mass_kg};
      for (int i = 0; i < 3; i++)
        if (!tok_number(&t[2 + i], loc, dst[i]))
          return stance_error_set(err, STANCE_EFORMAT,
                                  "line %zu, column %zu: '%s' is not a number (expected %s, e.g. "
                                  "%s)",
                                  line_no, t[2 + i].col, tok_text(&t[2 + i], tb, sizeof tb),
                                  what[2 + i], i == 2 ? "50" : "-119.5");
      StanceError e2 = {0};
      if (step_check_values(&s, &e2) < 0)
        return stance_error_set(err, e2.code, "line %zu: %s", line_no, e2.message);
    } else {
      return stance_error_set(err, STANCE_EFORMAT,
                              "line %zu, column %zu: '%s' is not a step (expected zero, load, "
                              "unload or name)",
                              line_no, t[0].col, tok_text(&t[0], tb, sizeof tb));
    }
    int r = plan_push(plan, &s, err);
    if (r < 0)
      return stance_error_prefix(err, "line %zu: ", line_no);
  }
  if (!have_version)
    return stance_error_set(err, STANCE_ENODATA,
                            "the plan is empty (expected a first line 'stance-calibration-plan "
                            "%d', then the steps)",
                            STANCE_CALIB_PLAN_VERSION);
  return STANCE_OK;
}

int
stance_calib_plan_parse(const char *text, size_t len, StanceCalibPlan **out, StanceError *err)
{
  if (!out)
    return stance_error_set(err, STANCE_EINVAL, "no output plan given");
  *out = NULL;
  if (!text)
    return stance_error_set(err, STANCE_EINVAL, "no plan text given");
  locale_t loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (!loc)
    return stance_error_set(err, STANCE_ENOMEM, "could not create the C locale for numbers");
  StanceCalibPlan *plan = stance_calib_plan_new(NULL);
  int r = plan ? parse_lines(text, len, loc, plan, err)
               : stance_error_set(err, STANCE_ENOMEM, "out of memory for a plan");
  freelocale(loc);
  if (r == 0)
    r = stance_calib_plan_validate(plan, NULL, err);
  if (r < 0) {
    stance_calib_plan_free(plan);
    return r;
  }
  *out = plan;
  return STANCE_OK;
}

int
stance_calib_plan_read_file(const char *path, StanceCalibPlan **out, StanceError *err)
{
  if (!out)
    return stance_error_set(err, STANCE_EINVAL, "no output plan given");
  *out = NULL;
  if (!path)
    return stance_error_set(err, STANCE_EINVAL, "no plan file given");
  FILE *f = fopen(path, "rb");
  if (!f)
    return stance_error_set(err, STANCE_EIO, "%s: cannot open: %s (expected a readable plan file)",
                            path, strerror(errno));
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  int r = STANCE_OK;
  while (buf) {
    if (n == cap) {
      if (cap >= ((size_t)1 << 24)) {
        r = stance_error_set(err, STANCE_ERANGE, "%s: larger than 16 MiB (expected a plan text)",
                             path);
        break;
      }
      char *q = realloc(buf, cap * 2);
      if (!q) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = q;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f))
        r = stance_error_set(err, STANCE_EIO, "%s: read failed: %s", path, strerror(errno));
      break;
    }
  }
  fclose(f);
  if (!buf)
    return stance_error_set(err, STANCE_ENOMEM, "%s: out of memory reading the plan", path);
  if (r == 0) {
    r = stance_calib_plan_parse(buf, n, out, err);
    if (r < 0)
      stance_error_prefix(err, "%s: ", path);
  }
  free(buf);
  return r;
}

int
stance_calib_plan_write(const StanceCalibPlan *plan, FILE *out, StanceError *err)
{
  if (!plan || !out)
    return stance_error_set(err, STANCE_EINVAL, "no plan or no output stream given");
  for (const char *c = plan->name; *c; c++)
    if (*c == '\n' || *c == '\r' || *c == '#')
      return stance_error_set(err, STANCE_EINVAL,
                              "the plan's name contains a line break or '#' (expected one line "
                              "of text)");
  fprintf(out, "# Stance calibration plan (docs/calibration.md, \"Plan format\")\n");
  fprintf(out, "stance-calibration-plan %d\n", STANCE_CALIB_PLAN_VERSION);
  if (plan->name[0])
    fprintf(out, "name %s\n", plan->name);
  fprintf(out, "# kind   plate  x_mm  y_mm  mass_kg\n");
  for (size_t k = 0; k < plan->n_steps; k++) {
    const StanceCalibStep *s = &plan->steps[k];
    if (s->kind == STANCE_CALIB_ZERO) {
      fprintf(out, "zero\n");
      continue;
    }
    char x[32], y[32], m[32];
    _stance_calib_fmt_double(x, sizeof x, s->x_mm);
    _stance_calib_fmt_double(y, sizeof y, s->y_mm);
    _stance_calib_fmt_double(m, sizeof m, s->mass_kg);
    fprintf(out, "%-6s %-5s %s %s %s\n", stance_calib_step_kind_name(s->kind),
            _stance_calib_plate_name(s->plate), x, y, m);
  }
  if (fflush(out) != 0 || ferror(out))
    return stance_error_set(err, STANCE_EIO, "writing the plan failed: %s", strerror(errno));
  return STANCE_OK;
}
