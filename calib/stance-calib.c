/* stance-calib.c: options, record ids, the whole calibration run, its JSON, and drift re-zeroing.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "stance-calib-private.h"

#include "stance-json.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ======================================================================================
 * Options
 * ====================================================================================== */

void
stance_calib_options_default(StanceCalibOptions *o)
{
  memset(o, 0, sizeof *o);
  o->gravity_m_s2 = 9.81;
  o->settle_s = 1.0;
  o->min_average_s = 0.5;
  o->min_step_s = 1.0;
  o->steady_window_s = 0.25;
  o->level_tolerance_pct = 10.0;
  o->nominal_gain_n_per_count = 0.0;
  o->limit_force_error_pct_fs = 0.5;
  o->limit_cop_error_mm = 5.0;
  o->limit_nonlinearity_pct_fs = 0.25;
  o->limit_hysteresis_pct_fs = 0.25;
  o->limit_zero_return_pct_fs = 0.25;
  o->limit_gain_spread_pct = 25.0;
  o->drift_limit_pct_fs = 0.5;
  o->drift_limit_n = 0.0;
  o->rezero_max_pct_fs = 5.0;
}

typedef struct {
  const char *key;
  size_t offset;
  double lo, hi;
  const char *what;
} OptSpec;

#define OPT(k, f, lo, hi, what)                                                                    \
  {                                                                                                \
    k, offsetof(StanceCalibOptions, f), lo, hi, what                                               \
  }
static const OptSpec opt_specs[] = {
    OPT("gravity", gravity_m_s2, 9.7, 9.9, "local gravity, m/s^2"),
    OPT("settle", settle_s, 0.0, 30.0, "settling time of a step, s"),
    OPT("min-average", min_average_s, 0.1, 60.0, "shortest steady part of a step, s"),
    OPT("min-step", min_step_s, 0.2, 60.0, "shortest plateau taken as a step, s"),
    OPT("steady-window", steady_window_s, 0.05, 5.0, "window of the steadiness test, s"),
    OPT("level-tolerance", level_tolerance_pct, 1.0, 40.0, "plateau matching tolerance, %"),
    OPT("nominal-gain", nominal_gain_n_per_count, 0.0, 1.0,
        "nominal cell gain, N/count (0: "
        "the recording's)"),
    OPT("limit-force", limit_force_error_pct_fs, 0.01, 10.0, "force error limit, % FS"),
    OPT("limit-cop", limit_cop_error_mm, 0.1, 100.0, "CoP error limit, mm"),
    OPT("limit-nonlinearity", limit_nonlinearity_pct_fs, 0.01, 10.0, "non-linearity limit, % FS"),
    OPT("limit-hysteresis", limit_hysteresis_pct_fs, 0.01, 10.0, "hysteresis limit, % FS"),
    OPT("limit-zero", limit_zero_return_pct_fs, 0.01, 10.0, "zero return limit, % FS"),
    OPT("limit-gain-spread", limit_gain_spread_pct, 1.0, 100.0,
        "gain spread limit, % of the median gain"),
    OPT("drift-limit", drift_limit_pct_fs, 0.01, 50.0, "drift warning limit, % FS"),
    OPT("drift-limit-n", drift_limit_n, 0.0, 10000.0, "drift warning limit, N (0: use % FS)"),
    OPT("rezero-max", rezero_max_pct_fs, 0.1, 100.0, "largest reading re-zeroed, % FS"),
};
#undef OPT

int
stance_calib_options_validate(const StanceCalibOptions *o, StanceError *err)
{
  if (!o)
    return stance_error_set(err, STANCE_EINVAL, "no options given");
  for (size_t i = 0; i < sizeof opt_specs / sizeof opt_specs[0]; i++) {
    const OptSpec *sp = &opt_specs[i];
    double v = *(const double *)((const char *)o + sp->offset);
    if (!isfinite(v) || v < sp->lo || v > sp->hi)
      return stance_error_set(err, STANCE_ERANGE,
                              "%s %g is outside its range (expected %s from "
                              "%g to %g)",
                              sp->key, v, sp->what, sp->lo, sp->hi);
  }
  return STANCE_OK;
}

int
stance_calib_options_set(StanceCalibOptions *o, const char *key, const char *value,
                         StanceError *err)
{
  if (!o || !key)
    return stance_error_set(err, STANCE_EINVAL, "no options or no key given");
  const OptSpec *sp = NULL;
  for (size_t i = 0; i < sizeof opt_specs / sizeof opt_specs[0]; i++)
    if (strcmp(opt_specs[i].key, key) == 0)
      sp = &opt_specs[i];
  if (!sp)
    return stance_error_set(err, STANCE_EINVAL,
                            "'%s' is not a calibration option (expected gravity, settle, "
                            "min-average, min-step, steady-window, level-tolerance, nominal-gain, "
                            "limit-force, limit-cop, limit-nonlinearity, limit-hysteresis, "
                            "limit-zero, limit-gain-spread, drift-limit, drift-limit-n or "
                            "rezero-max)",
                            key);
  if (!value || !*value || *value == ' ' || *value == '\t')
    return stance_error_set(err, STANCE_EINVAL, "%s: '%.40s' is not a number (expected %s)", key,
                            value ? value : "", sp->what);
  locale_t loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (!loc)
    return stance_error_set(err, STANCE_ENOMEM, "could not create the C locale for numbers");
  char *end = NULL;
  errno = 0;
  double v = strtod_l(value, &end, loc);
  freelocale(loc);
  if (end == value || *end != '\0' || errno == ERANGE || !isfinite(v))
    return stance_error_set(err, STANCE_EINVAL, "%s: '%.40s' is not a number (expected %s)", key,
                            value, sp->what);
  if (v < sp->lo || v > sp->hi)
    return stance_error_set(err, STANCE_ERANGE,
                            "%s %g is outside its range (expected %s from %g "
                            "to %g)",
                            key, v, sp->what, sp->lo, sp->hi);
  *(double *)((char *)o + sp->offset) = v;
  return STANCE_OK;
}

int
_stance_calib_options_resolve(const StanceCalibOptions *opt_in, StanceCalibOptions *opt,
                              StanceError *err)
{
  if (opt_in)
    *opt = *opt_in;
  else
    stance_calib_options_default(opt);
  return stance_calib_options_validate(opt, err);
}

int
_stance_calib_prepare(const StanceCalibPlan *plan, const StanceCalibration *geometry,
                      const StanceCalibOptions *opt_in, StanceCalibOptions *opt,
                      StanceCalibration *tmp, const StanceCalibration **geo, StanceError *err)
{
  int r = _stance_calib_options_resolve(opt_in, opt, err);
  if (r < 0)
    return r;
  *geo = _stance_calib_geometry(geometry, tmp);
  return stance_calib_plan_validate(plan, *geo, err);
}

int
_stance_calib_check_cells(const StanceRecording *rec, const char *expected, StanceError *err)
{
  if (rec->layout != STANCE_LAYOUT_CELLS || !rec->counts)
    return stance_error_set(err, STANCE_EINVAL, "the recording holds %s (expected %s)",
                            stance_layout_name(rec->layout), expected);
  return STANCE_OK;
}

int
_stance_calib_cells_options(const StanceRecording *rec, const char *expected,
                            const StanceCalibOptions *opt_in, StanceCalibOptions *opt,
                            StanceError *err)
{
  int r = _stance_calib_check_cells(rec, expected, err);
  return r < 0 ? r : _stance_calib_options_resolve(opt_in, opt, err);
}

/* ======================================================================================
 * Records
 * ====================================================================================== */

int
stance_calib_make_id(const char *board_serial, int64_t created_unix_ms, uint32_t sequence,
                     char *buf, size_t n, StanceError *err)
{
  if (!buf || n < 64)
    return stance_error_set(err, STANCE_EINVAL, "id buffer missing or shorter than 64 bytes");
  buf[0] = '\0';
  size_t len = board_serial ? strlen(board_serial) : 0;
  if (len == 0 || len > 31)
    return stance_error_set(err, STANCE_EINVAL,
                            "board serial '%s' has %zu characters (expected 1 to 31)",
                            board_serial ? board_serial : "", len);
  for (size_t i = 0; i < len; i++) {
    char c = board_serial[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok)
      return stance_error_set(err, STANCE_EINVAL,
                              "board serial '%.31s': character %zu is not allowed (expected "
                              "letters, digits, '-', '_' or '.')",
                              board_serial, i + 1);
  }
  if (sequence == 0 || sequence > 9999)
    return stance_error_set(err, STANCE_ERANGE,
                            "calibration sequence %" PRIu32 " (expected 1 to 9999)", sequence);
  /* 0001-01-01 to 9999-12-31 */
  if (created_unix_ms < INT64_C(-62135596800000) || created_unix_ms > INT64_C(253402300799999))
    return stance_error_set(err, STANCE_ERANGE,
                            "creation time %" PRId64 " ms is outside years 1-9999 (expected a "
                            "UTC time in ms since 1970)",
                            created_unix_ms);
  time_t t =
      (time_t)(created_unix_ms >= 0 ? created_unix_ms / 1000 : -((-created_unix_ms + 999) / 1000));
  struct tm tm;
  if (!gmtime_r(&t, &tm))
    return stance_error_set(err, STANCE_ERANGE, "creation time %" PRId64 " ms cannot be dated",
                            created_unix_ms);
  snprintf(buf, n, "%s-%04d-%02d-%02d-%" PRIu32, board_serial, tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, sequence);
  return STANCE_OK;
}

void
stance_calib_record_to_calibration(const StanceCalibRecord *rec, StanceCalibration *cal)
{
  *cal = rec->calibration;
  snprintf(cal->id, sizeof cal->id, "%s", rec->id);
  snprintf(cal->board_serial, sizeof cal->board_serial, "%s", rec->board_serial);
  cal->created_unix_ms = rec->created_unix_ms;
}

/* ======================================================================================
 * The whole run
 * ====================================================================================== */

void
stance_calib_result_free(StanceCalibResult *res)
{
  if (!res)
    return;
  stance_calib_plan_free(res->plan);
  free(res->spans);
  free(res->steps);
  stance_calib_report_clear(&res->report);
  free(res);
}

int
stance_calib_run(const StanceRecording *rec, const StanceCalibPlan *plan,
                 const StanceCalibSpan *spans, const StanceCalibIdentity *identity,
                 const StanceCalibOptions *opt_in, StanceCalibResult **out, StanceError *err)
{
  if (!out)
    return stance_error_set(err, STANCE_EINVAL, "no output given");
  *out = NULL;
  if (!rec || !plan)
    return stance_error_set(err, STANCE_EINVAL, "no recording or no plan given");
  int r = _stance_calib_check_cells(rec, STANCE_CALIB_EXPECT_SESSION, err);
  if (r < 0)
    return r;
  StanceCalibOptions opt;
  StanceCalibration tmp;
  const StanceCalibration *geo = NULL;
  r = _stance_calib_prepare(plan, &rec->calib, opt_in, &opt, &tmp, &geo, err);
  if (r < 0)
    return r;

  const char *serial = identity && identity->board_serial && identity->board_serial[0]
                           ? identity->board_serial
                           : rec->meta.board_serial;
  int64_t created = identity && identity->created_unix_ms != 0 ? identity->created_unix_ms
                                                               : rec->meta.start_unix_ms;
  uint32_t seq = identity && identity->sequence != 0 ? identity->sequence : 1;
  if (!serial[0])
    return stance_error_set(err, STANCE_EINVAL,
                            "the recording names no board serial (expected the serial of the "
                            "board being calibrated: a calibration belongs to one board)");
  if (created == 0)
    return stance_error_set(err, STANCE_EINVAL,
                            "no creation time: the recording has no start time (expected the "
                            "time of the calibration, UTC ms since 1970)");
  char id[64];
  r = stance_calib_make_id(serial, created, seq, id, sizeof id, err);
  if (r < 0)
    return r;

  StanceCalibResult *res = calloc(1, sizeof *res);
  if (!res)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for a calibration");
  res->plan = stance_calib_plan_copy(plan);
  res->spans = calloc(plan->n_steps, sizeof *res->spans);
  res->steps = calloc(plan->n_steps, sizeof *res->steps);
  res->sample_rate_hz = rec->sample_rate_hz;
  if (!res->plan || !res->spans || !res->steps) {
    stance_calib_result_free(res);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for a calibration");
  }
  if (spans) {
    memcpy(res->spans, spans, plan->n_steps * sizeof *spans);
    res->spans_found = false;
  } else {
    r = stance_calib_segment(rec, plan, &opt, res->spans, err);
    res->spans_found = true;
  }
  if (r == 0)
    r = stance_calib_measure(rec, plan, res->spans, &opt, res->steps, err);
  if (r == 0)
    r = stance_calib_fit(plan, res->steps, geo, &opt, &res->fit, err);
  if (r == 0)
    r = stance_calib_verify(plan, res->steps, &res->fit, geo, &opt, &res->report, err);
  if (r < 0) {
    stance_calib_result_free(res);
    return r;
  }

  StanceCalibRecord *cr = &res->record;
  cr->format_version = STANCE_CALIB_RECORD_VERSION;
  snprintf(cr->id, sizeof cr->id, "%s", id);
  snprintf(cr->board_serial, sizeof cr->board_serial, "%s", serial);
  cr->sequence = seq;
  cr->created_unix_ms = created;
  snprintf(cr->plan_name, sizeof cr->plan_name, "%s", plan->name);
  cr->plan_steps = (uint32_t)plan->n_steps;
  snprintf(cr->fit_method, sizeof cr->fit_method, "%s", res->fit.method);
  cr->gravity_m_s2 = opt.gravity_m_s2;
  stance_calib_fit_to_calibration(&res->fit, geo, &cr->calibration);
  snprintf(cr->calibration.id, sizeof cr->calibration.id, "%s", id);
  snprintf(cr->calibration.board_serial, sizeof cr->calibration.board_serial, "%s", serial);
  cr->calibration.created_unix_ms = created;
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    cr->gain_se_n_per_count[c] = res->fit.gain_se_n_per_count[c];
    cr->offset_se_counts[c] = res->fit.offset_se_counts[c];
  }
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    const StanceCalibPlateCheck *pk = &res->report.plate[pl];
    cr->full_scale_n[pl] = res->fit.full_scale_n[pl];
    cr->residual_rms_n[pl] = res->fit.residual_rms_n[pl];
    cr->force_error_pct_fs[pl] = pk->max_force_error_pct_fs;
    cr->cop_error_mm[pl] = pk->max_cop_error_mm;
    cr->nonlinearity_pct_fs[pl] = pk->nonlinearity_pct_fs;
    cr->hysteresis_pct_fs[pl] = pk->hysteresis_pct_fs;
    cr->zero_return_pct_fs[pl] = pk->zero_return_pct_fs;
  }
  cr->n_faults = (uint32_t)res->report.n_faults;
  cr->passed = res->report.passed;
  *out = res;
  return STANCE_OK;
}

/* ======================================================================================
 * JSON
 * ====================================================================================== */

static void
json_iso_time(StanceJson *j, const char *key, int64_t ms)
{
  time_t t = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
  struct tm tm;
  char buf[40];
  if (gmtime_r(&t, &tm)) {
    int msr = (int)(((ms % 1000) + 1000) % 1000);
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msr);
    stance_json_kv_string(j, key, buf);
  } else {
    stance_json_key(j, key);
    stance_json_null(j);
  }
}

/* "plate", "x_mm" and "y_mm" of a position. */
static void
json_place(StanceJson *j, int plate, double x_mm, double y_mm)
{
  stance_json_kv_string(j, "plate", _stance_calib_plate_name(plate));
  stance_json_kv_number(j, "x_mm", x_mm);
  stance_json_kv_number(j, "y_mm", y_mm);
}

/* key: [v[0], ..., v[7]], one number per channel. */
static void
json_channels(StanceJson *j, const char *key, const double v[STANCE_N_CELLS])
{
  stance_json_key(j, key);
  stance_json_begin_array(j);
  for (int c = 0; c < STANCE_N_CELLS; c++)
    stance_json_number(j, v[c]);
  stance_json_end_array(j);
}

static void
json_limits(StanceJson *j, const StanceCalibOptions *o)
{
  stance_json_key(j, "limits");
  stance_json_begin_object(j);
  stance_json_kv_number(j, "force_error_pct_fs", o->limit_force_error_pct_fs);
  stance_json_kv_number(j, "cop_error_mm", o->limit_cop_error_mm);
  stance_json_kv_number(j, "nonlinearity_pct_fs", o->limit_nonlinearity_pct_fs);
  stance_json_kv_number(j, "hysteresis_pct_fs", o->limit_hysteresis_pct_fs);
  stance_json_kv_number(j, "zero_return_pct_fs", o->limit_zero_return_pct_fs);
  stance_json_kv_number(j, "gain_spread_pct", o->limit_gain_spread_pct);
  stance_json_end_object(j);
}

int
stance_calib_result_write_json(const StanceCalibResult *res, FILE *out, bool pretty,
                               StanceError *err)
{
  if (!res || !out)
    return stance_error_set(err, STANCE_EINVAL, "no result or no output stream given");
  const StanceCalibRecord *cr = &res->record;
  const StanceCalibReport *rep = &res->report;
  const StanceCalibFit *fit = &res->fit;
  StanceJson *j = stance_json_new(out, pretty);
  if (!j)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for the JSON writer");
  char buf[160];
  stance_json_begin_object(j);
  stance_json_kv_string(j, "format", "stance-calibration");
  stance_json_kv_int(j, "version", cr->format_version);
  stance_json_kv_string(j, "id", cr->id);
  stance_json_kv_string(j, "board_serial", cr->board_serial);
  stance_json_kv_int(j, "sequence", cr->sequence);
  stance_json_kv_int(j, "created_unix_ms", cr->created_unix_ms);
  json_iso_time(j, "created", cr->created_unix_ms);
  stance_json_kv_number(j, "gravity_m_s2", cr->gravity_m_s2);
  stance_json_kv_bool(j, "passed", cr->passed);
  stance_json_kv_string(j, "summary", rep->summary);

  /* the calibration as recordings use it */
  stance_json_key(j, "cells");
  stance_json_begin_array(j);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    stance_json_begin_object(j);
    stance_json_kv_int(j, "channel", c);
    stance_json_kv_string(j, "plate", _stance_calib_plate_name(c / STANCE_CELLS_PER_PLATE));
    stance_json_kv_int(j, "cell", c % STANCE_CELLS_PER_PLATE + 1);
    stance_json_kv_string(j, "position", stance_calib_cell_name(c % STANCE_CELLS_PER_PLATE + 1));
    stance_json_kv_number(j, "offset_counts", cr->calibration.offset_counts[c]);
    stance_json_kv_number(j, "offset_se_counts", cr->offset_se_counts[c]);
    stance_json_kv_number(j, "gain_n_per_count", cr->calibration.gain_n_per_count[c]);
    stance_json_kv_number(j, "gain_se_n_per_count", cr->gain_se_n_per_count[c]);
    const StanceCalibCellCheck *cc = &rep->cell[c];
    stance_json_kv_number(j, "gain_dev_pct", cc->gain_dev_pct);
    stance_json_kv_number(j, "nonlinearity_pct_fs", cc->nonlinearity_pct_fs);
    stance_json_kv_number(j, "response_own_counts_per_n", cc->response_own);
    stance_json_key(j, "strongest_response");
    stance_json_begin_object(j);
    json_place(j, cc->strongest_plate, cc->strongest_x_mm, cc->strongest_y_mm);
    stance_json_kv_number(j, "counts_per_n", cc->response_strongest);
    stance_json_end_object(j);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);

  stance_json_key(j, "plates");
  stance_json_begin_array(j);
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    const StancePlateGeometry *g = &cr->calibration.plate[pl];
    const StanceCalibPlateCheck *pk = &rep->plate[pl];
    stance_json_begin_object(j);
    stance_json_kv_string(j, "plate", _stance_calib_plate_name(pl));
    stance_json_kv_number(j, "width_mm", g->width_mm);
    stance_json_kv_number(j, "length_mm", g->length_mm);
    stance_json_kv_number(j, "centre_x_mm", g->centre_x_mm);
    stance_json_kv_number(j, "centre_y_mm", g->centre_y_mm);
    stance_json_key(j, "cell_positions_mm");
    stance_json_begin_array(j);
    for (int i = 0; i < STANCE_CELLS_PER_PLATE; i++) {
      stance_json_begin_array(j);
      stance_json_number(j, g->cell[i].x_mm);
      stance_json_number(j, g->cell[i].y_mm);
      stance_json_end_array(j);
    }
    stance_json_end_array(j);
    stance_json_kv_number(j, "full_scale_n", fit->full_scale_n[pl]);
    stance_json_kv_number(j, "fit_residual_rms_n", fit->residual_rms_n[pl]);
    stance_json_kv_number(j, "fit_condition_number", fit->condition_number[pl]);
    stance_json_kv_int(j, "fit_steps", fit->n_steps[pl]);
    stance_json_kv_int(j, "fit_equations", fit->n_equations[pl]);
    stance_json_kv_number(j, "max_force_error_n", pk->max_force_error_n);
    stance_json_kv_number(j, "max_force_error_pct_fs", pk->max_force_error_pct_fs);
    stance_json_kv_number(j, "max_cop_error_mm", pk->max_cop_error_mm);
    stance_json_kv_int(j, "cop_missing_steps", pk->n_cop_missing);
    stance_json_kv_number(j, "nonlinearity_pct_fs", pk->nonlinearity_pct_fs);
    stance_json_kv_number(j, "hysteresis_pct_fs", pk->hysteresis_pct_fs);
    stance_json_kv_number(j, "zero_return_pct_fs", pk->zero_return_pct_fs);
    stance_json_kv_bool(j, "force_ok", pk->force_ok);
    stance_json_kv_bool(j, "cop_ok", pk->cop_ok);
    stance_json_kv_bool(j, "nonlinearity_ok", pk->nonlinearity_ok);
    stance_json_kv_bool(j, "hysteresis_ok", pk->hysteresis_ok);
    stance_json_kv_bool(j, "zero_ok", pk->zero_ok);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);

  stance_json_key(j, "fit");
  stance_json_begin_object(j);
  stance_json_kv_string(j, "method", fit->method);
  stance_json_kv_int(j, "zero_step", (int64_t)fit->zero_step + 1);
  stance_json_end_object(j);

  stance_json_key(j, "verification");
  stance_json_begin_object(j);
  json_limits(j, &rep->limits);
  stance_json_kv_bool(j, "position_diagnostics", rep->position_diagnostics);
  stance_json_key(j, "faults");
  stance_json_begin_array(j);
  for (int i = 0; i < rep->n_faults; i++) {
    const StanceCalibFault *f = &rep->faults[i];
    stance_json_begin_object(j);
    stance_json_kv_string(j, "kind", stance_calib_fault_name(f->kind));
    stance_json_kv_int(j, "channel", f->channel);
    stance_json_kv_string(j, "cell", stance_calib_channel_text(f->channel, buf, sizeof buf));
    if (f->other_channel >= 0) {
      stance_json_kv_int(j, "other_channel", f->other_channel);
      stance_json_kv_string(j, "other_cell",
                            stance_calib_channel_text(f->other_channel, buf, sizeof buf));
    }
    stance_json_kv_number(j, "value", f->value);
    stance_json_kv_string(j, "message", f->message);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_key(j, "positions");
  stance_json_begin_array(j);
  for (size_t i = 0; i < rep->n_positions; i++) {
    const StanceCalibPositionCheck *pc = &rep->positions[i];
    stance_json_begin_object(j);
    stance_json_kv_string(j, "plate", _stance_calib_plate_name(pc->plate));
    stance_json_kv_string(j, "name",
                          stance_calib_position_name(&cr->calibration.plate[pc->plate], pc->x_mm,
                                                     pc->y_mm, buf, sizeof buf));
    stance_json_kv_number(j, "x_mm", pc->x_mm);
    stance_json_kv_number(j, "y_mm", pc->y_mm);
    stance_json_kv_int(j, "steps", pc->n_steps);
    stance_json_kv_number(j, "nonlinearity_pct_fs", pc->nonlinearity_pct_fs);
    stance_json_kv_number(j, "hysteresis_pct_fs", pc->hysteresis_pct_fs);
    stance_json_kv_number(j, "max_force_error_pct_fs", pc->max_force_error_pct_fs);
    stance_json_kv_number(j, "max_cop_error_mm", pc->max_cop_error_mm);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_end_object(j);

  stance_json_key(j, "plan");
  stance_json_begin_object(j);
  stance_json_kv_string(j, "name", res->plan->name);
  stance_json_kv_bool(j, "spans_found", res->spans_found);
  stance_json_key(j, "steps");
  stance_json_begin_array(j);
  for (size_t k = 0; k < res->plan->n_steps; k++) {
    const StanceCalibStep *s = &res->plan->steps[k];
    const StanceCalibStepData *d = &res->steps[k];
    const StanceCalibStepCheck *ck = &rep->steps[k];
    stance_json_begin_object(j);
    stance_json_kv_int(j, "step", (int64_t)k + 1);
    stance_json_kv_string(j, "kind", stance_calib_step_kind_name(s->kind));
    if (s->kind != STANCE_CALIB_ZERO) {
      json_place(j, s->plate, s->x_mm, s->y_mm);
      stance_json_kv_number(j, "mass_kg", s->mass_kg);
    }
    stance_json_kv_number(j, "start_s", (double)d->start / res->sample_rate_hz);
    stance_json_kv_number(j, "end_s", (double)d->end / res->sample_rate_hz);
    stance_json_kv_number(j, "avg_start_s", (double)d->avg_start / res->sample_rate_hz);
    stance_json_kv_number(j, "avg_end_s", (double)d->avg_end / res->sample_rate_hz);
    json_channels(j, "mean_counts", d->mean_counts);
    json_channels(j, "sem_counts", d->sem_counts);
    stance_json_kv_number(j, "applied_n", ck->applied_n);
    stance_json_kv_number(j, "left_n", ck->plate_n[0]);
    stance_json_kv_number(j, "right_n", ck->plate_n[1]);
    stance_json_kv_number(j, "force_error_n", ck->force_error_n);
    stance_json_kv_number(j, "force_error_pct_fs", ck->force_error_pct_fs);
    if (ck->has_cop) {
      stance_json_kv_number(j, "cop_x_mm", ck->cop_x_mm);
      stance_json_kv_number(j, "cop_y_mm", ck->cop_y_mm);
      stance_json_kv_number(j, "cop_error_mm", ck->cop_error_mm);
    }
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_end_object(j);
  stance_json_end_object(j);
  return stance_json_finish(j, err);
}

/* ======================================================================================
 * Drift
 * ====================================================================================== */

int
stance_calib_rezero(const StanceRecording *rec, size_t start, size_t n,
                    const StanceCalibration *cal, const double *full_scale_n,
                    const StanceCalibOptions *opt_in, StanceCalibDrift *out, StanceError *err)
{
  if (!rec || !cal || !out)
    return stance_error_set(err, STANCE_EINVAL, "no recording, calibration or output given");
  memset(out, 0, sizeof *out);
  StanceCalibOptions opt;
  int r = _stance_calib_cells_options(rec, STANCE_CALIB_EXPECT_COUNTS, opt_in, &opt, err);
  if (r < 0)
    return r;
  r = stance_calibration_validate(cal, err);
  if (r < 0)
    return r;
  if (opt.drift_limit_n <= 0.0) {
    if (!full_scale_n)
      return stance_error_set(err, STANCE_EINVAL,
                              "no full scale given (expected each plate's full scale in N, or "
                              "a drift limit in N)");
    for (int pl = 0; pl < STANCE_N_PLATES; pl++)
      if (!isfinite(full_scale_n[pl]) || full_scale_n[pl] <= 0.0)
        return stance_error_set(err, STANCE_ERANGE,
                                "%s plate full scale %g N (expected a positive force)",
                                _stance_calib_plate_name(pl), full_scale_n[pl]);
  }
  if (start > rec->n_samples || n > rec->n_samples - start || n == 0)
    return stance_error_set(err, STANCE_ERANGE,
                            "samples %zu-%zu are not in the recording (expected a non-empty "
                            "stretch within its %zu samples)",
                            start, start + n, rec->n_samples);
  double sum[STANCE_N_CELLS] = {0}, pf_sum[STANCE_N_PLATES] = {0}, pf_ss[STANCE_N_PLATES] = {0};
  size_t used = 0;
  for (size_t i = start; i < start + n; i++) {
    uint16_t st = rec->status[i];
    if (st & STANCE_STATUS_GAP)
      continue;
    if (st & STANCE_STATUS_SAT_MASK) {
      char ch[48];
      return stance_error_set(
          err, STANCE_ERANGE, "%s is at the ADC rail at t = %.3f s (expected empty plates)",
          stance_calib_channel_text(_stance_calib_railed_channel(st), ch, sizeof ch),
          (double)i / rec->sample_rate_hz);
    }
    const int32_t *cv = &rec->counts[i * STANCE_N_CELLS];
    for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
      double f = 0.0;
      for (int k = 0; k < STANCE_CELLS_PER_PLATE; k++) {
        int c = pl * STANCE_CELLS_PER_PLATE + k;
        f += cal->gain_n_per_count[c] * ((double)cv[c] - cal->offset_counts[c]);
      }
      pf_sum[pl] += f;
      pf_ss[pl] += f * f;
    }
    for (int c = 0; c < STANCE_N_CELLS; c++)
      sum[c] += cv[c];
    used++;
  }
  size_t min_used = (size_t)fmax(10.0, ceil(0.1 * rec->sample_rate_hz));
  if (used < min_used)
    return stance_error_set(err, STANCE_ENODATA,
                            "%zu readings in the stretch (expected at least %zu: 0.1 s of empty "
                            "plates)",
                            used, min_used);
  out->calibration = *cal;
  out->n_used = used;
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    const char *pn = _stance_calib_plate_name(pl);
    double fs = full_scale_n ? full_scale_n[pl] : 0.0;
    double mean = pf_sum[pl] / (double)used;
    double sd = sqrt(fmax(0.0, (pf_ss[pl] - mean * mean * (double)used) / (double)(used - 1)));
    double limit =
        opt.drift_limit_n > 0.0 ? opt.drift_limit_n : opt.drift_limit_pct_fs / 100.0 * fs;
    double refuse =
        opt.drift_limit_n > 0.0 ? 10.0 * opt.drift_limit_n : opt.rezero_max_pct_fs / 100.0 * fs;
    double sd_max = opt.drift_limit_n > 0.0 ? opt.drift_limit_n : 0.01 * fs;
    if (sd > sd_max)
      return stance_error_set(err, STANCE_ERANGE,
                              "the %s plate is not steady (SD %.2f N over %.2f s, expected below "
                              "%.2f N): something touches it; nothing re-zeroed",
                              pn, sd, (double)n / rec->sample_rate_hz, sd_max);
    if (fabs(mean) > refuse)
      return stance_error_set(err, STANCE_ERANGE,
                              "the %s plate reads %.1f N from its zero (expected within %.1f N "
                              "for empty plates): it does not look empty; nothing re-zeroed",
                              pn, mean, refuse);
    out->limit_n[pl] = limit;
  }
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    double o = sum[c] / (double)used;
    out->shift_counts[c] = o - cal->offset_counts[c];
    out->shift_n[c] = out->shift_counts[c] * cal->gain_n_per_count[c];
    out->calibration.offset_counts[c] = o;
    out->plate_shift_n[c / STANCE_CELLS_PER_PLATE] += out->shift_n[c];
  }
  size_t len = 0;
  for (int pl = 0; pl < STANCE_N_PLATES; pl++) {
    double fs = full_scale_n ? full_scale_n[pl] : 0.0;
    out->plate_shift_pct_fs[pl] = fs > 0.0 ? fabs(out->plate_shift_n[pl]) / fs * 100.0 : 0.0;
    if (fabs(out->plate_shift_n[pl]) <= out->limit_n[pl])
      continue;
    out->warn = true;
    char pct[48] = "";
    if (fs > 0.0)
      snprintf(pct, sizeof pct, " (%.2f %% FS)", out->plate_shift_pct_fs[pl]);
    int w = snprintf(out->message + len, sizeof out->message - len,
                     "%sthe %s plate's empty reading moved by %+.2f N%s since its last zero "
                     "(limit %.2f N)",
                     len ? "; " : "", _stance_calib_plate_name(pl), out->plate_shift_n[pl], pct,
                     out->limit_n[pl]);
    if (w > 0) {
      len += (size_t)w;
      if (len > sizeof out->message - 1)
        len = sizeof out->message - 1;
    }
  }
  if (out->warn && len < sizeof out->message - 1)
    snprintf(out->message + len, sizeof out->message - len,
             ": re-zeroed; if it keeps moving, let the board warm up and check that nothing "
             "touches the plates");
  return STANCE_OK;
}
