/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "stance-recording.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t
channels_for(StanceLayout layout)
{
  switch (layout) {
  case STANCE_LAYOUT_CELLS: return STANCE_N_CELLS;
  case STANCE_LAYOUT_PLATES: return STANCE_N_PLATES;
  case STANCE_LAYOUT_COMBINED: return 1;
  default: return 0;
  }
}

const char *
stance_layout_name(StanceLayout layout)
{
  switch (layout) {
  case STANCE_LAYOUT_CELLS: return "cells";
  case STANCE_LAYOUT_PLATES: return "plates";
  case STANCE_LAYOUT_COMBINED: return "combined";
  default: return "unknown";
  }
}

void
stance_calibration_default(StanceCalibration *cal)
{
  memset(cal, 0, sizeof *cal);
  for (int c = 0; c < STANCE_N_CELLS; c++)
    cal->gain_n_per_count[c] = 1.0;
  for (int p = 0; p < STANCE_N_PLATES; p++) {
    StancePlateGeometry *g = &cal->plate[p];
    g->width_mm = 400.0;
    g->length_mm = 600.0;
    /* 1 front-left, 2 front-right, 3 rear-right, 4 rear-left */
    g->cell[0] = (StanceCellPos){-170.0, 270.0};
    g->cell[1] = (StanceCellPos){170.0, 270.0};
    g->cell[2] = (StanceCellPos){170.0, -270.0};
    g->cell[3] = (StanceCellPos){-170.0, -270.0};
    g->centre_x_mm = p == 0 ? -250.0 : 250.0;
    g->centre_y_mm = 0.0;
  }
}

int
stance_calibration_validate(const StanceCalibration *cal, StanceError *err)
{
  if (!cal)
    return stance_error_set(err, STANCE_EINVAL, "no calibration given");
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    double g = cal->gain_n_per_count[c], o = cal->offset_counts[c];
    if (!isfinite(g) || g == 0.0)
      return stance_error_set(err, STANCE_ERANGE,
                              "calibration: cell %d gain %g N/count is not usable (expected a "
                              "finite, non-zero gain)",
                              c + 1, g);
    if (!isfinite(o) || fabs(o) > 16777216.0)
      return stance_error_set(err, STANCE_ERANGE,
                              "calibration: cell %d offset %g counts is outside the 24-bit ADC "
                              "range",
                              c + 1, o);
  }
  for (int p = 0; p < STANCE_N_PLATES; p++) {
    const StancePlateGeometry *g = &cal->plate[p];
    if (!(g->width_mm > 0 && g->width_mm < 5000 && g->length_mm > 0 && g->length_mm < 5000))
      return stance_error_set(err, STANCE_ERANGE,
                              "calibration: plate %d size %g x %g mm is not plausible (expected "
                              "0-5000 mm)",
                              p + 1, g->width_mm, g->length_mm);
    double minx = INFINITY, maxx = -INFINITY, miny = INFINITY, maxy = -INFINITY;
    for (int c = 0; c < STANCE_CELLS_PER_PLATE; c++) {
      if (!isfinite(g->cell[c].x_mm) || !isfinite(g->cell[c].y_mm))
        return stance_error_set(err, STANCE_ERANGE,
                                "calibration: plate %d cell %d position is not finite", p + 1,
                                c + 1);
      minx = fmin(minx, g->cell[c].x_mm);
      maxx = fmax(maxx, g->cell[c].x_mm);
      miny = fmin(miny, g->cell[c].y_mm);
      maxy = fmax(maxy, g->cell[c].y_mm);
    }
    if (maxx - minx < 1.0 || maxy - miny < 1.0)
      return stance_error_set(err, STANCE_ERANGE,
                              "calibration: plate %d cells do not span an area (expected cells at "
                              "four distinct corners)",
                              p + 1);
  }
  return STANCE_OK;
}

StanceRecording *
stance_recording_new(StanceLayout layout, double sample_rate_hz, bool with_cop)
{
  size_t nch = channels_for(layout);
  if (nch == 0 || !isfinite(sample_rate_hz) || sample_rate_hz <= 0)
    return NULL;
  StanceRecording *rec = calloc(1, sizeof *rec);
  if (!rec)
    return NULL;
  rec->layout = layout;
  rec->sample_rate_hz = sample_rate_hz;
  rec->n_channels = nch;
  rec->meta.side = STANCE_SIDE_BOTH;
  stance_calibration_default(&rec->calib);
  if (layout == STANCE_LAYOUT_CELLS)
    rec->has_calibration = true;
  /* The cop pointer doubles as the "has CoP" flag, so allocate the first block now. */
  if (stance_recording_reserve(rec, 1024) < 0) {
    free(rec);
    return NULL;
  }
  if (with_cop && layout != STANCE_LAYOUT_CELLS) {
    rec->cop_mm = calloc(rec->capacity * nch * 2, sizeof(double));
    if (!rec->cop_mm) {
      stance_recording_free(rec);
      return NULL;
    }
  }
  return rec;
}

void
stance_recording_free(StanceRecording *rec)
{
  if (!rec)
    return;
  free(rec->counts);
  free(rec->force_n);
  free(rec->cop_mm);
  free(rec->status);
  free(rec);
}

static int
grow(void **p, size_t n_elems, size_t elem_size)
{
  if (n_elems > SIZE_MAX / elem_size)
    return STANCE_ENOMEM;
  void *q = realloc(*p, n_elems * elem_size);
  if (!q)
    return STANCE_ENOMEM;
  *p = q;
  return STANCE_OK;
}

int
stance_recording_reserve(StanceRecording *rec, size_t n_samples)
{
  if (!rec)
    return STANCE_EINVAL;
  if (n_samples <= rec->capacity && rec->status)
    return STANCE_OK;
  size_t cap = rec->capacity ? rec->capacity : 1024;
  while (cap < n_samples) {
    if (cap > SIZE_MAX / 2)
      return STANCE_ENOMEM;
    cap *= 2;
  }
  size_t nch = rec->n_channels;
  if (cap > SIZE_MAX / (nch * 2))
    return STANCE_ENOMEM;
  int r;
  if (rec->layout == STANCE_LAYOUT_CELLS) {
    if ((r = grow((void **)&rec->counts, cap * nch, sizeof(int32_t))) < 0)
      return r;
  } else {
    if ((r = grow((void **)&rec->force_n, cap * nch, sizeof(double))) < 0)
      return r;
    if (rec->cop_mm && (r = grow((void **)&rec->cop_mm, cap * nch * 2, sizeof(double))) < 0)
      return r;
  }
  if ((r = grow((void **)&rec->status, cap, sizeof(uint16_t))) < 0)
    return r;
  rec->capacity = cap;
  return STANCE_OK;
}

static int
ensure_one_more(StanceRecording *rec)
{
  if (rec->n_samples < rec->capacity)
    return STANCE_OK;
  return stance_recording_reserve(rec, rec->n_samples + 1);
}

int
stance_recording_append_counts(StanceRecording *rec, const int32_t counts[STANCE_N_CELLS],
                               uint16_t status)
{
  if (!rec || !counts || rec->layout != STANCE_LAYOUT_CELLS)
    return STANCE_EINVAL;
  int r = ensure_one_more(rec);
  if (r < 0)
    return r;
  memcpy(rec->counts + rec->n_samples * STANCE_N_CELLS, counts, STANCE_N_CELLS * sizeof(int32_t));
  rec->status[rec->n_samples++] = status;
  return STANCE_OK;
}

int
stance_recording_append_forces(StanceRecording *rec, const double *force_n, const double *cop_mm,
                               uint16_t status)
{
  if (!rec || !force_n || rec->layout == STANCE_LAYOUT_CELLS)
    return STANCE_EINVAL;
  int r = ensure_one_more(rec);
  if (r < 0)
    return r;
  size_t nch = rec->n_channels, i = rec->n_samples;
  memcpy(rec->force_n + i * nch, force_n, nch * sizeof(double));
  if (rec->cop_mm) {
    if (cop_mm)
      memcpy(rec->cop_mm + i * nch * 2, cop_mm, nch * 2 * sizeof(double));
    else
      memset(rec->cop_mm + i * nch * 2, 0, nch * 2 * sizeof(double));
  }
  rec->status[rec->n_samples++] = status;
  return STANCE_OK;
}

int
stance_recording_append_gap(StanceRecording *rec, size_t n)
{
  if (!rec)
    return STANCE_EINVAL;
  if (n > SIZE_MAX - rec->n_samples)
    return STANCE_ENOMEM;
  int r = stance_recording_reserve(rec, rec->n_samples + n);
  if (r < 0)
    return r;
  size_t nch = rec->n_channels;
  for (size_t k = 0; k < n; k++) {
    size_t i = rec->n_samples + k;
    if (rec->counts)
      memset(rec->counts + i * nch, 0, nch * sizeof(int32_t));
    if (rec->force_n)
      memset(rec->force_n + i * nch, 0, nch * sizeof(double));
    if (rec->cop_mm)
      memset(rec->cop_mm + i * nch * 2, 0, nch * 2 * sizeof(double));
    rec->status[i] = STANCE_STATUS_GAP;
  }
  rec->n_samples += n;
  return STANCE_OK;
}

double
stance_recording_duration(const StanceRecording *rec)
{
  return rec && rec->sample_rate_hz > 0 ? (double)rec->n_samples / rec->sample_rate_hz : 0.0;
}

bool
stance_recording_has_limbs(const StanceRecording *rec)
{
  return rec && (rec->layout == STANCE_LAYOUT_CELLS || rec->layout == STANCE_LAYOUT_PLATES);
}

int
stance_recording_cop_plates(const StanceRecording *rec)
{
  if (!rec)
    return 0;
  if (rec->layout == STANCE_LAYOUT_CELLS)
    return 2;
  if (!rec->cop_mm)
    return 0;
  return (int)rec->n_channels;
}

double
stance_recording_cell_force(const StanceRecording *rec, size_t i, int channel)
{
  if (!rec || rec->layout != STANCE_LAYOUT_CELLS || i >= rec->n_samples || channel < 0 ||
      channel >= STANCE_N_CELLS || (rec->status[i] & STANCE_STATUS_GAP))
    return 0.0;
  return ((double)rec->counts[i * STANCE_N_CELLS + (size_t)channel] -
          rec->calib.offset_counts[channel]) *
         rec->calib.gain_n_per_count[channel];
}

double
stance_recording_force_at(const StanceRecording *rec, size_t i, StanceSel sel)
{
  if (!rec || i >= rec->n_samples || (rec->status[i] & STANCE_STATUS_GAP))
    return 0.0;
  switch (rec->layout) {
  case STANCE_LAYOUT_CELLS: {
    int first = sel == STANCE_SEL_RIGHT ? 4 : 0;
    int last = sel == STANCE_SEL_LEFT ? 4 : 8;
    double f = 0.0;
    for (int c = first; c < last; c++)
      f += stance_recording_cell_force(rec, i, c);
    return f;
  }
  case STANCE_LAYOUT_PLATES: {
    const double *s = rec->force_n + i * 2;
    return sel == STANCE_SEL_LEFT ? s[0] : sel == STANCE_SEL_RIGHT ? s[1] : s[0] + s[1];
  }
  case STANCE_LAYOUT_COMBINED: return sel == STANCE_SEL_TOTAL ? rec->force_n[i] : 0.0;
  default: return 0.0;
  }
}

int
stance_recording_force(const StanceRecording *rec, StanceSel sel, double *out, StanceError *err)
{
  if (!rec || !out)
    return stance_error_set(err, STANCE_EINVAL, "no recording or output buffer");
  if (sel != STANCE_SEL_TOTAL && !stance_recording_has_limbs(rec))
    return stance_error_set(err, STANCE_ENOTAVAIL,
                            "the recording holds one combined force: there is no %s plate",
                            sel == STANCE_SEL_LEFT ? "left" : "right");
  for (size_t i = 0; i < rec->n_samples; i++)
    out[i] = stance_recording_force_at(rec, i, sel);
  return STANCE_OK;
}

int
stance_recording_cop(const StanceRecording *rec, StanceSel plate, double threshold_n, double *x,
                     double *y, uint8_t *valid, StanceError *err)
{
  if (!rec || !x || !y || !valid)
    return stance_error_set(err, STANCE_EINVAL, "no recording or output buffer");
  int np = stance_recording_cop_plates(rec);
  if (np == 0)
    return stance_error_set(err, STANCE_ENOTAVAIL,
                            "the recording has no centre of pressure (one force per plate only)");
  if ((np == 1 && plate != STANCE_SEL_TOTAL) || (np == 2 && plate == STANCE_SEL_TOTAL))
    return stance_error_set(err, STANCE_ENOTAVAIL, "centre of pressure is per plate: ask for %s",
                            np == 1 ? "the single (total) plate" : "the left or the right plate");
  for (size_t i = 0; i < rec->n_samples; i++) {
    x[i] = y[i] = 0.0;
    valid[i] = 0;
    if (rec->status[i] & STANCE_STATUS_GAP)
      continue;
    if (rec->layout == STANCE_LAYOUT_CELLS) {
      const StancePlateGeometry *g = &rec->calib.plate[plate];
      double fz = 0, mx = 0, my = 0;
      for (int c = 0; c < STANCE_CELLS_PER_PLATE; c++) {
        double f = stance_recording_cell_force(rec, i, (int)plate * 4 + c);
        fz += f;
        mx += f * g->cell[c].x_mm;
        my += f * g->cell[c].y_mm;
      }
      if (fz > threshold_n) {
        x[i] = mx / fz;
        y[i] = my / fz;
        valid[i] = 1;
      }
    } else {
      size_t ch = plate == STANCE_SEL_TOTAL ? 0 : (size_t)plate;
      double fz = rec->force_n[i * rec->n_channels + ch];
      if (fz > threshold_n) {
        x[i] = rec->cop_mm[(i * rec->n_channels + ch) * 2];
        y[i] = rec->cop_mm[(i * rec->n_channels + ch) * 2 + 1];
        valid[i] = 1;
      }
    }
  }
  return STANCE_OK;
}

size_t
stance_recording_count_gaps(const StanceRecording *rec)
{
  size_t n = 0;
  for (size_t i = 0; rec && i < rec->n_samples; i++)
    n += (rec->status[i] & STANCE_STATUS_GAP) != 0;
  return n;
}

size_t
stance_recording_count_saturated(const StanceRecording *rec)
{
  size_t n = 0;
  for (size_t i = 0; rec && i < rec->n_samples; i++)
    n += (rec->status[i] & STANCE_STATUS_SAT_MASK) != 0;
  return n;
}

int
stance_meta_set(StanceMeta *meta, const char *key, const char *value)
{
  if (!meta || !key || !value || !*key)
    return STANCE_EINVAL;
  if (strlen(key) >= sizeof meta->extra[0].key || strlen(value) >= sizeof meta->extra[0].value)
    return STANCE_ERANGE;
  StanceMetaEntry *e = NULL;
  for (int k = 0; k < meta->n_extra; k++)
    if (strcmp(meta->extra[k].key, key) == 0)
      e = &meta->extra[k];
  if (!e) {
    if (meta->n_extra >= STANCE_META_MAX_EXTRA)
      return STANCE_ERANGE;
    e = &meta->extra[meta->n_extra++];
  }
  snprintf(e->key, sizeof e->key, "%s", key);
  snprintf(e->value, sizeof e->value, "%s", value);
  return STANCE_OK;
}

const char *
stance_meta_get(const StanceMeta *meta, const char *key)
{
  for (int k = 0; meta && key && k < meta->n_extra; k++)
    if (strcmp(meta->extra[k].key, key) == 0)
      return meta->extra[k].value;
  return NULL;
}

StanceRecording *
stance_recording_slice(const StanceRecording *rec, size_t start, size_t n)
{
  if (!rec || start > rec->n_samples || n > rec->n_samples - start)
    return NULL;
  StanceRecording *out =
      stance_recording_new(rec->layout, rec->sample_rate_hz, rec->cop_mm != NULL);
  if (!out)
    return NULL;
  if (stance_recording_reserve(out, n ? n : 1) < 0) {
    stance_recording_free(out);
    return NULL;
  }
  size_t nch = rec->n_channels;
  if (rec->counts)
    memcpy(out->counts, rec->counts + start * nch, n * nch * sizeof(int32_t));
  if (rec->force_n)
    memcpy(out->force_n, rec->force_n + start * nch, n * nch * sizeof(double));
  if (rec->cop_mm)
    memcpy(out->cop_mm, rec->cop_mm + start * nch * 2, n * nch * 2 * sizeof(double));
  memcpy(out->status, rec->status + start, n * sizeof(uint16_t));
  out->n_samples = n;
  out->has_calibration = rec->has_calibration;
  out->calib = rec->calib;
  out->meta = rec->meta;
  if (out->meta.start_unix_ms != 0)
    out->meta.start_unix_ms += (int64_t)llround((double)start * 1000.0 / rec->sample_rate_hz);
  return out;
}

bool
stance_calibration_is_placeholder(const StanceCalibration *cal)
{
  for (int c = 0; c < STANCE_N_CELLS; c++)
    if (cal->gain_n_per_count[c] != 1.0)
      return false;
  return true;
}
