/* cli-describe.c: the per-recording summary of `info` and `import` (see cli-describe.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "cli-describe.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "cli-common.h"

void
cli_rec_stats(const StanceRecording *rec, CliRecStats *st)
{
  memset(st, 0, sizeof *st);
  size_t n = rec->n_samples;
  size_t win = n;
  if (rec->sample_rate_hz > 0) {
    double w = floor(rec->sample_rate_hz + 0.5);
    if (w >= 1.0 && w < (double)n)
      win = (size_t)w;
  }
  st->window_s = rec->sample_rate_hz > 0 ? (double)win / rec->sample_rate_hz : 0.0;
  bool limbs = stance_recording_has_limbs(rec);
  double sl = 0, sr = 0, stot = 0;
  for (size_t i = 0; i < win; i++) {
    if (rec->status[i] & STANCE_STATUS_GAP)
      continue;
    st->window_used++;
    if (limbs) {
      double l = stance_recording_force_at(rec, i, STANCE_SEL_LEFT);
      double r = stance_recording_force_at(rec, i, STANCE_SEL_RIGHT);
      sl += l;
      sr += r;
      stot += l + r;
    } else {
      stot += stance_recording_force_at(rec, i, STANCE_SEL_TOTAL);
    }
  }
  if (st->window_used > 0) {
    double k = (double)st->window_used;
    st->mean_left_n = sl / k;
    st->mean_right_n = sr / k;
    st->mean_total_n = stot / k;
    st->has_window_mean =
        isfinite(st->mean_total_n) && isfinite(st->mean_left_n) && isfinite(st->mean_right_n);
  }
  bool in_gap = false;
  for (size_t i = 0; i < n; i++) {
    uint16_t s = rec->status[i];
    if (s & STANCE_STATUS_GAP) {
      st->gap_samples++;
      if (!in_gap)
        st->gap_runs++;
      in_gap = true;
    } else {
      in_gap = false;
    }
    if (s & STANCE_STATUS_SAT_MASK) {
      st->sat_samples++;
      st->sat_channels |= s & STANCE_STATUS_SAT_MASK;
    }
    if (s & STANCE_STATUS_OVERFLOW)
      st->overflows++;
  }
}

const char *
cli_rate_text(double hz)
{
  return cli_num_trim(hz, 3);
}

static void row(FILE *out, int indent, int value_col, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
row(FILE *out, int indent, int value_col, const char *label, const char *fmt, ...)
{
  int w = value_col - indent;
  if (w < (int)strlen(label) + 1)
    w = (int)strlen(label) + 1;
  fprintf(out, "%*s%-*s", indent, "", w, label);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(out, fmt, ap);
  va_end(ap);
  fputc('\n', out);
}

void
cli_print_wrapped(FILE *out, int indent, int value_col, const char *label, const char *text)
{
  const int width = 100;
  int w = value_col - indent;
  if (w < (int)strlen(label) + 1)
    w = (int)strlen(label) + 1;
  int col0 = indent + w;
  fprintf(out, "%*s%-*s", indent, "", w, label);
  int col = col0;
  bool first_word = true;
  const char *p = text;
  while (*p) {
    if (*p == '\n') {
      fprintf(out, "\n%*s", col0, "");
      col = col0;
      first_word = true;
      p++;
      continue;
    }
    if (*p == ' ') {
      p++;
      continue;
    }
    size_t len = strcspn(p, " \n");
    /* A word longer than a whole line (a list joined by commas) is cut after a comma. */
    int room = width - col0;
    if ((int)len > room && room > 20) {
      int avail = first_word ? width - col : width - col - 1;
      size_t cut = 0;
      for (size_t q = 0; q < len && (int)q < avail; q++)
        if (p[q] == ',')
          cut = q + 1;
      if (cut == 0 && !first_word) {
        fprintf(out, "\n%*s", col0, "");
        col = col0;
        first_word = true;
        continue;
      }
      if (cut > 0)
        len = cut;
    }
    if (!first_word && col + 1 + (int)len > width) {
      fprintf(out, "\n%*s", col0, "");
      col = col0;
      first_word = true;
    }
    if (!first_word) {
      fputc(' ', out);
      col++;
    }
    fwrite(p, 1, len, out);
    col += (int)len;
    first_word = false;
    p += len;
  }
  fputc('\n', out);
}

static const char *
layout_text(const StanceRecording *rec)
{
  switch (rec->layout) {
  case STANCE_LAYOUT_CELLS: return "cells: 8 load cells (4 per plate), raw ADC counts";
  case STANCE_LAYOUT_PLATES: return "plates: vertical force of each plate, N";
  case STANCE_LAYOUT_COMBINED: return "combined: one vertical force, N";
  default: return "unknown";
  }
}

static void
utc_text(char *buf, size_t n, int64_t unix_ms)
{
  time_t t = (time_t)(unix_ms / 1000);
  struct tm tm;
  if (!gmtime_r(&t, &tm)) {
    snprintf(buf, n, "%s ms since 1970 (UTC)", cli_num((double)unix_ms, 0));
    return;
  }
  snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
duration_text(char *buf, size_t n, double s)
{
  if (s < 60.0) {
    snprintf(buf, n, "%s s", cli_num(s, 3));
    return;
  }
  long total = (long)floor(s + 0.5);
  long h = total / 3600, m = (total / 60) % 60, sec = total % 60;
  if (h > 0)
    snprintf(buf, n, "%s s (%ld h %02ld min %02ld s)", cli_num(s, 3), h, m, sec);
  else
    snprintf(buf, n, "%s s (%ld min %02ld s)", cli_num(s, 3), m, sec);
}

static void
channel_list(char *buf, size_t n, const StanceRecording *rec, unsigned mask)
{
  buf[0] = '\0';
  size_t used = 0;
  for (int c = 0; c < (int)rec->n_channels && c < 16; c++) {
    if (!(mask & (1u << c)))
      continue;
    int k = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", cli_channel_name(rec, c));
    if (k < 0 || (size_t)k >= n - used)
      break;
    used += (size_t)k;
  }
}

static const char *
cop_text(const StanceRecording *rec)
{
  int np = stance_recording_cop_plates(rec);
  if (rec->layout == STANCE_LAYOUT_CELLS)
    return "left and right plates, from the load cells";
  if (np == 2)
    return "left and right plates, from the file";
  if (np == 1)
    return "one (combined) plate, from the file";
  return "not available (the source has vertical force only)";
}

static const char *
pct_of(double part, double total)
{
  if (!(fabs(total) > 1e-9))
    return "n/a";
  return cli_num(part / total * 100.0, 1);
}

void
cli_describe_text(FILE *out, const StanceRecording *rec, int indent, int value_col, bool show_meta)
{
  const StanceMeta *m = &rec->meta;
  CliRecStats st;
  cli_rec_stats(rec, &st);
  char buf[512];

  row(out, indent, value_col, "layout", "%s", layout_text(rec));
  row(out, indent, value_col, "source", "%s", m->source[0] ? m->source : "(not recorded)");
  if (m->protocol != STANCE_PROTO_UNKNOWN) {
    const StanceProtocolInfo *pi = stance_protocol_info(m->protocol);
    char side[64];
    stance_side_text(side, sizeof side, m->protocol, m->side);
    row(out, indent, value_col, "protocol", "%s (%s), %s", stance_protocol_name(m->protocol),
        pi ? pi->title : "?", side);
  } else if (m->side != STANCE_SIDE_BOTH) {
    row(out, indent, value_col, "side", "%s", stance_side_name(m->side));
  }
  if (m->athlete[0])
    row(out, indent, value_col, "athlete", "%s", m->athlete);
  if (m->start_unix_ms > 0) {
    utc_text(buf, sizeof buf, m->start_unix_ms);
    row(out, indent, value_col, "started", "%s", buf);
  }
  if (m->board_serial[0] || m->firmware_version[0])
    row(out, indent, value_col, "board", "%s%s%s", m->board_serial[0] ? m->board_serial : "?",
        m->firmware_version[0] ? ", firmware " : "", m->firmware_version);
  if (m->rate_assumed)
    row(out, indent, value_col, "sample rate",
        "%s Hz (assumed: the file has no time column or rate; pass --rate)",
        cli_rate_text(rec->sample_rate_hz));
  else
    row(out, indent, value_col, "sample rate", "%s Hz", cli_rate_text(rec->sample_rate_hz));
  duration_text(buf, sizeof buf, stance_recording_duration(rec));
  row(out, indent, value_col, "duration", "%s", buf);
  row(out, indent, value_col, "samples", "%s", cli_size(rec->n_samples));
  {
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 0; c < (int)rec->n_channels; c++)
      used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", c ? " " : "",
                               cli_channel_name(rec, c));
    row(out, indent, value_col, "channels", "%zu (%s)", rec->n_channels, buf);
  }
  if (stance_recording_has_limbs(rec)) {
    if (m->sides_assumed)
      row(out, indent, value_col, "plates",
          "left and right (assumed: the source does not say which plate is which)");
    else
      row(out, indent, value_col, "plates", "left and right");
  } else {
    row(out, indent, value_col, "plates", "one combined force (no left/right split)");
  }
  const char *cal = m->calibration_id[0] ? m->calibration_id : rec->calib.id;
  if (rec->layout == STANCE_LAYOUT_CELLS)
    row(out, indent, value_col, "calibration", "%s", cal[0] ? cal : "(no id)");
  else
    row(out, indent, value_col, "calibration", "%s",
        cal[0] ? cal : "none (forces in N as the source gave them)");

  /* Mean force over the first second: the athlete normally stands still there, so the total
   * is body weight and the split shows how the load is shared. */
  if (st.has_window_mean) {
    char head[96];
    snprintf(head, sizeof head, "first %s s%s", cli_num(st.window_s, 3),
             st.gap_samples ? ", gaps excluded" : "");
    row(out, indent, value_col, "mean force", "%s", head);
    /* Shares and a mass only mean something when someone stands on the plates. */
    bool loaded = st.mean_total_n > STANCE_COP_THRESHOLD_N;
    if (stance_recording_has_limbs(rec)) {
      if (loaded) {
        row(out, indent + 2, value_col, "left", "%9s N  %5s %% of total",
            cli_num(st.mean_left_n, 1), pct_of(st.mean_left_n, st.mean_total_n));
        row(out, indent + 2, value_col, "right", "%9s N  %5s %% of total",
            cli_num(st.mean_right_n, 1), pct_of(st.mean_right_n, st.mean_total_n));
      } else {
        row(out, indent + 2, value_col, "left", "%9s N", cli_num(st.mean_left_n, 1));
        row(out, indent + 2, value_col, "right", "%9s N", cli_num(st.mean_right_n, 1));
      }
    }
    if (loaded)
      row(out, indent + 2, value_col, "total", "%9s N  (%s kg at g = 9.80665 m/s2)",
          cli_num(st.mean_total_n, 1), cli_num(st.mean_total_n / 9.80665, 1));
    else
      row(out, indent + 2, value_col, "total", "%9s N  (unloaded: below %s N)",
          cli_num(st.mean_total_n, 1), cli_num(STANCE_COP_THRESHOLD_N, 0));
  } else {
    row(out, indent, value_col, "mean force", "n/a (no valid sample in the first second)");
  }

  if (st.gap_samples == 0)
    row(out, indent, value_col, "gaps", "none");
  else
    row(out, indent, value_col, "gaps", "%s %s, %s samples missing (%s ms)", cli_size(st.gap_runs),
        st.gap_runs == 1 ? "gap" : "gaps", cli_size(st.gap_samples),
        cli_num((double)st.gap_samples / rec->sample_rate_hz * 1000.0, 1));
  if (st.sat_samples == 0) {
    row(out, indent, value_col, "saturated", "none");
  } else {
    channel_list(buf, sizeof buf, rec, st.sat_channels);
    row(out, indent, value_col, "saturated", "%s samples (%s %%), channels %s",
        cli_size(st.sat_samples),
        cli_num((double)st.sat_samples / (double)rec->n_samples * 100.0, 2), buf);
  }
  if (st.overflows)
    row(out, indent, value_col, "FIFO overflows", "%s", cli_size(st.overflows));
  row(out, indent, value_col, "CoP", "%s", cop_text(rec));
  /* Free metadata: "prefix.key" entries (the simulator's "sim.*", the importer's ...) as one
   * wrapped "key=value" paragraph per prefix, other entries one per line. */
  bool done[STANCE_META_MAX_EXTRA] = {false};
  for (int k = 0; show_meta && k < m->n_extra; k++) {
    if (done[k])
      continue;
    const char *key = m->extra[k].key;
    const char *dot = strchr(key, '.');
    if (!dot || dot == key) {
      row(out, indent, value_col, key, "%s", m->extra[k].value);
      continue;
    }
    size_t plen = (size_t)(dot - key);
    char label[40], text[STANCE_META_MAX_EXTRA * 200];
    snprintf(label, sizeof label, "%.*s", (int)plen, key);
    if (strcmp(label, "sim") == 0)
      snprintf(label, sizeof label, "simulation");
    size_t used = 0;
    text[0] = '\0';
    for (int q = k; q < m->n_extra; q++) {
      const char *kq = m->extra[q].key;
      if (strncmp(kq, key, plen + 1) != 0)
        continue;
      done[q] = true;
      int w = snprintf(text + used, sizeof text - used, "%s%s=%s", used ? " " : "", kq + plen + 1,
                       m->extra[q].value);
      if (w > 0 && (size_t)w < sizeof text - used)
        used += (size_t)w;
    }
    cli_print_wrapped(out, indent, value_col, label, text);
  }
}

void
cli_describe_json(StanceJson *j, const StanceRecording *rec)
{
  const StanceMeta *m = &rec->meta;
  CliRecStats st;
  cli_rec_stats(rec, &st);

  stance_json_kv_string(j, "layout", stance_layout_name(rec->layout));
  cli_json_kv_text(j, "source", m->source);
  stance_json_key(j, "protocol");
  if (m->protocol != STANCE_PROTO_UNKNOWN)
    stance_json_string(j, stance_protocol_name(m->protocol));
  else
    stance_json_null(j);
  stance_json_kv_string(j, "side", stance_side_name(m->side));
  cli_json_kv_text(j, "athlete", m->athlete);
  stance_json_key(j, "start_unix_ms");
  if (m->start_unix_ms > 0)
    stance_json_int(j, m->start_unix_ms);
  else
    stance_json_null(j);
  cli_json_kv_text(j, "board_serial", m->board_serial);
  cli_json_kv_text(j, "firmware_version", m->firmware_version);
  stance_json_kv_number(j, "sample_rate_hz", rec->sample_rate_hz);
  stance_json_kv_bool(j, "rate_assumed", m->rate_assumed);
  stance_json_kv_number(j, "duration_s", stance_recording_duration(rec));
  stance_json_kv_int(j, "n_samples", (int64_t)rec->n_samples);
  stance_json_kv_int(j, "n_channels", (int64_t)rec->n_channels);
  stance_json_key(j, "channels");
  stance_json_begin_array(j);
  for (int c = 0; c < (int)rec->n_channels; c++)
    stance_json_string(j, cli_channel_name(rec, c));
  stance_json_end_array(j);
  stance_json_kv_string(j, "plates", stance_recording_has_limbs(rec) ? "left_right" : "combined");
  stance_json_kv_bool(j, "sides_assumed", m->sides_assumed);
  const char *cal = m->calibration_id[0] ? m->calibration_id : rec->calib.id;
  if (rec->has_calibration && cal[0]) {
    cli_json_kv_text(j, "calibration_id", cal);
  } else {
    stance_json_key(j, "calibration_id");
    stance_json_null(j);
  }

  stance_json_key(j, "first_second");
  stance_json_begin_object(j);
  stance_json_kv_number(j, "window_s", st.window_s);
  stance_json_kv_int(j, "samples_used", (int64_t)st.window_used);
  if (st.has_window_mean) {
    if (stance_recording_has_limbs(rec)) {
      stance_json_kv_number(j, "mean_left_n", st.mean_left_n);
      stance_json_kv_number(j, "mean_right_n", st.mean_right_n);
    }
    stance_json_kv_number(j, "mean_total_n", st.mean_total_n);
    if (stance_recording_has_limbs(rec) && fabs(st.mean_total_n) > 1e-9) {
      stance_json_kv_number(j, "left_pct", st.mean_left_n / st.mean_total_n * 100.0);
      stance_json_kv_number(j, "right_pct", st.mean_right_n / st.mean_total_n * 100.0);
    }
  }
  stance_json_end_object(j);

  stance_json_key(j, "gaps");
  stance_json_begin_object(j);
  stance_json_kv_int(j, "count", (int64_t)st.gap_runs);
  stance_json_kv_int(j, "samples", (int64_t)st.gap_samples);
  stance_json_kv_number(j, "total_ms", (double)st.gap_samples / rec->sample_rate_hz * 1000.0);
  stance_json_end_object(j);

  stance_json_key(j, "saturated");
  stance_json_begin_object(j);
  stance_json_kv_int(j, "samples", (int64_t)st.sat_samples);
  stance_json_key(j, "channels");
  stance_json_begin_array(j);
  for (int c = 0; c < (int)rec->n_channels; c++)
    if (st.sat_channels & (1u << c))
      stance_json_string(j, cli_channel_name(rec, c));
  stance_json_end_array(j);
  stance_json_end_object(j);
  stance_json_kv_int(j, "fifo_overflows", (int64_t)st.overflows);

  stance_json_key(j, "cop");
  stance_json_begin_object(j);
  int np = stance_recording_cop_plates(rec);
  stance_json_kv_bool(j, "available", np > 0);
  stance_json_kv_int(j, "plates", np);
  stance_json_key(j, "from");
  if (np == 0)
    stance_json_null(j);
  else
    stance_json_string(j, rec->layout == STANCE_LAYOUT_CELLS ? "load_cells" : "file");
  stance_json_end_object(j);

  stance_json_key(j, "metadata");
  stance_json_begin_object(j);
  for (int k = 0; k < m->n_extra; k++)
    cli_json_kv_text(j, m->extra[k].key, m->extra[k].value);
  stance_json_end_object(j);
}
