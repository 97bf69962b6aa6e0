/* test-report.c: the PDF asymmetry report (src/store/stance-report.c) on simulated sessions.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Sessions are simulated with known asymmetries (src/daq/stance-sim.h) and analysed with
 * stance_analyse(); the report is written and read back with poppler's tools:
 *   - pdftotext -layout: the athlete, the test titles, metric names, the left/right means and
 *     asymmetries exactly as the analysis computed them (formatted as the report formats them),
 *     the formula written out, the light names, rejected/interrupted marks, "page N of M";
 *   - pdftotext -bbox: every word's box, to check that no text crosses a margin and no two words
 *     overlap, and to find where a row's traffic light is;
 *   - pdftoppm -png: the pixels, to check that the dot beside a light's name has that light's
 *     colour and that the left and right trace colours are drawn in the overlay;
 *   - pdfinfo: the page count.
 * Everything the report prints is in local time: the tests pin TZ=UTC.
 */
#include "stance-analysis.h"
#include "stance-config.h"
#include "stance-report.h"
#include "stance-test.h"

#include <cairo.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Colours the report uses (stance-report.c): the pixel checks look for them. */
static const int RGB_GREEN[3] = {26, 152, 80};
static const int RGB_AMBER[3] = {255, 176, 0};
static const int RGB_RED[3] = {204, 32, 39};
static const int RGB_LEFT[3] = {0, 114, 178};
static const int RGB_RIGHT[3] = {230, 97, 0};
static const int RGB_TOTAL[3] = {64, 64, 64};

/* Page geometry of the report, points. */
#define PAGE_W 595.276
#define PAGE_H 841.89
#define MARGIN_X 51.0

#define SESSION_MS INT64_C(1773480000000) /* 2026-03-14 09:20:00 UTC */
#define GENERATED_MS INT64_C(1773486000000)

/* ======================================================================================
 * Helpers: running poppler, reading pixels
 * ====================================================================================== */

/* The whole standard output of a shell command (fails the test when it cannot run). */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
run(const char *fmt, ...)
{
  char cmd[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  FILE *p = popen(cmd, "r");
  ck_assert_msg(p != NULL, "cannot run '%s'", cmd);
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  size_t k;
  while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
    n += k;
    if (cap - n < 4096) {
      cap *= 2;
      buf = realloc(buf, cap);
      ck_assert_ptr_nonnull(buf);
    }
  }
  buf[n] = '\0';
  int st = pclose(p);
  ck_assert_msg(st == 0, "'%s' failed (status %d): is poppler-utils installed?", cmd, st);
  return buf;
}

static int
pdf_pages(const char *pdf)
{
  char *info = run("pdfinfo '%s'", pdf);
  const char *p = strstr(info, "Pages:");
  ck_assert_msg(p != NULL, "pdfinfo gave no page count:\n%s", info);
  int n = atoi(p + 6);
  free(info);
  return n;
}

/* Text of page (1-based; 0: every page) in layout mode. */
static char *
pdf_text(const char *pdf, int page)
{
  if (page > 0)
    return run("pdftotext -layout -f %d -l %d '%s' -", page, page, pdf);
  return run("pdftotext -layout '%s' -", pdf);
}

/* The text in reading order with every run of white space as one space: phrases that the report
 * wraps inside a table cell or a paragraph read whole. */
static char *
pdf_flat(const char *pdf)
{
  char *t = run("pdftotext '%s' -", pdf);
  char *w = t;
  bool space = false;
  for (const char *r = t; *r; r++) {
    if (*r == ' ' || *r == '\n' || *r == '\t' || *r == '\f') {
      space = true;
      continue;
    }
    if (space && w != t)
      *w++ = ' ';
    space = false;
    *w++ = *r;
  }
  *w = '\0';
  return t;
}

/* The first page whose text holds needle; 0 when none. One pdftotext run: pages are separated
 * by form feeds. */
static int
page_with(const char *pdf, int pages, const char *needle)
{
  char *t = pdf_text(pdf, 0);
  int page = 1, found = 0;
  for (char *p = t; p && page <= pages; page++) {
    char *ff = strchr(p, '\f');
    if (ff)
      *ff = '\0';
    if (strstr(p, needle)) {
      found = page;
      break;
    }
    p = ff ? ff + 1 : NULL;
  }
  free(t);
  return found;
}

typedef struct {
  double x0, y0, x1, y1; /* points, y down */
  char text[128];
} Word;

typedef struct {
  Word *w;
  size_t n;
} Words;

static double
attr(const char *tag, const char *name)
{
  char key[32];
  snprintf(key, sizeof key, "%s=\"", name);
  const char *p = strstr(tag, key);
  if (!p) /* (no assertion per word when all is well: see assert_clean_layout()) */
    ck_abort_msg("pdftotext -bbox: a word without %s", name);
  return strtod(p + strlen(key), NULL);
}

/* Every word of pages first..last with its box (pdftotext -bbox), one Words per page. */
static Words *
pdf_words_range(const char *pdf, int first, int last)
{
  char *html = run("pdftotext -bbox -f %d -l %d '%s' -", first, last, pdf);
  Words *pages = calloc((size_t)(last - first + 1), sizeof *pages);
  ck_assert_ptr_nonnull(pages);
  int pg = -1;
  size_t cap = 0;
  const char *p = html;
  while ((p = strchr(p, '<'))) {
    if (strncmp(p, "<page ", 6) == 0) {
      if (++pg > last - first)
        ck_abort_msg("pdftotext -bbox gave more than %d pages", last - first + 1);
      cap = 0;
      p++;
      continue;
    }
    if (strncmp(p, "<word ", 6) != 0) {
      p++;
      continue;
    }
    const char *gt = strchr(p, '>');
    const char *end = gt ? strstr(gt, "</word>") : NULL;
    if (pg < 0 || !end)
      ck_abort_msg("pdftotext -bbox: a word outside a page or not closed");
    Words *ws = &pages[pg];
    if (ws->n == cap) {
      cap = cap ? cap * 2 : 256;
      ws->w = realloc(ws->w, cap * sizeof *ws->w);
      if (!ws->w)
        ck_abort_msg("out of memory");
    }
    Word *w = &ws->w[ws->n++];
    w->x0 = attr(p, "xMin");
    w->y0 = attr(p, "yMin");
    w->x1 = attr(p, "xMax");
    w->y1 = attr(p, "yMax");
    size_t len = (size_t)(end - gt - 1);
    if (len >= sizeof w->text)
      len = sizeof w->text - 1;
    memcpy(w->text, gt + 1, len);
    w->text[len] = '\0';
    p = end;
  }
  free(html);
  ck_assert_int_eq(pg, last - first);
  return pages;
}

/* Every word of one page with its box. */
static Words
pdf_words(const char *pdf, int page)
{
  Words *one = pdf_words_range(pdf, page, page);
  Words ws = one[0];
  free(one);
  return ws;
}

/* The first word equal to text whose next word is next (NULL: any), at or after index from. */
static const Word *
find_word(const Words *ws, const char *text, const char *next, size_t *at)
{
  for (size_t i = at ? *at : 0; i < ws->n; i++) {
    if (strcmp(ws->w[i].text, text) != 0)
      continue;
    if (next && (i + 1 >= ws->n || strcmp(ws->w[i + 1].text, next) != 0))
      continue;
    if (at)
      *at = i;
    return &ws->w[i];
  }
  return NULL;
}

/* A light word ("green", "amber", "red") on the same line as word w (its baseline within 3 pt). */
static const Word *
light_on_row(const Words *ws, const Word *w)
{
  for (size_t i = 0; i < ws->n; i++) {
    const Word *x = &ws->w[i];
    if (fabs(x->y1 - w->y1) > 3.0 || x->x0 <= w->x1)
      continue;
    if (!strcmp(x->text, "green") || !strcmp(x->text, "amber") || !strcmp(x->text, "red"))
      return x;
  }
  return NULL;
}

typedef struct {
  cairo_surface_t *s;
  int w, h, stride;
  const unsigned char *data;
  double scale; /* pixels per point */
} Png;

/* Page rendered at dpi by pdftoppm. */
static Png
pdf_png(const char *pdf, int page, int dpi, const char *dir)
{
  char base[1024], path[1100];
  snprintf(base, sizeof base, "%s/page-%d-%d", dir, page, dpi);
  char *out =
      run("pdftoppm -r %d -f %d -l %d -singlefile -png '%s' '%s'", dpi, page, page, pdf, base);
  free(out);
  snprintf(path, sizeof path, "%s.png", base);
  Png p;
  p.s = cairo_image_surface_create_from_png(path);
  ck_assert_msg(cairo_surface_status(p.s) == CAIRO_STATUS_SUCCESS, "cannot read %s", path);
  p.w = cairo_image_surface_get_width(p.s);
  p.h = cairo_image_surface_get_height(p.s);
  p.stride = cairo_image_surface_get_stride(p.s);
  p.data = cairo_image_surface_get_data(p.s);
  p.scale = dpi / 72.0;
  return p;
}

static void
png_free(Png *p)
{
  cairo_surface_destroy(p->s);
}

/* Pixels within tol (per channel) of rgb in the box [x0, x1) x [y0, y1) given in points. */
static int
count_rgb(const Png *p, double x0, double y0, double x1, double y1, const int rgb[3], int tol)
{
  int a = (int)floor(x0 * p->scale), b = (int)ceil(x1 * p->scale);
  int c = (int)floor(y0 * p->scale), e = (int)ceil(y1 * p->scale);
  if (a < 0)
    a = 0;
  if (c < 0)
    c = 0;
  if (b > p->w)
    b = p->w;
  if (e > p->h)
    e = p->h;
  int n = 0;
  for (int y = c; y < e; y++) {
    const uint32_t *row = (const uint32_t *)(p->data + (size_t)y * (size_t)p->stride);
    for (int x = a; x < b; x++) {
      uint32_t v = row[x];
      int r = (int)((v >> 16) & 255), g = (int)((v >> 8) & 255), bl = (int)(v & 255);
      if (abs(r - rgb[0]) <= tol && abs(g - rgb[1]) <= tol && abs(bl - rgb[2]) <= tol)
        n++;
    }
  }
  return n;
}

/* The dot of the light named by word w sits just left of it: its pixels must be that light's
 * colour. The dot (radius 4.2 pt) has its centre 7.5 pt left of the name. */
static void
assert_dot(const Png *p, const Word *w, const char *page_name)
{
  const int *rgb = !strcmp(w->text, "green")   ? RGB_GREEN
                   : !strcmp(w->text, "amber") ? RGB_AMBER
                                               : RGB_RED;
  double cx = w->x0 - 7.5, cy = (w->y0 + w->y1) / 2.0;
  /* A 6 x 8 pt box around the dot: at 72 dpi about 30 interior pixels are exactly its colour
   * (anti-aliasing only touches the rim); 12 leaves room for rounding of the box. */
  int n = count_rgb(p, cx - 3.0, cy - 4.0, cx + 3.0, cy + 4.0, rgb, 2);
  ck_assert_msg(n >= 12, "%s: the dot before '%s' at (%.1f, %.1f) pt has %d pixels of its colour",
                page_name, w->text, cx, cy, n);
  /* ... and none of the other two lights' colours. */
  const int *others[3] = {RGB_GREEN, RGB_AMBER, RGB_RED};
  for (int i = 0; i < 3; i++) {
    if (others[i] == rgb)
      continue;
    int m = count_rgb(p, cx - 3.0, cy - 4.0, cx + 3.0, cy + 4.0, others[i], 2);
    ck_assert_msg(m == 0, "%s: the dot before '%s' also holds %d pixels of another light",
                  page_name, w->text, m);
  }
}

static int
word_cmp_y(const void *pa, const void *pb)
{
  const Word *a = pa, *b = pb;
  return a->y0 < b->y0 ? -1 : a->y0 > b->y0;
}

/* No word crosses a margin or the page edge, and no two words overlap. (Plain ifs and one
 * assertion on failure: a Check assertion per comparison would cost more than the check.) */
static void
assert_clean_layout(const char *pdf, int pages)
{
  Words *all = pdf_words_range(pdf, 1, pages);
  for (int pg = 1; pg <= pages; pg++) {
    Words ws = all[pg - 1];
    qsort(ws.w, ws.n, sizeof *ws.w, word_cmp_y);
    for (size_t i = 0; i < ws.n; i++) {
      const Word *w = &ws.w[i];
      /* 0.6 pt: pdftotext rounds the boxes of glyphs whose advance we measured with cairo. */
      if (!(w->x0 >= MARGIN_X - 0.6 && w->x1 <= PAGE_W - MARGIN_X + 0.6))
        ck_abort_msg("page %d: '%s' crosses a side margin (x %.2f-%.2f)", pg, w->text, w->x0,
                     w->x1);
      if (!(w->y0 >= 20.0 && w->y1 <= PAGE_H - 20.0))
        ck_abort_msg("page %d: '%s' is off the page (y %.2f-%.2f)", pg, w->text, w->y0, w->y1);
      /* Sorted by top: only the words starting above this one's bottom can overlap it. */
      for (size_t k = i + 1; k < ws.n && ws.w[k].y0 < w->y1; k++) {
        const Word *v = &ws.w[k];
        /* Boxes run from the font's ascent to its descent; overlaps of up to 0.8 pt across and
         * 1.6 pt down are the boxes' slack, not the glyphs', so touching lines do not count. */
        double ox = fmin(w->x1, v->x1) - fmax(w->x0, v->x0);
        double oy = fmin(w->y1, v->y1) - fmax(w->y0, v->y0);
        if (ox > 0.8 && oy > 1.6)
          ck_abort_msg("page %d: '%s' (%.1f,%.1f-%.1f,%.1f) overlaps '%s' (%.1f,%.1f-%.1f,%.1f)",
                       pg, w->text, w->x0, w->y0, w->x1, w->y1, v->text, v->x0, v->y0, v->x1,
                       v->y1);
      }
    }
    free(ws.w);
  }
  free(all);
}

/* ======================================================================================
 * Sessions
 * ====================================================================================== */

#define MAX_TRIALS 40

typedef struct {
  StanceRecording *rec[MAX_TRIALS];
  StanceAnalysis *an[MAX_TRIALS];
  StanceReportTrial trials[MAX_TRIALS];
  bool own_rec[MAX_TRIALS]; /* false: the trial shows another trial's recording */
  bool own_an[MAX_TRIALS];  /* false: ... and its analysis */
  size_t n;
  StanceReport r;
  char *dir;
  char pdf[1024];
} Fix;

static void
fix_init(Fix *f)
{
  memset(f, 0, sizeof *f);
  setenv("TZ", "UTC", 1);
  tzset();
  f->dir = stance_test_tmpdir();
  snprintf(f->pdf, sizeof f->pdf, "%s/report.pdf", f->dir);
  StanceReport *r = &f->r;
  r->athlete_name = "Jane Example";
  r->birth_date = "1994-03-20";
  r->sex = "female";
  r->body_mass_kg = 75.0;
  r->dominant = STANCE_SIDE_RIGHT;
  r->involved = STANCE_SIDE_BOTH;
  r->session_unix_ms = SESSION_MS;
  r->place = "Clinic North, lab 2";
  r->board_serial = "SIM-0001";
  r->calibration_id = "SIM-0001-2026-03-01-1";
  r->green_below_pct = 10.0;
  r->red_above_pct = 15.0;
  r->generated_unix_ms = GENERATED_MS;
  r->generator = "Stance 0.1.0";
}

static void
fix_free(Fix *f)
{
  for (size_t i = 0; i < f->n; i++) {
    if (f->own_an[i])
      stance_analysis_free(f->an[i]);
    if (f->own_rec[i])
      stance_recording_free(f->rec[i]);
  }
  free(f->dir);
}

typedef struct {
  StanceProtocol p;
  const char *side; /* NULL: the protocol's default */
  const char *asym; /* "--asymmetry" */
  uint64_t seed;
  int reps; /* 0: default */
  StanceAsymFormula formula;
  bool no_still;
  StanceProtocol analyse_as; /* UNKNOWN: the simulated protocol */
  double duration_s;         /* standing and balance length; 0: default */
} SimSpec;

/* Simulates, analyses and appends a trial (number = position + 1). */
static StanceReportTrial *
fix_add(Fix *f, SimSpec s)
{
  ck_assert_uint_lt(f->n, MAX_TRIALS);
  StanceSimParams sp = stance_test_sim_params(s.p, s.seed);
  if (s.side)
    stance_test_sim_set(&sp, "side", s.side);
  if (s.asym)
    stance_test_sim_set(&sp, "asymmetry", s.asym);
  if (s.reps)
    sp.reps = s.reps;
  if (s.duration_s > 0.0)
    sp.duration_s = s.duration_s;
  /* Under valgrind the simulation is most of the test's time: half the rate halves it, and the
   * report does not depend on the rate (the expected values come from the same analyses). */
  if (stance_test_under_valgrind())
    sp.sample_rate_hz = 500.0;
  sp.no_still = s.no_still;
  StanceRecording *rec = NULL;
  stance_test_sim_run(&sp, &rec, NULL);
  rec->meta.start_unix_ms = SESSION_MS + (int64_t)f->n * 90000;
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  o.formula = s.formula;
  o.protocol = s.analyse_as;
  StanceAnalysis *an = NULL;
  StanceError err = {0};
  ck_assert_msg(stance_analyse(rec, "simulator", &o, &an, &err) == 0, "analyse: %s", err.message);
  size_t i = f->n++;
  f->rec[i] = rec;
  f->an[i] = an;
  f->own_rec[i] = f->own_an[i] = true;
  f->trials[i] = (StanceReportTrial){(int)i + 1, rec, an, true, NULL, false};
  f->r.trials = f->trials;
  f->r.n_trials = f->n;
  return &f->trials[i];
}

/* Another trial showing trial src's recording and analysis (simulating is the slow part of these
 * tests; the report does not care that two trials hold the same numbers). */
static StanceReportTrial *
fix_add_again(Fix *f, size_t src)
{
  ck_assert_uint_lt(f->n, MAX_TRIALS);
  size_t i = f->n++;
  f->rec[i] = f->rec[src];
  f->an[i] = f->an[src];
  f->trials[i] = (StanceReportTrial){(int)i + 1, f->rec[i], f->an[i], true, NULL, false};
  f->r.trials = f->trials;
  f->r.n_trials = f->n;
  return &f->trials[i];
}

/* Another trial with trial src's recording and a copy of its analysis whose right values are
 * scaled by right_factor (asymmetries and summary recomputed): different numbers without
 * another simulation. */
static StanceReportTrial *
fix_add_variant(Fix *f, size_t src, double right_factor)
{
  StanceAnalysis *one[1] = {f->an[src]};
  StanceAnalysis *c = stance_analysis_combine(one, 1); /* a deep copy */
  ck_assert_ptr_nonnull(c);
  snprintf(c->input, sizeof c->input, "%s", f->an[src]->input);
  for (size_t t = 0; t < c->n_trials; t++)
    for (size_t k = 0; k < c->trials[t].n_metrics; k++) {
      StanceMetric *m = &c->trials[t].metrics[k];
      if ((m->has & STANCE_HAS_RIGHT) && (m->has & STANCE_HAS_LEFT))
        m->right *= right_factor;
    }
  stance_analysis_compute_asymmetry(c);
  ck_assert_int_eq(stance_analysis_summarise(c), 0);
  StanceReportTrial *t = fix_add_again(f, src);
  size_t i = f->n - 1;
  f->an[i] = c;
  f->own_an[i] = true;
  t->an = c;
  return t;
}

/* A one-plate copy (COMBINED: total force only) of a simulated recording, analysed. */
static void
fix_add_one_plate(Fix *f, StanceProtocol p, uint64_t seed)
{
  StanceSimParams sp = stance_test_sim_params(p, seed);
  if (stance_test_under_valgrind())
    sp.sample_rate_hz = 500.0;
  StanceRecording *two = NULL;
  stance_test_sim_run(&sp, &two, NULL);
  StanceRecording *one = stance_recording_new(STANCE_LAYOUT_COMBINED, two->sample_rate_hz, false);
  ck_assert_ptr_nonnull(one);
  ck_assert_int_eq(stance_recording_reserve(one, two->n_samples), 0);
  for (size_t i = 0; i < two->n_samples; i++) {
    double v = stance_recording_force_at(two, i, STANCE_SEL_TOTAL);
    ck_assert_int_eq(stance_recording_append_forces(one, &v, NULL, two->status[i]), 0);
  }
  one->meta = two->meta;
  one->meta.start_unix_ms = SESSION_MS + (int64_t)f->n * 90000;
  stance_recording_free(two);
  StanceAnalysis *an = NULL;
  StanceError err = {0};
  ck_assert_msg(stance_analyse(one, "one plate", NULL, &an, &err) == 0, "%s", err.message);
  size_t i = f->n++;
  f->rec[i] = one;
  f->an[i] = an;
  f->own_rec[i] = f->own_an[i] = true;
  f->trials[i] = (StanceReportTrial){(int)i + 1, one, an, true, NULL, false};
  f->r.trials = f->trials;
  f->r.n_trials = f->n;
}

static void
fix_write(Fix *f)
{
  StanceError err = {0};
  int rc = stance_report_write_pdf(&f->r, f->pdf, &err);
  ck_assert_msg(rc == 0, "write_pdf: %s", err.message);
}

/* The combined summary of trials idx[0..n) (as the report combines a test's accepted trials). */
static StanceAnalysis *
combine(Fix *f, const size_t *idx, size_t n)
{
  StanceAnalysis *as[MAX_TRIALS];
  for (size_t i = 0; i < n; i++)
    as[i] = f->an[idx[i]];
  StanceAnalysis *c = stance_analysis_combine(as, n);
  ck_assert_ptr_nonnull(c);
  return c;
}

static const StanceSummaryMetric *
summary(const StanceAnalysis *a, const char *id)
{
  const StanceSummaryMetric *s = stance_analysis_summary(a, id);
  ck_assert_msg(s != NULL, "no summary of %s", id);
  return s;
}

/* The line of text that holds needle (a copy; NULL when none). */
static char *
line_with(const char *text, const char *needle)
{
  const char *p = strstr(text, needle);
  if (!p)
    return NULL;
  const char *a = p, *b = p;
  while (a > text && a[-1] != '\n')
    a--;
  while (*b && *b != '\n')
    b++;
  char *l = malloc((size_t)(b - a) + 1);
  ck_assert_ptr_nonnull(l);
  memcpy(l, a, (size_t)(b - a));
  l[b - a] = '\0';
  return l;
}

/* The report's number format: fixed decimals, dot, "-0.0" as "0.0" (the test runs in the C
 * locale, where printf writes the same). */
static void
fmt(char *buf, size_t n, double v, int dec)
{
  snprintf(buf, n, "%.*f", dec, v);
  if (strspn(buf, "-0.") == strlen(buf) && buf[0] == '-')
    memmove(buf, buf + 1, strlen(buf));
}

/* The table row (a line of the layout text) that starts with label followed by a column gap. */
static char *
row_with(const char *text, const char *label)
{
  size_t n = strlen(label);
  for (const char *p = text; *p;) {
    const char *e = strchr(p, '\n');
    if (!e)
      e = p + strlen(p);
    const char *q = p;
    while (q < e && *q == ' ')
      q++;
    if ((size_t)(e - q) >= n && strncmp(q, label, n) == 0 &&
        (q + n == e || (q[n] == ' ' && q + n + 1 < e && q[n + 1] == ' '))) {
      char *l = malloc((size_t)(e - p) + 1);
      ck_assert_ptr_nonnull(l);
      memcpy(l, p, (size_t)(e - p));
      l[e - p] = '\0';
      return l;
    }
    p = *e ? e + 1 : e;
  }
  return NULL;
}

/* Asserts that the row of label on the text holds the left, right and asymmetry values of
 * summary metric sm in display units (scale, decimals). */
static void
assert_row(const char *text, const char *label, const StanceSummaryMetric *sm, double scale,
           int dec)
{
  char *l = row_with(text, label);
  ck_assert_msg(l != NULL, "no row '%s' in:\n%s", label, text);
  char v[64];
  fmt(v, sizeof v, sm->left.mean * scale, dec);
  ck_assert_msg(strstr(l, v), "row '%s' lacks the left mean %s: %s", label, v, l);
  fmt(v, sizeof v, sm->right.mean * scale, dec);
  ck_assert_msg(strstr(l, v), "row '%s' lacks the right mean %s: %s", label, v, l);
  ck_assert(sm->has_asym);
  char a[64];
  fmt(v, sizeof v, sm->asym.value, 1);
  snprintf(a, sizeof a, "%s %%", v);
  ck_assert_msg(strstr(l, a), "row '%s' lacks the asymmetry %s: %s", label, a, l);
  free(l);
}

/* ======================================================================================
 * Lights and headline metrics
 * ====================================================================================== */

START_TEST(test_light_bands)
{
  /* The default bands: |asym| < 10 green, 10..15 amber (both ends), > 15 red. */
  ck_assert_int_eq(stance_report_light("pct_diff", 9.99, 10, 15), STANCE_LIGHT_GREEN);
  ck_assert_int_eq(stance_report_light("pct_diff", 10.0, 10, 15), STANCE_LIGHT_AMBER);
  ck_assert_int_eq(stance_report_light("pct_diff", 15.0, 10, 15), STANCE_LIGHT_AMBER);
  ck_assert_int_eq(stance_report_light("pct_diff", 15.01, 10, 15), STANCE_LIGHT_RED);
  ck_assert_int_eq(stance_report_light("pct_diff", 0.0, 10, 15), STANCE_LIGHT_GREEN);
  /* Signed formulas: the distance is |value|, whichever limb is stronger. */
  ck_assert_int_eq(stance_report_light("lr_sum", -9.99, 10, 15), STANCE_LIGHT_GREEN);
  ck_assert_int_eq(stance_report_light("lr_sum", -10.0, 10, 15), STANCE_LIGHT_AMBER);
  ck_assert_int_eq(stance_report_light("lr_sum", -15.01, 10, 15), STANCE_LIGHT_RED);
  ck_assert_int_eq(stance_report_light("lr_mean", 12.0, 10, 15), STANCE_LIGHT_AMBER);
  ck_assert_int_eq(stance_report_light("sym_angle", -16.0, 10, 15), STANCE_LIGHT_RED);
  ck_assert_int_eq(stance_report_light("log_ratio", -3.0, 10, 15), STANCE_LIGHT_GREEN);
  /* LSI: the distance is |100 - LSI|. 91 -> 9 green; 90 -> 10 amber; 85 -> 15 amber (the red
   * band starts above 15); 84.9 -> 15.1 red. Above 100 the involved limb is the stronger: the
   * same distance either way (104 green, 112 amber, 116.5 red). */
  ck_assert_int_eq(stance_report_light("lsi", 91.0, 10, 15), STANCE_LIGHT_GREEN);
  ck_assert_int_eq(stance_report_light("lsi", 90.0, 10, 15), STANCE_LIGHT_AMBER);
  ck_assert_int_eq(stance_report_light("lsi", 85.0, 10, 15), STANCE_LIGHT_AMBER);
  ck_assert_int_eq(stance_report_light("lsi", 84.9, 10, 15), STANCE_LIGHT_RED);
  ck_assert_int_eq(stance_report_light("lsi", 80.0, 10, 15), STANCE_LIGHT_RED);
  ck_assert_int_eq(stance_report_light("lsi", 104.0, 10, 15), STANCE_LIGHT_GREEN);
  ck_assert_int_eq(stance_report_light("lsi", 112.0, 10, 15), STANCE_LIGHT_AMBER);
  ck_assert_int_eq(stance_report_light("lsi", 116.5, 10, 15), STANCE_LIGHT_RED);
  /* Other bands. */
  ck_assert_int_eq(stance_report_light("pct_diff", 6.0, 5, 8), STANCE_LIGHT_AMBER);
  ck_assert_int_eq(stance_report_light("pct_diff", 8.5, 5, 8), STANCE_LIGHT_RED);
  ck_assert_int_eq(stance_report_light("lsi", 94.0, 5, 8), STANCE_LIGHT_AMBER);
  /* green == red: no amber band left. */
  ck_assert_int_eq(stance_report_light("pct_diff", 9.9, 10, 10), STANCE_LIGHT_GREEN);
  ck_assert_int_eq(stance_report_light("pct_diff", 10.0, 10, 10), STANCE_LIGHT_AMBER);
  ck_assert_int_eq(stance_report_light("pct_diff", 10.1, 10, 10), STANCE_LIGHT_RED);
  /* Not a number: never green. */
  ck_assert_int_eq(stance_report_light("pct_diff", NAN, 10, 15), STANCE_LIGHT_RED);

  ck_assert_str_eq(stance_light_name(STANCE_LIGHT_GREEN), "green");
  ck_assert_str_eq(stance_light_name(STANCE_LIGHT_AMBER), "amber");
  ck_assert_str_eq(stance_light_name(STANCE_LIGHT_RED), "red");
  ck_assert_str_eq(stance_light_name((StanceLight)7), "unknown");
}
END_TEST

START_TEST(test_headline_metrics)
{
  /* docs/report.md: jump height for single-leg jumps, net impulse for bilateral jumps (jump
   * height has no per-leg value there), RSI for single-leg hops, peak force for isometrics and
   * reps, weight bearing for bilateral standing, CoP path length for single-leg balance. */
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_SL_CMJ), "jump_height_impulse");
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_CMJ), "net_impulse");
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_SJ), "net_impulse");
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_DJ), "net_impulse");
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_SL_HOP), "rsi");
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_IMTP), "peak_force");
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_SPLIT_SQUAT), "peak_force");
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_BACK_SQUAT), "peak_force");
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_QUIET_STANDING),
                   "weight_bearing_pct");
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_SL_BALANCE), "cop_path_length");
  ck_assert_str_eq(stance_report_headline_metric(STANCE_PROTO_UNKNOWN), "peak_force");
  /* Every protocol's headline has left and right values in what the analysis gives, and an
   * asymmetry except for the CoP (checked on simulations in test_report_session). */
  for (int p = 0; p < STANCE_PROTO_COUNT; p++)
    ck_assert_ptr_nonnull(stance_report_headline_metric((StanceProtocol)p));
}
END_TEST

/* ======================================================================================
 * A full session
 * ====================================================================================== */

START_TEST(test_report_session)
{
  Fix f;
  fix_init(&f);
  /* Simulating CMJs is the slow part (seconds each under valgrind): one recording serves the
   * three CMJ trials. Trials 1-2: bilateral CMJ, 5 % force deficit on the right -> lr_sum about
   * 2.5 %: green; trial 2 (the same jumps) was interrupted and recovered. Trial 3: rejected by
   * the clinician, its right values 40 % lower: if it leaked into the figures the CMJ would not
   * be green; it also carries a quality flag, which must be listed as a rejected trial's. */
  int reps = stance_test_under_valgrind() ? 1 : 2;
  fix_add(&f, (SimSpec){STANCE_PROTO_CMJ, NULL, "5", 11, reps, STANCE_ASYM_DEFAULT, false});
  fix_add_again(&f, 0)->interrupted = true;
  StanceReportTrial *rej = fix_add_variant(&f, 0, 0.6);
  rej->accepted = false;
  rej->reject_reason = "athlete stumbled on landing";
  ck_assert_int_eq(stance_analysis_flag((StanceAnalysis *)rej->an, STANCE_FLAG_UNEVEN_STANCE,
                                        STANCE_SEVERITY_WARNING,
                                        "while weighing the left plate carried 62.5 %% and the "
                                        "right 37.5 %%"),
                   0);
  /* Trials 4-5: single-leg CMJ, a left file and a right file (right 12 % weaker). */
  fix_add(&f, (SimSpec){STANCE_PROTO_SL_CMJ, "left", NULL, 14, reps, STANCE_ASYM_DEFAULT, false});
  fix_add(&f, (SimSpec){STANCE_PROTO_SL_CMJ, "right", "12", 15, reps, STANCE_ASYM_DEFAULT, false});
  /* Trial 6: IMTP 12 % deficit, percent difference -> about 12 %: amber. Trial 7: isometric
   * squat with 25 %: red. */
  fix_add(&f, (SimSpec){STANCE_PROTO_IMTP, NULL, "12", 16, 1, STANCE_ASYM_PCT_DIFF, false});
  fix_add(&f, (SimSpec){STANCE_PROTO_ISO_SQUAT, NULL, "25", 17, 1, STANCE_ASYM_PCT_DIFF, false});
  f.r.notes = "Retest in six weeks. Focus on right-leg loading; the athlete reported no pain.";
  f.r.injury_date = "2025-09-12";
  f.r.injury_notes = "Right ACL reconstruction (hamstring graft).";
  fix_write(&f);

  /* The analyses' own figures, combined as the report combines them. */
  size_t cmj_idx[] = {0, 1}, sl_idx[] = {3, 4}, imtp_idx[] = {5}, iso_idx[] = {6};
  StanceAnalysis *cmj = combine(&f, cmj_idx, 2), *sl = combine(&f, sl_idx, 2);
  StanceAnalysis *imtp = combine(&f, imtp_idx, 1), *iso = combine(&f, iso_idx, 1);
  const StanceSummaryMetric *cmj_imp = summary(cmj, "net_impulse");
  const StanceSummaryMetric *cmj_pf = summary(cmj, "peak_force");
  const StanceSummaryMetric *sl_h = summary(sl, "jump_height_impulse");
  const StanceSummaryMetric *imtp_pf = summary(imtp, "peak_force");
  const StanceSummaryMetric *iso_pf = summary(iso, "peak_force");
  /* The premises of the lights checked below. */
  ck_assert_int_eq(stance_report_light(cmj_imp->asym.formula_id, cmj_imp->asym.value, 10, 15),
                   STANCE_LIGHT_GREEN);
  ck_assert_str_eq(imtp_pf->asym.formula_id, "pct_diff");
  ck_assert_int_eq(stance_report_light("pct_diff", imtp_pf->asym.value, 10, 15),
                   STANCE_LIGHT_AMBER);
  ck_assert_int_eq(stance_report_light("pct_diff", iso_pf->asym.value, 10, 15), STANCE_LIGHT_RED);
  ck_assert_str_eq(sl_h->asym.formula_id, "pct_diff");
  ck_assert(sl_h->has_asym);

  int pages = pdf_pages(f.pdf);
  /* Summary page, four test pages (each at least one), trends + notes. */
  ck_assert_int_ge(pages, 6);
  ck_assert_int_le(pages, 14);
  char *all = pdf_text(f.pdf, 0);
  char want[256];
  snprintf(want, sizeof want, "page 1 of %d", pages);
  ck_assert_msg(strstr(all, want), "no '%s'", want);
  snprintf(want, sizeof want, "Stance 0.1.0 - generated 2026-03-14 11:00 - page %d of %d", pages,
           pages);
  ck_assert_msg(strstr(all, want), "no footer '%s'", want);
  ck_assert(strstr(all, "Jane Example"));
  ck_assert(strstr(all, "1994-03-20 (age 31 at the session)")); /* 2026-03-14: not yet 32 */
  ck_assert(strstr(all, "Clinic North, lab 2"));
  ck_assert(strstr(all, "SIM-0001-2026-03-01-1"));
  ck_assert(strstr(all, "Right ACL reconstruction (hamstring graft)."));
  ck_assert(strstr(all, "Retest in six weeks."));
  ck_assert(strstr(all, "Countermovement jump, bilateral"));
  ck_assert(strstr(all, "Single-leg countermovement jump, left vs right leg"));
  ck_assert(strstr(all, "Isometric mid-thigh pull, bilateral"));
  ck_assert(strstr(all, "Isometric squat, bilateral"));
  /* The formulas written out. */
  snprintf(want, sizeof want, "Asymmetry (lr_sum) = %s",
           stance_asym_formula_text(STANCE_ASYM_LR_SUM));
  ck_assert_msg(strstr(all, want), "no '%s'", want);
  snprintf(want, sizeof want, "Asymmetry (pct_diff) = %s",
           stance_asym_formula_text(STANCE_ASYM_PCT_DIFF));
  ck_assert_msg(strstr(all, want), "no '%s'", want);
  char *flat = pdf_flat(f.pdf);
  ck_assert(strstr(flat, "rejected: athlete stumbled on landing"));
  ck_assert(strstr(flat, "accepted; interrupted (recovered)"));
  /* The rejected trial's 40 % deficit shows as uneven weight bearing: its flag is listed,
   * marked as coming from a rejected trial. */
  ck_assert(strstr(flat, "Quality flags"));
  ck_assert(strstr(flat, "warning uneven_stance while weighing the left plate carried 62.5 % and "
                         "the right 37.5 %"));
  ck_assert(strstr(flat, "1 time: trial 3 (rejected)"));
  free(flat);
  ck_assert(strstr(all, "green: below 10.0 %"));
  ck_assert(strstr(all, "amber: 10.0 to 15.0 %"));
  ck_assert(strstr(all, "red: above 15.0 %"));
  free(all);

  /* Page 1: one summary row per test with the headline's left, right and asymmetry. */
  char *p1 = pdf_text(f.pdf, 1);
  assert_row(p1, "Countermovement jump", cmj_imp, 1.0, 2);
  assert_row(p1, "Single-leg countermovement jump", sl_h, 100.0, 1); /* cm */
  assert_row(p1, "Isometric mid-thigh pull", imtp_pf, 1.0, 1);
  assert_row(p1, "Isometric squat", iso_pf, 1.0, 1);
  char *l = row_with(p1, "Countermovement jump");
  ck_assert_msg(strstr(l, "green") && strstr(l, "left"), "CMJ row: %s", l);
  free(l);
  l = line_with(p1, "Isometric mid-thigh pull");
  ck_assert_msg(strstr(l, "amber"), "IMTP row: %s", l);
  free(l);
  l = line_with(p1, "Isometric squat");
  ck_assert_msg(strstr(l, "red"), "iso squat row: %s", l);
  free(l);
  /* The rejected trial is counted apart. */
  char want_sub[96];
  snprintf(want_sub, sizeof want_sub, "bilateral: 2 trials, %d jumps; 1 rejected", 2 * reps);
  ck_assert_msg(strstr(p1, want_sub), "no '%s'", want_sub);
  snprintf(want_sub, sizeof want_sub, "left vs right leg: 2 trials, %d jumps", 2 * reps);
  ck_assert_msg(strstr(p1, want_sub), "no '%s'", want_sub);
  free(p1);

  /* The CMJ page: the key metrics as the analysis computed them, in display units. */
  int pg_cmj = page_with(f.pdf, pages, "Countermovement jump, bilateral\n");
  ck_assert_int_gt(pg_cmj, 1);
  char *t = pdf_text(f.pdf, pg_cmj);
  assert_row(t, "Net impulse", cmj_imp, 1.0, 2);
  assert_row(t, "Peak force", cmj_pf, 1.0, 1);
  ck_assert(strstr(t, "Jump height (impulse)"));
  ck_assert(strstr(t, "Force-time curves"));
  free(t);
  int pg_sl = page_with(f.pdf, pages, "Single-leg countermovement jump, left vs right leg\n");
  ck_assert_int_gt(pg_sl, pg_cmj);
  t = pdf_text(f.pdf, pg_sl);
  assert_row(t, "Jump height (impulse)", sl_h, 100.0, 1);
  ck_assert(strstr(t, "Left leg"));
  ck_assert(strstr(t, "Right leg"));
  free(t);

  /* Pixels: the dot before each light name on page 1 has that light's colour. */
  Png png = pdf_png(f.pdf, 1, 72, f.dir);
  Words ws = pdf_words(f.pdf, 1);
  const char *rows[][2] = {{"Countermovement", "jump"},
                           {"Isometric", "mid-thigh"},
                           {"Isometric", "squat"},
                           {"Single-leg", "countermovement"}};
  const char *expect[] = {"green", "amber", "red", NULL};
  for (size_t i = 0; i < 4; i++) {
    const Word *w = find_word(&ws, rows[i][0], rows[i][1], NULL);
    ck_assert_msg(w != NULL, "no summary row %s %s", rows[i][0], rows[i][1]);
    const Word *li = light_on_row(&ws, w);
    ck_assert_msg(li != NULL, "no light on the row of %s %s", rows[i][0], rows[i][1]);
    if (expect[i])
      ck_assert_str_eq(li->text, expect[i]);
    assert_dot(&png, li, "page 1");
  }
  /* The legend's three dots too. */
  const Word *lg = find_word(&ws, "green:", "below", NULL);
  ck_assert_ptr_nonnull(lg);
  ck_assert_int_ge(count_rgb(&png, lg->x0 - 10.5, lg->y0, lg->x0 - 4.5, lg->y1, RGB_GREEN, 2), 12);
  free(ws.w);
  png_free(&png);

  /* The CMJ overlay: left (blue) and right (orange) traces under the heading. */
  png = pdf_png(f.pdf, pg_cmj, 72, f.dir);
  ws = pdf_words(f.pdf, pg_cmj);
  const Word *h1 = find_word(&ws, "Force-time", "curves", NULL);
  ck_assert_ptr_nonnull(h1);
  /* The plot starts below the legend row (about 14 pt under the heading) and is 170 pt high
   * under 34 pt of event labels. Strokes are 1.3 pt wide: at 72 dpi a curve of ~400 pt leaves
   * more than a hundred pixels within 40 levels of its colour even where the other limb's curve
   * covers it; without the curves there would be none (the legend is above this box). */
  double top = h1->y1 + 14.0;
  int nl = count_rgb(&png, MARGIN_X, top, PAGE_W - MARGIN_X, top + 215.0, RGB_LEFT, 40);
  int nr = count_rgb(&png, MARGIN_X, top, PAGE_W - MARGIN_X, top + 215.0, RGB_RIGHT, 40);
  ck_assert_msg(nl > 80 && nr > 80, "overlay: %d left and %d right pixels", nl, nr);
  /* No traffic-light colour in the curves. */
  ck_assert_int_eq(count_rgb(&png, MARGIN_X, top, PAGE_W - MARGIN_X, top + 215.0, RGB_AMBER, 2), 0);
  free(ws.w);
  png_free(&png);
  /* The rep bars: filled rectangles in both colours, under their heading. */
  int pg_bars = page_with(f.pdf, pages, "Net impulse, per limb by jump");
  ck_assert_int_ge(pg_bars, pg_cmj);
  png = pdf_png(f.pdf, pg_bars, 72, f.dir);
  ws = pdf_words(f.pdf, pg_bars);
  size_t at = 0;
  const Word *h2 = NULL;
  while ((h2 = find_word(&ws, "Net", "impulse,", &at)) && strcmp(ws.w[at + 2].text, "per") != 0)
    at++;
  ck_assert_ptr_nonnull(h2);
  /* Two or four jumps x two limbs, bars of ~100 pt x 14 pt: well over 300 pixels each. */
  int bl = count_rgb(&png, MARGIN_X, h2->y1 + 14.0, PAGE_W - MARGIN_X, h2->y1 + 160.0, RGB_LEFT, 2);
  int br =
      count_rgb(&png, MARGIN_X, h2->y1 + 14.0, PAGE_W - MARGIN_X, h2->y1 + 160.0, RGB_RIGHT, 2);
  ck_assert_msg(bl > 300 && br > 300, "bars: %d left and %d right pixels", bl, br);
  free(ws.w);
  png_free(&png);

  assert_clean_layout(f.pdf, pages);
  stance_analysis_free(cmj);
  stance_analysis_free(sl);
  stance_analysis_free(imtp);
  stance_analysis_free(iso);
  fix_free(&f);
}
END_TEST

/* ======================================================================================
 * Hard cases: many trials, long names, one plate, missing values, trends
 * ====================================================================================== */

START_TEST(test_report_hard_cases)
{
  Fix f;
  fix_init(&f);
  /* 21 isometric squat trials of one hold each: four simulated ones shown in turn. */
  size_t n_many = 21, n_sim = 4;
  for (size_t i = 0; i < n_many; i++) {
    StanceReportTrial *t = i < n_sim
                               ? fix_add(&f, (SimSpec){STANCE_PROTO_ISO_SQUAT, NULL, "8", 100 + i,
                                                       1, STANCE_ASYM_DEFAULT, false})
                               : fix_add_again(&f, i % n_sim);
    if (i == 4) {
      t->accepted = false;
      t->reject_reason =
          "pulled before the countdown ended: the athlete was told to wait for the "
          "signal and to keep the pressure on for the whole hold, which they did not";
    }
  }
  /* An IMTP whose right peak force is absent with a reason (as the analysis leaves a value out
   * when, e.g., that plate saturated): the report must show the gap and the reason. */
  fix_add(&f, (SimSpec){STANCE_PROTO_IMTP, NULL, "5", 300, 1, STANCE_ASYM_DEFAULT, false});
  StanceAnalysis *sj = f.an[f.n - 1];
  ck_assert_uint_ge(sj->n_trials, 1);
  for (size_t i = 0; i < sj->n_trials; i++) {
    StanceMetric *m = (StanceMetric *)stance_trial_metric(&sj->trials[i], "peak_force");
    ck_assert_ptr_nonnull(m);
    stance_metric_absent(m, STANCE_SEL_RIGHT, "right plate saturated during the peak");
  }
  stance_analysis_compute_asymmetry(sj);
  ck_assert_int_eq(stance_analysis_summarise(sj), 0);
  /* One plate: no left/right. */
  fix_add_one_plate(&f, STANCE_PROTO_IMTP, 400);
  /* Split squats leading with the left foot and with the right (right 15 % weaker): the
   * comparison is left-leading against right-leading reps. */
  fix_add(&f,
          (SimSpec){STANCE_PROTO_SPLIT_SQUAT, "left", NULL, 600, 3, STANCE_ASYM_DEFAULT, false});
  fix_add(&f,
          (SimSpec){STANCE_PROTO_SPLIT_SQUAT, "right", "15", 601, 3, STANCE_ASYM_DEFAULT, false});
  /* A drop-jump trial in which the analysis found no jump (the athlete stood still): a test
   * with no repetitions at all. */
  fix_add(&f, (SimSpec){STANCE_PROTO_QUIET_STANDING, NULL, NULL, 700, 0, STANCE_ASYM_DEFAULT, false,
                        STANCE_PROTO_DJ, 6.0});
  /* Single-leg balance, left file only: no right to compare with. */
  fix_add(&f, (SimSpec){STANCE_PROTO_SL_BALANCE, "left", NULL, 500, 0, STANCE_ASYM_DEFAULT, false,
                        STANCE_PROTO_UNKNOWN, 10.0});

  static char name[400];
  snprintf(name, sizeof name,
           "Maximiliana Alexandra Konstantinopoulou-Vanderbergh-Oyelaran-Nakamura "
           "Fitzwilliam-Smythe \xff\xfe de la Cruz y Montenegro Esquivel Valdés Ødegård");
  f.r.athlete_name = name;
  f.r.place = "Department of Sports Medicine and Rehabilitation Sciences, University Hospital "
              "Long-Name-Street 1234, Building C, Third Floor, Laboratory for Human Movement";
  f.r.board_serial = "SIM-0001";
  f.r.birth_date = "1990-07-01";
  f.r.birth_year_only = true;
  f.r.involved = STANCE_SIDE_LEFT;
  static char notes[6000];
  size_t n = 0;
  for (int i = 0; i < 25; i++)
    n += (size_t)snprintf(notes + n, sizeof notes - n,
                          "Paragraph %d: the athlete tolerated the loading well, with mild "
                          "anterior knee discomfort after the drop jumps (VAS 2/10).%s",
                          i + 1, i % 5 == 4 ? "\n\n" : " ");
  /* A word longer than the line: must be broken, not run past the margin. */
  memset(notes + n, 'W', 300);
  notes[n + 300] = '\0';
  f.r.notes = notes;
  f.r.injury_notes = "Left ACL reconstruction.\tTab\rand control characters\x01 are shown as "
                     "spaces.";

  /* Trends: CMJ net impulse asymmetry over five sessions, this one last. */
  static StanceReportTrendPoint pts[5];
  double vals[5] = {18.0, 12.5, 7.0, 4.0, 3.2};
  for (int i = 0; i < 5; i++) {
    pts[i] = (StanceReportTrendPoint){SESSION_MS - (int64_t)(4 - i) * 21 * 86400000,
                                      vals[i],
                                      STANCE_SIDE_LEFT,
                                      190.0,
                                      170.0,
                                      true,
                                      true,
                                      i == 4};
  }
  static StanceReportTrendPoint one_pt = {SESSION_MS, -6.0, STANCE_SIDE_RIGHT, 0, 0, false,
                                          false,      true};
  StanceReportTrend trends[2];
  memset(trends, 0, sizeof trends);
  trends[0].protocol = STANCE_PROTO_CMJ;
  snprintf(trends[0].metric, sizeof trends[0].metric, "net_impulse");
  snprintf(trends[0].unit, sizeof trends[0].unit, "N.s");
  snprintf(trends[0].formula, sizeof trends[0].formula, "pct_diff");
  trends[0].points = pts;
  trends[0].n_points = 5;
  trends[0].has_mdc = true;
  trends[0].mdc95 = 4.5;
  trends[1].protocol = STANCE_PROTO_IMTP;
  snprintf(trends[1].metric, sizeof trends[1].metric, "peak_force");
  snprintf(trends[1].formula, sizeof trends[1].formula, "lr_sum");
  trends[1].points = &one_pt;
  trends[1].n_points = 1;
  f.r.trends = trends;
  f.r.n_trends = 2;
  fix_write(&f);

  int pages = pdf_pages(f.pdf);
  char *all = pdf_text(f.pdf, 0);
  char want[128];
  snprintf(want, sizeof want, "page %d of %d", pages, pages);
  ck_assert_msg(strstr(all, want), "no '%s'", want);
  ck_assert(strstr(all, "born 1990 (pseudonymised)"));
  ck_assert(!strstr(all, "1990-07-01"));
  ck_assert(strstr(all, "Konstantinopoulou"));
  ck_assert(strstr(all, "\xef\xbf\xbd")); /* U+FFFD for the invalid bytes */
  ck_assert(strstr(all, "single plate: no left/right"));
  ck_assert(strstr(all, "Single plate: no left/right"));
  ck_assert(strstr(all, "Isometric mid-thigh pull, single plate"));
  ck_assert(strstr(all, "no right-side trials"));
  ck_assert(strstr(all, "Split squat, left vs right leading"));
  ck_assert(strstr(all, "Drop jump, bilateral"));
  ck_assert(strstr(all, "no repetitions found"));
  char *flat = pdf_flat(f.pdf);
  ck_assert(strstr(flat,
                   "rejected: pulled before the countdown ended: the athlete was told to wait "
                   "for the signal and to keep the pressure on for the whole hold, which they "
                   "did not"));
  ck_assert(strstr(flat, "Paragraph 25: the athlete tolerated the loading well"));
  ck_assert(strstr(flat, "The analysis found no jumps in the accepted trials"));
  ck_assert(strstr(flat, "error no_trials"));
  ck_assert(strstr(flat, "Left ACL reconstruction. Tab and control characters are shown as"));
  free(flat);
  /* The absent right peak force of the bilateral IMTP carries the reason as a footnote. */
  ck_assert(strstr(all, "Isometric mid-thigh pull, bilateral"));
  ck_assert_msg(strstr(all, "[1] Peak force, right: right plate saturated during the peak"),
                "no footnote for the absent value");
  /* Trends: the MDC band, the change in words, the one-point trend. */
  ck_assert(strstr(all, "first session \u00b1 MDC95 (4.5 %)"));
  ck_assert(strstr(all, "5 sessions. From 18.0 % to 3.2 %: a change of -14.8 percentage points, "
                        "beyond the MDC95 of 4.5 %"));
  ck_assert(strstr(all, "One session so far"));
  /* Every trial of the 21 is listed: the trials table runs over the page. */
  char *r21 = row_with(all, "21");
  ck_assert_msg(r21 && strstr(r21, "bilateral") && strstr(r21, "accepted"), "trial 21: %s",
                r21 ? r21 : "not listed");
  free(r21);
  free(all);

  /* The trend points: the dot under each value label has the light of its value (pct_diff:
   * 18 red, 12.5 amber, 7 and 4 and 3.2 green). */
  int pg = page_with(f.pdf, pages, "Trends across sessions");
  ck_assert_int_gt(pg, 1);
  Png png = pdf_png(f.pdf, pg, 72, f.dir);
  Words ws = pdf_words(f.pdf, pg);
  const char *labels[] = {"18.0", "12.5", "7.0", "4.0", "3.2"};
  const int *cols[] = {RGB_RED, RGB_AMBER, RGB_GREEN, RGB_GREEN, RGB_GREEN};
  for (int i = 0; i < 5; i++) {
    size_t at = 0;
    const Word *w = find_word(&ws, labels[i], "L", &at);
    ck_assert_msg(w != NULL, "no trend label %s", labels[i]);
    const Word *l = &ws.w[at + 1];
    /* The label "v L" is centred on the point, its baseline 8 pt above the point's centre. */
    double cx = (w->x0 + l->x1) / 2.0, base = w->y1 - 0.24 * 6.5;
    int k = count_rgb(&png, cx - 2.5, base + 5.5, cx + 2.5, base + 10.5, cols[i], 2);
    ck_assert_msg(k >= 8, "trend point %s: %d pixels of its light's colour", labels[i], k);
  }
  /* The MDC95 band is shaded. */
  const int band[3] = {214, 226, 240};
  ck_assert_int_gt(count_rgb(&png, MARGIN_X, 80.0, PAGE_W - MARGIN_X, 300.0, band, 2), 2000);
  free(ws.w);
  png_free(&png);

  /* The one-plate test draws the total force in its own colour. */
  pg = page_with(f.pdf, pages, "Isometric mid-thigh pull, single plate\n");
  ck_assert_int_gt(pg, 1);
  png = pdf_png(f.pdf, pg, 72, f.dir);
  ck_assert_int_gt(count_rgb(&png, MARGIN_X, 0, PAGE_W - MARGIN_X, PAGE_H, RGB_TOTAL, 30), 150);
  ck_assert_int_lt(count_rgb(&png, MARGIN_X, 0, PAGE_W - MARGIN_X, PAGE_H, RGB_LEFT, 2), 5);
  png_free(&png);

  assert_clean_layout(f.pdf, pages);
  fix_free(&f);
}
END_TEST

/* ======================================================================================
 * Numbers whatever the locale
 * ====================================================================================== */

START_TEST(test_report_locale)
{
  Fix f;
  fix_init(&f);
  fix_add(&f, (SimSpec){STANCE_PROTO_IMTP, NULL, "12", 21, 1, STANCE_ASYM_PCT_DIFF, false});
  /* A decimal-comma locale for the whole process; the report must still write dots. When the
   * system has no de_DE locale, compile one into the test's folder (glibc reads LOCPATH at each
   * setlocale()). */
  const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
  if (!loc) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "localedef -c -i de_DE -f UTF-8 '%s/de_DE.utf8' >/dev/null 2>&1",
             f.dir);
    ck_assert_msg(system(cmd) != -1, "cannot run localedef");
    setenv("LOCPATH", f.dir, 1);
    loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
  }
  ck_assert_msg(loc != NULL, "no de_DE.UTF-8 locale, and localedef could not make one");
  char probe[32];
  snprintf(probe, sizeof probe, "%.1f", 1.5);
  ck_assert_str_eq(probe, "1,5"); /* the locale is really in effect */
  fix_write(&f);
  setlocale(LC_NUMERIC, "C");
  unsetenv("LOCPATH");
  size_t idx[] = {0};
  StanceAnalysis *c = combine(&f, idx, 1);
  char *p1 = pdf_text(f.pdf, 1);
  assert_row(p1, "Isometric mid-thigh pull", summary(c, "peak_force"), 1.0, 1);
  ck_assert(strstr(p1, "75.0 kg"));
  free(p1);
  stance_analysis_free(c);
  fix_free(&f);
}
END_TEST

/* ======================================================================================
 * Errors
 * ====================================================================================== */

static size_t
files_in(const char *dir)
{
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      n++;
  closedir(d);
  return n;
}

START_TEST(test_report_errors)
{
  Fix f;
  fix_init(&f);
  fix_add(&f, (SimSpec){STANCE_PROTO_IMTP, NULL, "5", 31, 1, STANCE_ASYM_DEFAULT, false});
  StanceError err = {0};

  /* Bands. */
  double bad[][2] = {{0, 15}, {-1, 15}, {16, 15}, {10, 101}, {NAN, 15}, {10, INFINITY}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    f.r.green_below_pct = bad[i][0];
    f.r.red_above_pct = bad[i][1];
    stance_error_clear(&err);
    ck_assert_int_eq(stance_report_write_pdf(&f.r, f.pdf, &err), STANCE_ERANGE);
    ck_assert_msg(strstr(err.message, "expected 0 < green <= red <= 100"), "%s", err.message);
  }
  f.r.green_below_pct = 10;
  f.r.red_above_pct = 15;
  ck_assert_int_eq(access(f.pdf, F_OK), -1); /* nothing written by the refusals */

  /* NULL model fields. */
  ck_assert_int_eq(stance_report_write_pdf(NULL, f.pdf, &err), STANCE_EINVAL);
  ck_assert_int_eq(stance_report_write_pdf(&f.r, NULL, &err), STANCE_EINVAL);
  ck_assert_int_eq(stance_report_write_pdf(&f.r, "", &err), STANCE_EINVAL);
  f.r.athlete_name = NULL;
  ck_assert_int_eq(stance_report_write_pdf(&f.r, f.pdf, &err), STANCE_EINVAL);
  ck_assert(strstr(err.message, "athlete_name"));
  f.r.athlete_name = "Jane Example";
  f.r.trials = NULL;
  ck_assert_int_eq(stance_report_write_pdf(&f.r, f.pdf, &err), STANCE_EINVAL);
  ck_assert(strstr(err.message, "trials is NULL"));
  f.r.trials = f.trials;
  f.trials[0].an = NULL;
  ck_assert_int_eq(stance_report_write_pdf(&f.r, f.pdf, &err), STANCE_EINVAL);
  ck_assert(strstr(err.message, "trial 1") && strstr(err.message, "no analysis"));
  f.trials[0].an = f.an[0];
  f.trials[0].rec = NULL;
  ck_assert_int_eq(stance_report_write_pdf(&f.r, f.pdf, &err), STANCE_EINVAL);
  ck_assert(strstr(err.message, "no recording"));
  f.trials[0].rec = f.rec[0];
  StanceReportTrend tr;
  memset(&tr, 0, sizeof tr);
  snprintf(tr.metric, sizeof tr.metric, "net_impulse");
  tr.n_points = 3;
  f.r.trends = &tr;
  f.r.n_trends = 1;
  ck_assert_int_eq(stance_report_write_pdf(&f.r, f.pdf, &err), STANCE_EINVAL);
  ck_assert(strstr(err.message, "points is NULL"));
  StanceReportTrendPoint pt = {SESSION_MS, NAN, STANCE_SIDE_LEFT, 0, 0, false, false, true};
  tr.points = &pt;
  tr.n_points = 1;
  ck_assert_int_eq(stance_report_write_pdf(&f.r, f.pdf, &err), STANCE_ERANGE);
  ck_assert(strstr(err.message, "not finite"));
  f.r.trends = NULL;
  f.r.n_trends = 0;
  f.r.body_mass_kg = NAN;
  ck_assert_int_eq(stance_report_write_pdf(&f.r, f.pdf, &err), STANCE_ERANGE);
  f.r.body_mass_kg = 75.0;
  ck_assert_int_eq(access(f.pdf, F_OK), -1);

  /* Unwritable places: a missing folder, a "folder" that is a file, a target that is a folder.
   * Each error names the path and the reason, and leaves no temporary file behind. */
  char path[1200];
  snprintf(path, sizeof path, "%s/no-such-folder/report.pdf", f.dir);
  ck_assert_int_eq(stance_report_write_pdf(&f.r, path, &err), STANCE_EIO);
  ck_assert_msg(strstr(err.message, path) && strstr(err.message, "No such file or directory"), "%s",
                err.message);
  char file[1100];
  snprintf(file, sizeof file, "%s/plain-file", f.dir);
  FILE *fp = fopen(file, "w");
  ck_assert_ptr_nonnull(fp);
  fputs("x", fp);
  fclose(fp);
  snprintf(path, sizeof path, "%s/report.pdf", file);
  ck_assert_int_eq(stance_report_write_pdf(&f.r, path, &err), STANCE_EIO);
  ck_assert_msg(strstr(err.message, path) && strstr(err.message, "Not a directory"), "%s",
                err.message);
  snprintf(path, sizeof path, "%s/a-folder", f.dir);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  ck_assert_int_eq(stance_report_write_pdf(&f.r, path, &err), STANCE_EIO);
  ck_assert_msg(strstr(err.message, path) && strstr(err.message, "replacing the file"), "%s",
                err.message);
  ck_assert_uint_eq(files_in(f.dir), 2); /* plain-file and a-folder: no temporary file left */

  /* A full disk: the file-size limit makes the writes fail (EFBIG) part-way through the PDF,
   * as ENOSPC would. The old report must stay as it was. */
  fix_write(&f);
  struct stat st0;
  ck_assert_int_eq(stat(f.pdf, &st0), 0);
  ck_assert_int_gt(st0.st_size, 20000);
  struct rlimit old, lim;
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 8192;
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  f.r.notes = "This version must not replace the old report.";
  int rc = stance_report_write_pdf(&f.r, f.pdf, &err);
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, prev);
  ck_assert_int_eq(rc, STANCE_EIO);
  ck_assert_msg(strstr(err.message, f.pdf) && strstr(err.message, "File too large") &&
                    strstr(err.message, "left untouched"),
                "%s", err.message);
  struct stat st1;
  ck_assert_int_eq(stat(f.pdf, &st1), 0);
  ck_assert_int_eq(st1.st_size, st0.st_size);
  ck_assert_int_eq(st1.st_mtim.tv_sec, st0.st_mtim.tv_sec);
  ck_assert_int_eq(st1.st_mtim.tv_nsec, st0.st_mtim.tv_nsec);
  ck_assert_uint_eq(files_in(f.dir), 3); /* + report.pdf; the temporary file was removed */
  char *t = pdf_text(f.pdf, 0);
  ck_assert(!strstr(t, "must not replace"));
  free(t);
  fix_free(&f);
}
END_TEST

/* An empty session still gives a valid report that says so. */
START_TEST(test_report_empty)
{
  Fix f;
  fix_init(&f);
  f.r.birth_date = NULL;
  f.r.sex = NULL;
  f.r.place = NULL;
  f.r.board_serial = NULL;
  f.r.calibration_id = NULL;
  f.r.body_mass_kg = 0.0;
  f.r.dominant = STANCE_SIDE_BOTH;
  f.r.generator = NULL;
  fix_write(&f);
  ck_assert_int_eq(pdf_pages(f.pdf), 2);
  char *t = pdf_text(f.pdf, 0);
  ck_assert(strstr(t, "No trials in this session."));
  ck_assert(strstr(t, "No trend"));
  ck_assert(strstr(t, "not recorded"));
  ck_assert(strstr(t, "Stance " STANCE_VERSION " - generated"));
  free(t);
  fix_free(&f);
}
END_TEST

/* cairo and fontconfig keep process-wide font caches that LeakSanitizer and valgrind would report
 * at exit: each test releases them (FcFini looked up at run time, fontconfig being loaded as
 * cairo's dependency). The next test builds them again. */
static void
release_fonts(void)
{
  cairo_debug_reset_static_data();
  void (*fc_fini)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "FcFini");
  if (fc_fini)
    fc_fini();
}

static Suite *
report_suite(void)
{
  Suite *s = suite_create("report");
  TCase *tc = tcase_create("lights");
  tcase_add_test(tc, test_light_bands);
  tcase_add_test(tc, test_headline_metrics);
  suite_add_tcase(s, tc);
  tc = tcase_create("pdf");
  tcase_set_timeout(tc, 600);
  tcase_add_checked_fixture(tc, NULL, release_fonts);
  tcase_add_test(tc, test_report_session);
  tcase_add_test(tc, test_report_hard_cases);
  tcase_add_test(tc, test_report_locale);
  tcase_add_test(tc, test_report_errors);
  tcase_add_test(tc, test_report_empty);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return stance_test_run(report_suite());
}
