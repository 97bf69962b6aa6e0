/* stance-store.c: the store interface: argument checks, validation, sample chunks, the crash-safe
 * trial writer, recovery, trends; everything the database keeps goes through the backend table
 * (stance-store-backend.h). No SQL here.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Threads: a StanceStore and its writers belong to one thread at a time (stance-store.h).
 */
#include "stance-store.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stance-bytes.h"
#include "stance-config.h"
#include "stance-file.h"
#include "stance-json.h"
#include "stance-reliab.h"
#include "stance-store-backend.h"

G_DEFINE_QUARK(stance - store - error - quark, stance_store_error)

/* Limits of free text (bytes of UTF-8). */
#define NAME_MAX_BYTES 127
#define NOTES_MAX_BYTES 4000
#define REASON_MAX_BYTES 500
#define OPTIONS_MAX_BYTES 4096
#define PARAMS_MAX_BYTES 65536
#define RESULT_JSON_MAX_BYTES (16 * 1024 * 1024)
/* Samples per chunk: a writer commits every STANCE_STORE_FLUSH_MS, capped at this; imports use
 * IMPORT_CHUNK_SAMPLES. */
#define CHUNK_MAX_SAMPLES 65536
#define IMPORT_CHUNK_SAMPLES 8192

struct _StanceStore {
  const StanceStoreBackend *be;
  StanceStoreDb *db;
  gchar *path;
  StanceStoreFlags flags;
  int schema_version;
  GArray *recovered; /* gint64 trial ids */
};

/* ======================================================================================
 * Small helpers
 * ====================================================================================== */

static gint64
now_ms(void)
{
  return g_get_real_time() / 1000;
}

/* "X.XX" seconds, locale-independent. */
static void
fmt_seconds(char *buf, gsize n, guint64 samples, double rate)
{
  double s = rate > 0 ? (double)samples / rate : 0.0;
  g_ascii_formatd(buf, n, "%.2f", s);
}

static gboolean
writable(StanceStore *s, GError **error)
{
  if (s->flags & STANCE_STORE_READ_ONLY) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_READ_ONLY,
                "the store %s was opened read-only (expected a writable store for this change)",
                s->path);
    return FALSE;
  }
  return TRUE;
}

/* Ends a transaction: commits when ok, otherwise (or when the commit fails) rolls back. */
static gboolean
txn_end(StanceStore *s, gboolean ok, GError **error)
{
  if (ok && s->be->commit(s->db, error))
    return TRUE;
  s->be->rollback(s->db);
  return FALSE;
}

/* A fixed char array must hold a terminated string. */
static gboolean
check_fixed(const char *what, const char *buf, gsize size, GError **error)
{
  if (!memchr(buf, '\0', size)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s is not terminated (expected at most %zu bytes)", what, size - 1);
    return FALSE;
  }
  if (!g_utf8_validate(buf, -1, NULL)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s is not valid UTF-8 (expected UTF-8 text)", what);
    return FALSE;
  }
  return TRUE;
}

/* Free text: NULL allowed unless required; valid UTF-8 of at most max bytes; when required, not
 * empty or only blanks. single_line refuses control characters (names). */
static gboolean
check_text(const char *what, const char *s, gsize max, gboolean required, gboolean single_line,
           GError **error)
{
  if (!s) {
    if (!required)
      return TRUE;
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s is missing (expected 1 to %zu bytes of text)", what, max);
    return FALSE;
  }
  gsize len = strlen(s);
  if (!g_utf8_validate(s, (gssize)len, NULL)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s is not valid UTF-8 (expected UTF-8 text)", what);
    return FALSE;
  }
  if (len > max) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s is %zu bytes long (expected at most %zu bytes of UTF-8)", what, len, max);
    return FALSE;
  }
  gboolean blank = TRUE;
  for (const char *p = s; *p && blank; p = g_utf8_next_char(p))
    if (!g_unichar_isspace(g_utf8_get_char(p)))
      blank = FALSE;
  if (required && blank) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s is empty or only blanks (expected 1 to %zu bytes of text)", what, max);
    return FALSE;
  }
  for (const char *p = s; single_line && *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (g_unichar_iscntrl(c)) {
      g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                  "%s \"%s\" holds a control character (U+%04X) at byte %td (expected one line of "
                  "printable text)",
                  what, s, c, p - s);
      return FALSE;
    }
  }
  return TRUE;
}

/* "" or a real "YYYY-MM-DD" date from 1900 on and not after today (local date). */
static gboolean
check_date(const char *what, const char *buf, gsize size, GDate *out, GError **error)
{
  g_date_clear(out, 1);
  if (!check_fixed(what, buf, size, error))
    return FALSE;
  if (!buf[0])
    return TRUE;
  gboolean shape = strlen(buf) == 10 && buf[4] == '-' && buf[7] == '-';
  for (int i = 0; shape && i < 10; i++)
    if (i != 4 && i != 7 && !g_ascii_isdigit(buf[i]))
      shape = FALSE;
  int y = 0, m = 0, d = 0;
  if (shape) {
    y = atoi(buf);
    m = atoi(buf + 5);
    d = atoi(buf + 8);
  }
  if (!shape || !g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s \"%s\" is not a date (expected a real date written YYYY-MM-DD, e.g. "
                "1994-03-17)",
                what, buf);
    return FALSE;
  }
  if (y < 1900) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s %s is before 1900 (expected a date from 1900-01-01 to today)", what, buf);
    return FALSE;
  }
  g_date_set_dmy(out, (GDateDay)d, (GDateMonth)m, (GDateYear)y);
  GDateTime *now = g_date_time_new_now_local();
  GDate today;
  g_date_clear(&today, 1);
  g_date_set_dmy(&today, (GDateDay)g_date_time_get_day_of_month(now),
                 (GDateMonth)g_date_time_get_month(now), (GDateYear)g_date_time_get_year(now));
  g_date_time_unref(now);
  if (g_date_compare(out, &today) > 0) {
    char t[16];
    g_date_strftime(t, sizeof t, "%Y-%m-%d", &today);
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s %s is in the future (expected a date up to today, %s)", what, buf, t);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_id(const char *what, gint64 id, GError **error)
{
  if (id <= 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s id %" G_GINT64_FORMAT " is not valid (expected a stored id, 1 or more)", what,
                id);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_side(const char *what, StanceSide side, GError **error)
{
  if (side != STANCE_SIDE_BOTH && side != STANCE_SIDE_LEFT && side != STANCE_SIDE_RIGHT) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "%s %d is not a side (expected left, right or both)", what, (int)side);
    return FALSE;
  }
  return TRUE;
}

/* uuids are stored in lower case, so that lookups match whatever case they were given in. */
static void
lower_uuid(char *u)
{
  for (; *u; u++)
    *u = g_ascii_tolower(*u);
}

static void
new_uuid(char out[37])
{
  gchar *u = g_uuid_string_random();
  g_strlcpy(out, u, 37);
  g_free(u);
}

/* ======================================================================================
 * Opening
 * ====================================================================================== */

gchar *
stance_store_default_path(void)
{
  const char *env = g_getenv("STANCE_DB");
  if (env && *env)
    return g_strdup(env);
  return g_build_filename(g_get_user_data_dir(), "stance", "stance.db", NULL);
}

static int recover(StanceStore *s, GError **error);

StanceStore *
stance_store_open(const char *path, StanceStoreFlags flags, GError **error)
{
  g_return_val_if_fail(error == NULL || *error == NULL, NULL);
  if (path && !*path) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                "the database path is empty (expected a file path)");
    return NULL;
  }
  if ((flags & STANCE_STORE_READ_ONLY) && (flags & STANCE_STORE_MUST_CREATE)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "a store cannot be both read-only and new (expected one of READ_ONLY and "
                "MUST_CREATE)");
    return NULL;
  }
  StanceStore *s = g_new0(StanceStore, 1);
  s->path = path ? g_strdup(path) : stance_store_default_path();
  s->flags = flags;
  s->be = _stance_store_sqlite_backend();
  s->recovered = g_array_new(FALSE, FALSE, sizeof(gint64));
  s->db = s->be->open(s->path, flags, &s->schema_version, error);
  if (!s->db) {
    stance_store_close(s);
    return NULL;
  }
  if (!(flags & (STANCE_STORE_READ_ONLY | STANCE_STORE_NO_RECOVER)) && recover(s, error) < 0) {
    g_prefix_error(error, "%s: recovering interrupted trials: ", s->path);
    stance_store_close(s);
    return NULL;
  }
  return s;
}

void
stance_store_close(StanceStore *s)
{
  if (!s)
    return;
  if (s->db)
    s->be->close(s->db);
  g_array_unref(s->recovered);
  g_free(s->path);
  g_free(s);
}

const char *
stance_store_path(StanceStore *s)
{
  g_return_val_if_fail(s, NULL);
  return s->path;
}

int
stance_store_schema_version(StanceStore *s)
{
  g_return_val_if_fail(s, 0);
  return s->schema_version;
}

const GArray *
stance_store_recovered(StanceStore *s)
{
  g_return_val_if_fail(s, NULL);
  return s->recovered;
}

gboolean
stance_store_set_size_limit(StanceStore *s, guint64 max_bytes, GError **error)
{
  g_return_val_if_fail(s, FALSE);
  return s->be->set_size_limit(s->db, max_bytes, error);
}

/* ======================================================================================
 * Samples in chunks (docs/store.md, "Raw samples")
 * ====================================================================================== */

static gsize
layout_channels(StanceLayout layout)
{
  switch (layout) {
  case STANCE_LAYOUT_CELLS: return STANCE_N_CELLS;
  case STANCE_LAYOUT_PLATES: return 2;
  case STANCE_LAYOUT_COMBINED: return 1;
  }
  return 0;
}

static gsize
sample_bytes(StanceLayout layout, gboolean has_cop)
{
  gsize nch = layout_channels(layout);
  if (layout == STANCE_LAYOUT_CELLS)
    return nch * 4 + 2;
  return nch * 8 + (has_cop ? nch * 16 : 0) + 2;
}

static gboolean
rec_has_cop(const StanceRecording *rec)
{
  return rec->layout != STANCE_LAYOUT_CELLS && rec->cop_mm != NULL;
}

/* Packs samples [from, from + n) of rec onto buf. Refuses non-finite forces (a made-up value
 * never reaches the store). */
static gboolean
pack_samples(const StanceRecording *rec, gsize from, gsize n, GByteArray *buf, guint64 *gaps,
             GError **error)
{
  gboolean cop = rec_has_cop(rec);
  gsize nch = rec->n_channels, sb = sample_bytes(rec->layout, cop);
  gsize old = buf->len;
  g_byte_array_set_size(buf, old + n * sb);
  guint8 *p = buf->data + old;
  for (gsize i = from; i < from + n; i++) {
    if (rec->layout == STANCE_LAYOUT_CELLS) {
      for (gsize c = 0; c < nch; c++)
        stance_put_le32(p + 4 * c, (guint32)rec->counts[i * nch + c]);
      p += 4 * nch;
    } else {
      for (gsize c = 0; c < nch; c++) {
        double v = rec->force_n[i * nch + c];
        if (!isfinite(v)) {
          g_byte_array_set_size(buf, old);
          g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                      "sample %zu, channel %zu: the force is not a finite number (expected "
                      "newtons)",
                      i, c);
          return FALSE;
        }
        stance_put_le_f64(p + 8 * c, v);
      }
      p += 8 * nch;
      if (cop) {
        for (gsize k = 0; k < 2 * nch; k++) {
          double v = rec->cop_mm[i * nch * 2 + k];
          if (!isfinite(v)) {
            g_byte_array_set_size(buf, old);
            g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                        "sample %zu, channel %zu: the centre of pressure %s is not a finite "
                        "number (expected mm)",
                        i, k / 2, k % 2 ? "y" : "x");
            return FALSE;
          }
          stance_put_le_f64(p + 8 * k, v);
        }
        p += 16 * nch;
      }
    }
    stance_put_le16(p, rec->status[i]);
    if (rec->status[i] & STANCE_STATUS_GAP)
      (*gaps)++;
    p += 2;
  }
  return TRUE;
}

/* Unpacks n samples from data onto the end of rec (room reserved by the caller). */
static void
unpack_samples(StanceRecording *rec, const guint8 *p, gsize n)
{
  gboolean cop = rec_has_cop(rec);
  gsize nch = rec->n_channels;
  for (gsize k = 0; k < n; k++) {
    gsize i = rec->n_samples + k;
    if (rec->layout == STANCE_LAYOUT_CELLS) {
      for (gsize c = 0; c < nch; c++)
        rec->counts[i * nch + c] = (int32_t)stance_get_le32(p + 4 * c);
      p += 4 * nch;
    } else {
      for (gsize c = 0; c < nch; c++)
        rec->force_n[i * nch + c] = stance_get_le_f64(p + 8 * c);
      p += 8 * nch;
      if (cop) {
        for (gsize c = 0; c < 2 * nch; c++)
          rec->cop_mm[i * nch * 2 + c] = stance_get_le_f64(p + 8 * c);
        p += 16 * nch;
      }
    }
    rec->status[i] = stance_get_le16(p);
    p += 2;
  }
  rec->n_samples += n;
}

/* The checks every chunk passes before it is used: its length, its CRC, its place. */
static gboolean
check_chunk(const StanceStoreChunk *c, gsize sb, guint64 expected_first, GError **error)
{
  if (c->n_samples == 0 || c->len != c->n_samples * sb) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "trial %" G_GINT64_FORMAT ", chunk %" G_GINT64_FORMAT
                ": it holds %zu bytes for %" G_GUINT64_FORMAT
                " samples (expected %" G_GUINT64_FORMAT " bytes, %zu per sample)",
                c->trial_id, c->seq, c->len, c->n_samples, c->n_samples * sb, sb);
    return FALSE;
  }
  guint32 crc = stance_crc32(0, c->data, c->len);
  if (crc != c->crc32) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "trial %" G_GINT64_FORMAT ", chunk %" G_GINT64_FORMAT
                ": CRC-32 mismatch (stored 0x%08X, computed 0x%08X): the samples are damaged",
                c->trial_id, c->seq, c->crc32, crc);
    return FALSE;
  }
  if (c->first_sample != expected_first) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "trial %" G_GINT64_FORMAT ", chunk %" G_GINT64_FORMAT
                ": it starts at sample %" G_GUINT64_FORMAT " (expected %" G_GUINT64_FORMAT
                ": a chunk is missing or repeated)",
                c->trial_id, c->seq, c->first_sample, expected_first);
    return FALSE;
  }
  return TRUE;
}

/* The zero-sample .stance image of rec (its header: layout, rate, metadata, calibration). */
static gboolean
encode_header(const StanceRecording *rec, uint8_t **out, size_t *len, GError **error)
{
  StanceRecording h = *rec;
  h.n_samples = 0;
  StanceError err = {0};
  if (stance_file_encode(&h, out, len, &err) < 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "the recording cannot be stored: %s", err.message);
    return FALSE;
  }
  return TRUE;
}

gboolean
_stance_store_calib_encode(const StanceCalibration *cal, guint8 **out, gsize *len, GError **error)
{
  StanceRecording *r = stance_recording_new(STANCE_LAYOUT_CELLS, 1000.0, false);
  if (!r) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO, "out of memory");
    return FALSE;
  }
  r->calib = *cal;
  r->has_calibration = true;
  uint8_t *buf = NULL;
  size_t n = 0;
  StanceError err = {0};
  int rc = stance_file_encode(r, &buf, &n, &err);
  stance_recording_free(r);
  if (rc < 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "the calibration cannot be stored: %s", err.message);
    return FALSE;
  }
  *out = g_memdup2(buf, n);
  *len = n;
  free(buf);
  return TRUE;
}

gboolean
_stance_store_calib_decode(const guint8 *blob, gsize len, StanceCalibration *out, GError **error)
{
  StanceRecording *r = NULL;
  StanceError err = {0};
  if (!blob || stance_file_decode(blob, len, &r, &err) < 0 || !r->has_calibration) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "the stored calibration is damaged: %s",
                err.message[0] ? err.message : "it holds no calibration");
    stance_recording_free(r);
    return FALSE;
  }
  *out = r->calib;
  stance_recording_free(r);
  return TRUE;
}

/* ======================================================================================
 * Writers' identity and recovery
 * ====================================================================================== */

void
_stance_store_writer_id_clear(StanceStoreWriterId *w)
{
  g_clear_pointer(&w->host, g_free);
  g_clear_pointer(&w->boot_id, g_free);
  w->pid = 0;
  w->start_ticks = 0;
}

static gchar *
read_boot_id(void)
{
  gchar *text = NULL;
  if (!g_file_get_contents("/proc/sys/kernel/random/boot_id", &text, NULL, NULL))
    return NULL;
  return g_strstrip(text);
}

/* Field 3 (state) and field 22 (start time, clock ticks after boot) of /proc/<pid>/stat. FALSE
 * when the process does not exist. */
static gboolean
read_proc_stat(gint64 pid, char *state, guint64 *start_ticks)
{
  char path[64];
  g_snprintf(path, sizeof path, "/proc/%" G_GINT64_FORMAT "/stat", pid);
  gchar *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return FALSE;
  /* The command name (field 2) is in parentheses and may hold spaces or ')': skip to the last. */
  const char *p = strrchr(text, ')');
  gboolean ok = FALSE;
  if (p) {
    p++;
    gchar **f = g_strsplit_set(p, " ", -1);
    /* f[0] is empty (the space after ')'), f[1] is field 3, f[20] is field 22. */
    if (g_strv_length(f) > 20) {
      *state = f[1][0];
      *start_ticks = g_ascii_strtoull(f[20], NULL, 10);
      ok = TRUE;
    }
    g_strfreev(f);
  }
  g_free(text);
  return ok;
}

static void
writer_id_self(StanceStoreWriterId *w)
{
  w->host = g_strdup(g_get_host_name());
  w->pid = (gint64)getpid();
  char state = 0;
  guint64 ticks = 0;
  w->start_ticks = read_proc_stat(w->pid, &state, &ticks) ? ticks : 0;
  w->boot_id = read_boot_id();
}

/* Whether the writer of a RECORDING trial is gone, and why (for the note). A writer on another
 * host cannot be judged from here: it is left alone. */
static gboolean
writer_gone(const StanceStoreWriterId *w, const char *host, const char *boot_id, GString *why)
{
  if (!w->host || g_strcmp0(w->host, host) != 0)
    return FALSE;
  if (!w->boot_id || !boot_id || strcmp(w->boot_id, boot_id) != 0) {
    g_string_printf(why, "writer pid %" G_GINT64_FORMAT " gone: the machine restarted since",
                    w->pid);
    return TRUE;
  }
  char state = 0;
  guint64 ticks = 0;
  if (w->pid <= 0 || !read_proc_stat(w->pid, &state, &ticks)) {
    g_string_printf(why, "writer pid %" G_GINT64_FORMAT " gone", w->pid);
    return TRUE;
  }
  if (state == 'Z' || state == 'X') {
    g_string_printf(why, "writer pid %" G_GINT64_FORMAT " gone", w->pid);
    return TRUE;
  }
  /* A start time of 0: the writer could not read its own; the pid alone must do. */
  if (w->start_ticks != 0 && ticks != w->start_ticks) {
    g_string_printf(why, "writer pid %" G_GINT64_FORMAT " gone; the pid is now another process's",
                    w->pid);
    return TRUE;
  }
  return FALSE;
}

typedef struct {
  gsize sb;
  guint64 n, gaps;
} CountCtx;

static gboolean
count_chunk(const StanceStoreChunk *c, gpointer user, GError **error)
{
  CountCtx *ctx = user;
  if (!check_chunk(c, ctx->sb, ctx->n, error))
    return FALSE;
  for (guint64 i = 0; i < c->n_samples; i++)
    if (stance_get_le16(c->data + (i + 1) * ctx->sb - 2) & STANCE_STATUS_GAP)
      ctx->gaps++;
  ctx->n += c->n_samples;
  return TRUE;
}

/* Recovers one trial inside a write transaction; FALSE on error; *done FALSE when another
 * process recovered (or finished) it first. */
static gboolean
recover_one(StanceStore *s, const StanceStoreOpenTrial *t, const char *why, gboolean *done,
            GError **error)
{
  *done = FALSE;
  if (!s->be->begin(s->db, TRUE, error))
    return FALSE;
  StanceStoreTrialFormat fmt = {0};
  gboolean ok = s->be->trial_header(s->db, t->trial_id, NULL, &fmt, error);
  if (ok && fmt.state != STANCE_TRIAL_RECORDING) {
    s->be->rollback(s->db);
    return TRUE;
  }
  CountCtx ctx = {.sb = sample_bytes(fmt.layout, fmt.has_cop)};
  ok = ok && s->be->chunks_foreach(s->db, t->trial_id, count_chunk, &ctx, error);
  if (ok) {
    char secs[32], when[32];
    fmt_seconds(secs, sizeof secs, ctx.n, t->sample_rate_hz);
    GDateTime *now = g_date_time_new_now_local();
    gchar *w = g_date_time_format(now, "%Y-%m-%d %H:%M");
    g_strlcpy(when, w, sizeof when);
    g_free(w);
    g_date_time_unref(now);
    gchar *note = g_strdup_printf(
        "interrupted while recording (%s); recovered %s s (%" G_GUINT64_FORMAT " samples) on %s",
        why, secs, ctx.n, when);
    ok = s->be->trial_set_counts(s->db, t->trial_id, ctx.n, ctx.gaps, error) &&
         s->be->trial_set_state(s->db, t->trial_id, STANCE_TRIAL_INTERRUPTED, note, error);
    g_free(note);
  }
  if (!txn_end(s, ok, error)) {
    g_prefix_error(error, "trial %" G_GINT64_FORMAT ": ", t->trial_id);
    return FALSE;
  }
  *done = TRUE;
  return TRUE;
}

static int
recover(StanceStore *s, GError **error)
{
  g_array_set_size(s->recovered, 0);
  GPtrArray *open = s->be->trials_recording(s->db, error);
  if (!open)
    return -1;
  int n = 0;
  if (open->len > 0) {
    const char *host = g_get_host_name();
    gchar *boot = read_boot_id();
    GString *why = g_string_new(NULL);
    for (guint i = 0; i < open->len; i++) {
      const StanceStoreOpenTrial *t = open->pdata[i];
      if (!writer_gone(&t->writer, host, boot, why))
        continue;
      gboolean done = FALSE;
      if (!recover_one(s, t, why->str, &done, error)) {
        n = -1;
        break;
      }
      if (done) {
        g_array_append_val(s->recovered, t->trial_id);
        n++;
      }
    }
    g_string_free(why, TRUE);
    g_free(boot);
  }
  g_ptr_array_unref(open);
  return n;
}

int
stance_store_recover(StanceStore *s, GError **error)
{
  g_return_val_if_fail(s, -1);
  if (!writable(s, error))
    return -1;
  return recover(s, error);
}

/* ---- check ---- */

typedef struct {
  StanceStore *s;
  gint64 trial; /* current trial, 0 before the first */
  gsize sb;
  guint64 n, declared;
  guint64 n_chunks;
  GHashTable *seen; /* gint64 ids of the trials that have chunks */
} CheckCtx;

static gboolean
check_trial_end(CheckCtx *ctx, GError **error)
{
  if (ctx->trial && ctx->n != ctx->declared) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "trial %" G_GINT64_FORMAT ": its chunks hold %" G_GUINT64_FORMAT
                " samples (expected the %" G_GUINT64_FORMAT " its row declares)",
                ctx->trial, ctx->n, ctx->declared);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_one_chunk(const StanceStoreChunk *c, gpointer user, GError **error)
{
  CheckCtx *ctx = user;
  if (c->trial_id != ctx->trial) {
    if (!check_trial_end(ctx, error))
      return FALSE;
    StanceStoreTrialFormat fmt = {0};
    if (!ctx->s->be->trial_header(ctx->s->db, c->trial_id, NULL, &fmt, error)) {
      g_prefix_error(error, "chunk %" G_GINT64_FORMAT " of trial %" G_GINT64_FORMAT ": ", c->seq,
                     c->trial_id);
      return FALSE;
    }
    ctx->trial = c->trial_id;
    g_hash_table_add(ctx->seen, g_memdup2(&c->trial_id, sizeof c->trial_id));
    ctx->sb = sample_bytes(fmt.layout, fmt.has_cop);
    ctx->n = 0;
    ctx->declared = fmt.n_samples;
  }
  if (!check_chunk(c, ctx->sb, ctx->n, error))
    return FALSE;
  ctx->n += c->n_samples;
  ctx->n_chunks++;
  return TRUE;
}

gboolean
stance_store_check(StanceStore *s, GError **error)
{
  g_return_val_if_fail(s, FALSE);
  if (!s->be->integrity_check(s->db, error))
    return FALSE;
  if (!s->be->begin(s->db, FALSE, error))
    return FALSE;
  CheckCtx ctx = {.s = s, .seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL)};
  gboolean ok =
      s->be->chunks_foreach(s->db, 0, check_one_chunk, &ctx, error) && check_trial_end(&ctx, error);
  /* A trial declaring samples must have chunks holding them. */
  GPtrArray *sessions = ok ? s->be->session_list(s->db, 0, error) : NULL;
  ok = ok && sessions;
  for (guint i = 0; ok && i < sessions->len; i++) {
    const StanceSession *ses = sessions->pdata[i];
    GPtrArray *trials = s->be->trial_list(s->db, ses->id, error);
    ok = trials != NULL;
    for (guint k = 0; ok && k < trials->len; k++) {
      const StanceStoreTrial *t = trials->pdata[k];
      if (t->n_samples > 0 && !g_hash_table_contains(ctx.seen, &t->id)) {
        g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                    "trial %" G_GINT64_FORMAT ": its row declares %" G_GUINT64_FORMAT
                    " samples but no chunk holds any (expected chunks from sample 0)",
                    t->id, t->n_samples);
        ok = FALSE;
      }
    }
    if (trials)
      g_ptr_array_unref(trials);
  }
  if (sessions)
    g_ptr_array_unref(sessions);
  g_hash_table_unref(ctx.seen);
  s->be->rollback(s->db);
  if (!ok)
    g_prefix_error(error, "%s: ", s->path);
  return ok;
}

/* ======================================================================================
 * Athletes
 * ====================================================================================== */

static const char *const sex_names[] = {"unknown", "female", "male", "other"};

const char *
stance_sex_name(StanceSex sex)
{
  if ((int)sex < 0 || (int)sex >= (int)G_N_ELEMENTS(sex_names))
    return "unknown";
  return sex_names[sex];
}

gboolean
stance_sex_from_name(const char *name, StanceSex *out)
{
  if (!name)
    return FALSE;
  for (int i = 0; i < (int)G_N_ELEMENTS(sex_names); i++)
    if (g_ascii_strcasecmp(name, sex_names[i]) == 0) {
      *out = (StanceSex)i;
      return TRUE;
    }
  if (g_ascii_strcasecmp(name, "f") == 0) {
    *out = STANCE_SEX_FEMALE;
    return TRUE;
  }
  if (g_ascii_strcasecmp(name, "m") == 0) {
    *out = STANCE_SEX_MALE;
    return TRUE;
  }
  return FALSE;
}

void
stance_athlete_init(StanceAthlete *a)
{
  memset(a, 0, sizeof *a);
  a->dominant = STANCE_SIDE_BOTH;
  a->involved = STANCE_SIDE_BOTH;
}

void
stance_athlete_clear(StanceAthlete *a)
{
  if (!a)
    return;
  g_free(a->name);
  g_free(a->injury_notes);
  stance_athlete_init(a);
}

void
stance_athlete_free(StanceAthlete *a)
{
  if (!a)
    return;
  stance_athlete_clear(a);
  g_free(a);
}

gboolean
stance_athlete_validate(const StanceAthlete *a, GError **error)
{
  if (!a) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID, "no athlete given");
    return FALSE;
  }
  if (!check_text("athlete name", a->name, NAME_MAX_BYTES, TRUE, TRUE, error))
    return FALSE;
  if (!check_fixed("athlete uuid", a->uuid, sizeof a->uuid, error))
    return FALSE;
  if (a->uuid[0] && !g_uuid_string_is_valid(a->uuid)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "athlete uuid \"%s\" is not a uuid (expected 8-4-4-4-12 hex digits, or empty for "
                "a new one)",
                a->uuid);
    return FALSE;
  }
  GDate birth, injury;
  if (!check_date("birth date", a->birth_date, sizeof a->birth_date, &birth, error) ||
      !check_date("injury date", a->injury_date, sizeof a->injury_date, &injury, error))
    return FALSE;
  if (g_date_valid(&birth) && g_date_valid(&injury) && g_date_compare(&injury, &birth) < 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "injury date %s is before the birth date %s (expected an injury after birth)",
                a->injury_date, a->birth_date);
    return FALSE;
  }
  if ((int)a->sex < 0 || (int)a->sex >= (int)G_N_ELEMENTS(sex_names)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "sex %d is not known (expected unknown, female, male or other)", (int)a->sex);
    return FALSE;
  }
  if (!check_side("dominant limb", a->dominant, error) ||
      !check_side("involved limb", a->involved, error))
    return FALSE;
  if (!check_text("injury notes", a->injury_notes, NOTES_MAX_BYTES, FALSE, FALSE, error))
    return FALSE;
  if (a->created_unix_ms < 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "creation time %" G_GINT64_FORMAT " is negative (expected unix ms, 0 for now)",
                a->created_unix_ms);
    return FALSE;
  }
  return TRUE;
}

gint64
stance_store_athlete_add(StanceStore *s, const StanceAthlete *a, GError **error)
{
  g_return_val_if_fail(s, 0);
  if (!writable(s, error) || !stance_athlete_validate(a, error))
    return 0;
  StanceAthlete copy = *a;
  if (!copy.uuid[0])
    new_uuid(copy.uuid);
  lower_uuid(copy.uuid);
  if (copy.created_unix_ms == 0)
    copy.created_unix_ms = now_ms();
  StanceAthlete other;
  stance_athlete_init(&other);
  gboolean found = FALSE;
  if (!s->be->athlete_by_uuid(s->db, copy.uuid, &other, &found, error))
    return 0;
  if (found) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS,
                "an athlete with uuid %s is already stored (id %" G_GINT64_FORMAT
                ", \"%s\"; expected a new uuid)",
                copy.uuid, other.id, other.name);
    stance_athlete_clear(&other);
    return 0;
  }
  return s->be->athlete_insert(s->db, &copy, error);
}

gboolean
stance_store_athlete_update(StanceStore *s, const StanceAthlete *a, GError **error)
{
  g_return_val_if_fail(s, FALSE);
  if (!writable(s, error) || !stance_athlete_validate(a, error) ||
      !check_id("athlete", a->id, error))
    return FALSE;
  StanceAthlete old;
  stance_athlete_init(&old);
  if (!s->be->athlete_get(s->db, a->id, &old, error))
    return FALSE;
  StanceAthlete copy = *a;
  if (!copy.uuid[0])
    memcpy(copy.uuid, old.uuid, sizeof copy.uuid);
  lower_uuid(copy.uuid);
  if (copy.created_unix_ms == 0)
    copy.created_unix_ms = old.created_unix_ms;
  stance_athlete_clear(&old);
  return s->be->athlete_update(s->db, &copy, error);
}

gboolean
stance_store_athlete_get(StanceStore *s, gint64 id, StanceAthlete *out, GError **error)
{
  g_return_val_if_fail(s && out, FALSE);
  if (!check_id("athlete", id, error))
    return FALSE;
  return s->be->athlete_get(s->db, id, out, error);
}

static gchar *
fold_name(const char *name)
{
  gchar *norm = g_utf8_normalize(name, -1, G_NORMALIZE_ALL);
  gchar *fold = g_utf8_casefold(norm ? norm : name, -1);
  g_free(norm);
  gchar *stripped = g_strdup(g_strstrip(fold));
  g_free(fold);
  return stripped;
}

gboolean
stance_store_athlete_find(StanceStore *s, const char *key, StanceAthlete *out, GError **error)
{
  g_return_val_if_fail(s && out, FALSE);
  if (!check_text("athlete key", key, 1024, TRUE, TRUE, error))
    return FALSE;
  /* A decimal id first; a name made of digits is still found below when no id matches. */
  gchar *end = NULL;
  guint64 num = g_ascii_strtoull(key, &end, 10);
  if (g_ascii_isdigit(key[0]) && end && !*end && num > 0 && num <= G_MAXINT64) {
    GError *e = NULL;
    if (s->be->athlete_get(s->db, (gint64)num, out, &e))
      return TRUE;
    if (!g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
      g_propagate_error(error, e);
      return FALSE;
    }
    g_error_free(e);
  }
  if (g_uuid_string_is_valid(key)) {
    gboolean found = FALSE;
    gchar *lower = g_ascii_strdown(key, -1);
    gboolean ok = s->be->athlete_by_uuid(s->db, lower, out, &found, error);
    g_free(lower);
    if (!ok)
      return FALSE;
    if (found)
      return TRUE;
  }
  GPtrArray *all = s->be->athlete_list(s->db, error);
  if (!all)
    return FALSE;
  gchar *want = fold_name(key);
  GPtrArray *hits = g_ptr_array_new();
  for (guint i = 0; i < all->len; i++) {
    StanceAthlete *a = all->pdata[i];
    gchar *f = fold_name(a->name);
    if (strcmp(f, want) == 0)
      g_ptr_array_add(hits, a);
    g_free(f);
  }
  g_free(want);
  gboolean ok = FALSE;
  if (hits->len == 1) {
    StanceAthlete *a = hits->pdata[0];
    stance_athlete_clear(out);
    *out = *a;
    a->name = NULL;
    a->injury_notes = NULL;
    ok = TRUE;
  } else if (hits->len == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no athlete \"%s\" (expected an athlete id, uuid or name; `stance-cli athlete "
                "list` shows them)",
                key);
  } else {
    GString *ids = g_string_new(NULL);
    for (guint i = 0; i < hits->len; i++) {
      StanceAthlete *a = hits->pdata[i];
      g_string_append_printf(ids, "%s%" G_GINT64_FORMAT, i ? ", " : "", a->id);
      if (a->birth_date[0])
        g_string_append_printf(ids, " (born %s)", a->birth_date);
    }
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_AMBIGUOUS,
                "\"%s\" names %u athletes: ids %s (expected one: give the id instead)", key,
                hits->len, ids->str);
    g_string_free(ids, TRUE);
  }
  g_ptr_array_unref(hits);
  g_ptr_array_unref(all);
  return ok;
}

GPtrArray *
stance_store_athlete_list(StanceStore *s, GError **error)
{
  g_return_val_if_fail(s, NULL);
  return s->be->athlete_list(s->db, error);
}

gboolean
stance_store_athlete_add_mass(StanceStore *s, gint64 athlete_id, const StanceMassEntry *m,
                              GError **error)
{
  g_return_val_if_fail(s, FALSE);
  if (!writable(s, error) || !check_id("athlete", athlete_id, error))
    return FALSE;
  if (!m) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID, "no body mass given");
    return FALSE;
  }
  if (!isfinite(m->mass_kg) || m->mass_kg < 20.0 || m->mass_kg > 300.0) {
    char v[32];
    g_ascii_formatd(v, sizeof v, "%.6g", m->mass_kg);
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "body mass %s kg is out of range (expected 20 to 300 kg)", v);
    return FALSE;
  }
  if (!check_fixed("body-mass source", m->source, sizeof m->source, error))
    return FALSE;
  StanceMassEntry copy = *m;
  if (!copy.source[0])
    g_strlcpy(copy.source, "entered", sizeof copy.source);
  if (strcmp(copy.source, "entered") != 0 && strcmp(copy.source, "plates") != 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "body-mass source \"%s\" is not known (expected \"entered\" or \"plates\")",
                copy.source);
    return FALSE;
  }
  if (copy.measured_unix_ms < 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "measurement time %" G_GINT64_FORMAT " is negative (expected unix ms, 0 for now)",
                copy.measured_unix_ms);
    return FALSE;
  }
  if (copy.measured_unix_ms == 0)
    copy.measured_unix_ms = now_ms();
  StanceAthlete a;
  stance_athlete_init(&a);
  if (!s->be->athlete_get(s->db, athlete_id, &a, error))
    return FALSE;
  stance_athlete_clear(&a);
  return s->be->mass_insert(s->db, athlete_id, &copy, error);
}

GArray *
stance_store_athlete_masses(StanceStore *s, gint64 athlete_id, GError **error)
{
  g_return_val_if_fail(s, NULL);
  if (!check_id("athlete", athlete_id, error))
    return NULL;
  StanceAthlete a;
  stance_athlete_init(&a);
  if (!s->be->athlete_get(s->db, athlete_id, &a, error))
    return NULL;
  stance_athlete_clear(&a);
  return s->be->masses(s->db, athlete_id, error);
}

/* ======================================================================================
 * Sessions
 * ====================================================================================== */

void
stance_session_init(StanceSession *s)
{
  memset(s, 0, sizeof *s);
}

void
stance_session_clear(StanceSession *s)
{
  if (!s)
    return;
  g_free(s->place);
  g_free(s->notes);
  stance_session_init(s);
}

void
stance_session_free(StanceSession *s)
{
  if (!s)
    return;
  stance_session_clear(s);
  g_free(s);
}

static gboolean
check_session(StanceStore *st, const StanceSession *s, GError **error)
{
  if (!s) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID, "no session given");
    return FALSE;
  }
  if (!check_id("athlete", s->athlete_id, error) ||
      !check_fixed("session uuid", s->uuid, sizeof s->uuid, error) ||
      !check_text("session place", s->place, NAME_MAX_BYTES * 2, FALSE, TRUE, error) ||
      !check_text("session notes", s->notes, NOTES_MAX_BYTES, FALSE, FALSE, error))
    return FALSE;
  if (s->uuid[0] && !g_uuid_string_is_valid(s->uuid)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "session uuid \"%s\" is not a uuid (expected 8-4-4-4-12 hex digits, or empty for "
                "a new one)",
                s->uuid);
    return FALSE;
  }
  if (s->started_unix_ms < 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "session start %" G_GINT64_FORMAT " is negative (expected unix ms, 0 for now)",
                s->started_unix_ms);
    return FALSE;
  }
  StanceAthlete a;
  stance_athlete_init(&a);
  if (!st->be->athlete_get(st->db, s->athlete_id, &a, error))
    return FALSE;
  stance_athlete_clear(&a);
  return TRUE;
}

gint64
stance_store_session_add(StanceStore *st, const StanceSession *s, GError **error)
{
  g_return_val_if_fail(st, 0);
  if (!writable(st, error) || !check_session(st, s, error))
    return 0;
  StanceSession copy = *s;
  if (!copy.uuid[0])
    new_uuid(copy.uuid);
  lower_uuid(copy.uuid);
  if (copy.started_unix_ms == 0)
    copy.started_unix_ms = now_ms();
  gint64 other = st->be->session_by_uuid(st->db, copy.uuid, error);
  if (other < 0)
    return 0;
  if (other > 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS,
                "a session with uuid %s is already stored (id %" G_GINT64_FORMAT
                "; a session imported twice?)",
                copy.uuid, other);
    return 0;
  }
  return st->be->session_insert(st->db, &copy, error);
}

gboolean
stance_store_session_update(StanceStore *st, const StanceSession *s, GError **error)
{
  g_return_val_if_fail(st, FALSE);
  if (!writable(st, error) || !check_session(st, s, error) || !check_id("session", s->id, error))
    return FALSE;
  StanceSession old;
  stance_session_init(&old);
  if (!st->be->session_get(st->db, s->id, &old, error))
    return FALSE;
  StanceSession copy = *s;
  if (!copy.uuid[0])
    memcpy(copy.uuid, old.uuid, sizeof copy.uuid);
  lower_uuid(copy.uuid);
  if (copy.started_unix_ms == 0)
    copy.started_unix_ms = old.started_unix_ms;
  stance_session_clear(&old);
  return st->be->session_update(st->db, &copy, error);
}

gboolean
stance_store_session_get(StanceStore *st, gint64 id, StanceSession *out, GError **error)
{
  g_return_val_if_fail(st && out, FALSE);
  if (!check_id("session", id, error))
    return FALSE;
  return st->be->session_get(st->db, id, out, error);
}

GPtrArray *
stance_store_session_list(StanceStore *st, gint64 athlete_id, GError **error)
{
  g_return_val_if_fail(st, NULL);
  if (athlete_id < 0) {
    check_id("athlete", athlete_id, error);
    return NULL;
  }
  return st->be->session_list(st->db, athlete_id, error);
}

gint64
stance_store_session_today(StanceStore *st, gint64 athlete_id, gint64 now_unix_ms, GError **error)
{
  g_return_val_if_fail(st, 0);
  if (!check_id("athlete", athlete_id, error))
    return 0;
  GDateTime *now = g_date_time_new_from_unix_local(now_unix_ms / 1000);
  if (!now) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "time %" G_GINT64_FORMAT " ms is out of range (expected unix ms)", now_unix_ms);
    return 0;
  }
  GDateTime *day = g_date_time_new_local(g_date_time_get_year(now), g_date_time_get_month(now),
                                         g_date_time_get_day_of_month(now), 0, 0, 0);
  GDateTime *next = g_date_time_add_days(day, 1);
  gint64 from = g_date_time_to_unix(day) * 1000, to = g_date_time_to_unix(next) * 1000;
  g_date_time_unref(now);
  g_date_time_unref(day);
  g_date_time_unref(next);
  gint64 id = st->be->session_latest_in(st->db, athlete_id, from, to, error);
  return id < 0 ? 0 : id;
}

gint64
stance_store_session_by_uuid(StanceStore *st, const char *uuid, GError **error)
{
  g_return_val_if_fail(st, 0);
  if (!uuid || !g_uuid_string_is_valid(uuid)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "\"%s\" is not a uuid (expected 8-4-4-4-12 hex digits)", uuid ? uuid : "(null)");
    return 0;
  }
  gchar *lower = g_ascii_strdown(uuid, -1);
  gint64 id = st->be->session_by_uuid(st->db, lower, error);
  g_free(lower);
  return id < 0 ? 0 : id;
}

/* ======================================================================================
 * Trials
 * ====================================================================================== */

const char *
stance_trial_state_name(StanceTrialState s)
{
  switch (s) {
  case STANCE_TRIAL_RECORDING: return "recording";
  case STANCE_TRIAL_COMPLETE: return "complete";
  case STANCE_TRIAL_INTERRUPTED: return "interrupted";
  }
  return "unknown";
}

void
stance_store_trial_init(StanceStoreTrial *t)
{
  memset(t, 0, sizeof *t);
  t->side = STANCE_SIDE_BOTH;
  t->accepted = TRUE;
}

void
stance_store_trial_clear(StanceStoreTrial *t)
{
  if (!t)
    return;
  g_free(t->params);
  g_free(t->reject_reason);
  g_free(t->note);
  g_free(t->source);
  stance_store_trial_init(t);
}

void
stance_store_trial_free(StanceStoreTrial *t)
{
  if (!t)
    return;
  stance_store_trial_clear(t);
  g_free(t);
}

gboolean
stance_store_trial_get(StanceStore *s, gint64 id, StanceStoreTrial *out, GError **error)
{
  g_return_val_if_fail(s && out, FALSE);
  if (!check_id("trial", id, error))
    return FALSE;
  return s->be->trial_get(s->db, id, out, error);
}

GPtrArray *
stance_store_trial_list(StanceStore *s, gint64 session_id, GError **error)
{
  g_return_val_if_fail(s, NULL);
  if (!check_id("session", session_id, error))
    return NULL;
  StanceSession ses;
  stance_session_init(&ses);
  if (!s->be->session_get(s->db, session_id, &ses, error))
    return NULL;
  stance_session_clear(&ses);
  return s->be->trial_list(s->db, session_id, error);
}

typedef struct {
  StanceRecording *rec;
  gsize sb;
} ReadCtx;

static gboolean
read_chunk(const StanceStoreChunk *c, gpointer user, GError **error)
{
  ReadCtx *ctx = user;
  if (!check_chunk(c, ctx->sb, ctx->rec->n_samples, error))
    return FALSE;
  if (c->n_samples > CHUNK_MAX_SAMPLES * (guint64)16 ||
      stance_recording_reserve(ctx->rec, ctx->rec->n_samples + (gsize)c->n_samples) < 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                "trial %" G_GINT64_FORMAT ", chunk %" G_GINT64_FORMAT
                ": out of memory for %" G_GUINT64_FORMAT " more samples",
                c->trial_id, c->seq, c->n_samples);
    return FALSE;
  }
  unpack_samples(ctx->rec, c->data, (gsize)c->n_samples);
  return TRUE;
}

StanceRecording *
stance_store_trial_read(StanceStore *s, gint64 trial_id, GError **error)
{
  g_return_val_if_fail(s, NULL);
  if (!check_id("trial", trial_id, error))
    return NULL;
  /* One read snapshot: a trial being written by another process reads as committed so far. */
  if (!s->be->begin(s->db, FALSE, error))
    return NULL;
  GBytes *hdr = NULL;
  StanceStoreTrialFormat fmt = {0};
  StanceRecording *rec = NULL;
  gboolean ok = s->be->trial_header(s->db, trial_id, &hdr, &fmt, error);
  if (ok) {
    gsize len = 0;
    const guint8 *p = g_bytes_get_data(hdr, &len);
    StanceError err = {0};
    if (stance_file_decode(p, len, &rec, &err) < 0) {
      g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                  "trial %" G_GINT64_FORMAT ": its stored header is damaged: %s", trial_id,
                  err.message);
      ok = FALSE;
    } else if (rec->layout != fmt.layout || rec_has_cop(rec) != fmt.has_cop) {
      g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                  "trial %" G_GINT64_FORMAT ": its header (layout %s%s) does not match its row "
                  "(layout %s%s)",
                  trial_id, stance_layout_name(rec->layout), rec_has_cop(rec) ? " with CoP" : "",
                  stance_layout_name(fmt.layout), fmt.has_cop ? " with CoP" : "");
      ok = FALSE;
    }
    g_bytes_unref(hdr);
  }
  if (ok && fmt.n_samples <= G_MAXSIZE / 64 &&
      stance_recording_reserve(rec, (gsize)MAX(fmt.n_samples, 1)) < 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                "trial %" G_GINT64_FORMAT ": out of memory for %" G_GUINT64_FORMAT " samples",
                trial_id, fmt.n_samples);
    ok = FALSE;
  }
  ReadCtx ctx = {.rec = rec, .sb = ok ? sample_bytes(fmt.layout, fmt.has_cop) : 0};
  ok = ok && s->be->chunks_foreach(s->db, trial_id, read_chunk, &ctx, error);
  s->be->rollback(s->db);
  if (ok && rec->n_samples != fmt.n_samples) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "trial %" G_GINT64_FORMAT
                ": its chunks hold %zu samples (expected the %" G_GUINT64_FORMAT
                " its row declares)",
                trial_id, rec->n_samples, fmt.n_samples);
    ok = FALSE;
  }
  if (!ok) {
    stance_recording_free(rec);
    return NULL;
  }
  return rec;
}

gboolean
stance_store_trial_set_accepted(StanceStore *s, gint64 trial_id, gboolean accepted,
                                const char *reason, GError **error)
{
  g_return_val_if_fail(s, FALSE);
  if (!writable(s, error) || !check_id("trial", trial_id, error))
    return FALSE;
  if (!accepted && !check_text("reject reason", reason, REASON_MAX_BYTES, TRUE, FALSE, error))
    return FALSE;
  if (accepted && reason) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "a reason was given for accepting trial %" G_GINT64_FORMAT
                " (expected a reason only when rejecting)",
                trial_id);
    return FALSE;
  }
  return s->be->trial_set_accepted(s->db, trial_id, accepted, reason, error);
}

/* Checks a recording given to import or begin. samples: the sample arrays must be there too. */
static gboolean
check_recording(const StanceRecording *rec, gboolean samples, GError **error)
{
  if (!rec) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID, "no recording given");
    return FALSE;
  }
  gsize nch = layout_channels(rec->layout);
  if (nch == 0 || rec->n_channels != nch) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "the recording's layout %d with %zu channels is not valid (expected cells with 8, "
                "plates with 2 or combined with 1)",
                (int)rec->layout, rec->n_channels);
    return FALSE;
  }
  if (!isfinite(rec->sample_rate_hz) || rec->sample_rate_hz <= 0 || rec->sample_rate_hz > 1e6) {
    char v[32];
    g_ascii_formatd(v, sizeof v, "%.6g", rec->sample_rate_hz);
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "the recording's sample rate %s Hz is not valid (expected 0 < rate <= 1 MHz)", v);
    return FALSE;
  }
  if (rec->layout == STANCE_LAYOUT_CELLS && !rec->has_calibration) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "the cells recording carries no calibration (expected one: counts are kept with "
                "the calibration that turns them into newtons)");
    return FALSE;
  }
  if (samples && rec->n_samples > 0 &&
      (!rec->status || (rec->layout == STANCE_LAYOUT_CELLS ? !rec->counts : !rec->force_n))) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "the recording has %zu samples but no sample arrays", rec->n_samples);
    return FALSE;
  }
  return TRUE;
}

/* The trial row's fields taken from a recording's metadata. */
static void
fields_from_recording(const StanceRecording *rec, StanceStoreTrial *t)
{
  t->protocol = rec->meta.protocol;
  t->side = rec->meta.side;
  if (rec->meta.n_extra > 0) {
    GString *p = g_string_new(NULL);
    for (int i = 0; i < rec->meta.n_extra && i < STANCE_META_MAX_EXTRA; i++)
      g_string_append_printf(p, "%s=%s\n", rec->meta.extra[i].key, rec->meta.extra[i].value);
    t->params = g_string_free(p, FALSE);
  }
  const char *cal = rec->meta.calibration_id[0] ? rec->meta.calibration_id
                    : rec->has_calibration      ? rec->calib.id
                                                : "";
  g_strlcpy(t->calibration_id, cal, sizeof t->calibration_id);
  t->layout = rec->layout;
  t->sample_rate_hz = rec->sample_rate_hz;
  t->started_unix_ms = rec->meta.start_unix_ms > 0 ? rec->meta.start_unix_ms : now_ms();
  t->source = g_strndup(rec->meta.source, sizeof rec->meta.source);
}

static gboolean
check_session_exists(StanceStore *s, gint64 session_id, GError **error)
{
  if (!check_id("session", session_id, error))
    return FALSE;
  StanceSession ses;
  stance_session_init(&ses);
  if (!s->be->session_get(s->db, session_id, &ses, error))
    return FALSE;
  stance_session_clear(&ses);
  return TRUE;
}

/* Stores a whole recording as one trial with the given fields, in one transaction. */
static gint64
import_trial(StanceStore *s, gint64 session_id, StanceStoreTrial *fields,
             const StanceRecording *rec, GError **error)
{
  uint8_t *hdr = NULL;
  size_t hdr_len = 0;
  if (!encode_header(rec, &hdr, &hdr_len, error))
    return 0;
  /* Every chunk is packed (and its values checked) before the transaction starts. */
  GPtrArray *chunks = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
  guint64 gaps = 0;
  for (gsize from = 0; from < rec->n_samples; from += IMPORT_CHUNK_SAMPLES) {
    gsize n = MIN((gsize)IMPORT_CHUNK_SAMPLES, rec->n_samples - from);
    GByteArray *b =
        g_byte_array_sized_new((guint)(n * sample_bytes(rec->layout, rec_has_cop(rec))));
    g_ptr_array_add(chunks, b);
    if (!pack_samples(rec, from, n, b, &gaps, error)) {
      g_ptr_array_unref(chunks);
      free(hdr);
      return 0;
    }
  }
  fields->n_samples = rec->n_samples;
  fields->gap_samples = gaps;
  StanceStoreTrialInsert ti = {
      .fields = fields, .header = hdr, .header_len = hdr_len, .has_cop = rec_has_cop(rec)};
  gint64 id = 0;
  gboolean ok = s->be->begin(s->db, TRUE, error);
  if (ok) {
    id = s->be->trial_insert(s->db, session_id, &ti, error);
    ok = id > 0;
    for (guint k = 0; ok && k < chunks->len; k++) {
      GByteArray *b = chunks->pdata[k];
      guint64 first = (guint64)k * IMPORT_CHUNK_SAMPLES;
      guint64 n = MIN((guint64)IMPORT_CHUNK_SAMPLES, rec->n_samples - first);
      ok = s->be->chunk_insert(s->db, id, k, first, n, b->data, b->len,
                               stance_crc32(0, b->data, b->len), error);
    }
    ok = txn_end(s, ok, error);
  }
  g_ptr_array_unref(chunks);
  free(hdr);
  if (!ok) {
    if (g_error_matches(*error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_FULL)) {
      char secs[32];
      fmt_seconds(secs, sizeof secs, rec->n_samples, rec->sample_rate_hz);
      g_prefix_error(error, "the recording (%s s) was not stored: ", secs);
    }
    return 0;
  }
  return id;
}

gint64
stance_store_trial_import(StanceStore *s, gint64 session_id, const StanceRecording *rec,
                          GError **error)
{
  g_return_val_if_fail(s, 0);
  if (!writable(s, error) || !check_recording(rec, TRUE, error) ||
      !check_session_exists(s, session_id, error))
    return 0;
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  fields_from_recording(rec, &t);
  new_uuid(t.uuid);
  t.state = STANCE_TRIAL_COMPLETE;
  if (g_str_has_prefix(rec->meta.source, "import:"))
    t.note = g_strdup_printf("imported from %s", rec->meta.source + 7);
  gint64 id = import_trial(s, session_id, &t, rec, error);
  stance_store_trial_clear(&t);
  return id;
}

gint64
stance_store_trial_import_as(StanceStore *s, gint64 session_id, const StanceStoreTrial *fields,
                             const StanceRecording *rec, GError **error)
{
  g_return_val_if_fail(s, 0);
  if (!writable(s, error) || !check_recording(rec, TRUE, error) ||
      !check_session_exists(s, session_id, error))
    return 0;
  if (!fields) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID, "no trial fields given");
    return 0;
  }
  if (!check_fixed("trial uuid", fields->uuid, sizeof fields->uuid, error))
    return 0;
  if (!g_uuid_string_is_valid(fields->uuid)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "trial uuid \"%s\" is not a uuid (expected 8-4-4-4-12 hex digits)", fields->uuid);
    return 0;
  }
  if (fields->number < 1) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "trial number %d is not valid (expected 1 or more)", fields->number);
    return 0;
  }
  if (fields->state != STANCE_TRIAL_COMPLETE && fields->state != STANCE_TRIAL_INTERRUPTED) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "trial state %s cannot be imported (expected complete or interrupted)",
                stance_trial_state_name(fields->state));
    return 0;
  }
  if (!fields->accepted &&
      !check_text("reject reason", fields->reject_reason, REASON_MAX_BYTES, TRUE, FALSE, error))
    return 0;
  if (!check_text("trial note", fields->note, NOTES_MAX_BYTES, FALSE, FALSE, error))
    return 0;
  char uuid[37];
  memcpy(uuid, fields->uuid, sizeof uuid);
  lower_uuid(uuid);
  gint64 other = 0;
  if (!s->be->trial_id_by_uuid(s->db, uuid, &other, error))
    return 0;
  if (other > 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS,
                "a trial with uuid %s is already stored (id %" G_GINT64_FORMAT
                "; a session imported twice?)",
                fields->uuid, other);
    return 0;
  }
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  fields_from_recording(rec, &t);
  memcpy(t.uuid, uuid, sizeof t.uuid);
  t.number = fields->number;
  t.state = fields->state;
  t.accepted = fields->accepted;
  t.reject_reason = fields->accepted ? NULL : g_strdup(fields->reject_reason);
  t.note = g_strdup(fields->note);
  if (fields->started_unix_ms > 0)
    t.started_unix_ms = fields->started_unix_ms;
  gint64 id = import_trial(s, session_id, &t, rec, error);
  stance_store_trial_clear(&t);
  return id;
}

/* ======================================================================================
 * The trial writer
 * ====================================================================================== */

struct _StanceTrialWriter {
  StanceStore *store;
  gint64 trial_id;
  StanceLayout layout;
  gboolean has_cop;
  double rate;
  gsize sb;
  GByteArray *pending; /* packed samples not committed yet */
  guint64 pending_n, pending_gaps;
  gint64 pending_since_us; /* monotonic time the oldest pending sample was appended */
  guint64 chunk_samples;   /* STANCE_STORE_FLUSH_MS of recording: a full chunk */
  guint64 appended, committed, committed_gaps;
  gint64 next_seq;
  gboolean full;     /* the disk filled: nothing more is accepted */
  gboolean finished; /* finish() ran */
  gboolean complete; /* finish() succeeded */
};

StanceTrialWriter *
stance_store_trial_begin(StanceStore *s, gint64 session_id, const StanceRecording *header,
                         GError **error)
{
  g_return_val_if_fail(s, NULL);
  if (!writable(s, error) || !check_recording(header, FALSE, error) ||
      !check_session_exists(s, session_id, error))
    return NULL;
  uint8_t *hdr = NULL;
  size_t hdr_len = 0;
  if (!encode_header(header, &hdr, &hdr_len, error))
    return NULL;
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  fields_from_recording(header, &t);
  new_uuid(t.uuid);
  t.state = STANCE_TRIAL_RECORDING;
  StanceStoreWriterId me = {0};
  writer_id_self(&me);
  StanceStoreTrialInsert ti = {.fields = &t,
                               .header = hdr,
                               .header_len = hdr_len,
                               .has_cop = rec_has_cop(header),
                               .writer = &me};
  gint64 id = 0;
  gboolean ok = s->be->begin(s->db, TRUE, error);
  if (ok) {
    id = s->be->trial_insert(s->db, session_id, &ti, error);
    ok = txn_end(s, id > 0, error);
  }
  free(hdr);
  stance_store_trial_clear(&t);
  _stance_store_writer_id_clear(&me);
  if (!ok)
    return NULL;
  StanceTrialWriter *w = g_new0(StanceTrialWriter, 1);
  w->store = s;
  w->trial_id = id;
  w->layout = header->layout;
  w->has_cop = rec_has_cop(header);
  w->rate = header->sample_rate_hz;
  w->sb = sample_bytes(w->layout, w->has_cop);
  double per_flush = ceil(w->rate * STANCE_STORE_FLUSH_MS / 1000.0);
  w->chunk_samples = (guint64)CLAMP(per_flush, 1.0, (double)CHUNK_MAX_SAMPLES);
  w->pending = g_byte_array_new();
  return w;
}

gint64
stance_trial_writer_id(StanceTrialWriter *w)
{
  g_return_val_if_fail(w, 0);
  return w->trial_id;
}

guint64
stance_trial_writer_appended(StanceTrialWriter *w)
{
  g_return_val_if_fail(w, 0);
  return w->appended;
}

guint64
stance_trial_writer_committed(StanceTrialWriter *w)
{
  g_return_val_if_fail(w, 0);
  return w->committed;
}

static gchar *
kept_text(StanceTrialWriter *w)
{
  char secs[32];
  fmt_seconds(secs, sizeof secs, w->committed, w->rate);
  return g_strdup_printf("%s s (%" G_GUINT64_FORMAT " samples)", secs, w->committed);
}

/* Best effort: the trial becomes INTERRUPTED with note (a row update usually still fits on a full
 * disk; when it does not, the next open recovers the trial). */
static void
mark_interrupted(StanceTrialWriter *w, const char *note)
{
  StanceStore *s = w->store;
  if (!s->be->begin(s->db, TRUE, NULL))
    return;
  gboolean ok = s->be->trial_set_state(s->db, w->trial_id, STANCE_TRIAL_INTERRUPTED, note, NULL);
  txn_end(s, ok, NULL);
}

static void
full_error(StanceTrialWriter *w, GError **error)
{
  gchar *kept = kept_text(w);
  g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_FULL,
              "the disk is full: trial %" G_GINT64_FORMAT " keeps its first %s already on disk; "
              "nothing more can be recorded",
              w->trial_id, kept);
  g_free(kept);
}

/* Commits the pending samples as one chunk, in one transaction. */
static gboolean
commit_pending(StanceTrialWriter *w, GError **error)
{
  if (w->pending_n == 0)
    return TRUE;
  StanceStore *s = w->store;
  guint32 crc = stance_crc32(0, w->pending->data, w->pending->len);
  GError *e = NULL;
  gboolean ok = s->be->begin(s->db, TRUE, &e) &&
                s->be->chunk_insert(s->db, w->trial_id, w->next_seq, w->committed, w->pending_n,
                                    w->pending->data, w->pending->len, crc, &e) &&
                s->be->trial_set_counts(s->db, w->trial_id, w->committed + w->pending_n,
                                        w->committed_gaps + w->pending_gaps, &e);
  ok = txn_end(s, ok, &e);
  if (!ok) {
    if (g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_FULL)) {
      g_error_free(e);
      w->full = TRUE;
      g_byte_array_set_size(w->pending, 0);
      w->pending_n = w->pending_gaps = 0;
      gchar *kept = kept_text(w);
      gchar *note = g_strdup_printf("the disk filled while recording; kept %s", kept);
      mark_interrupted(w, note);
      g_free(note);
      g_free(kept);
      full_error(w, error);
    } else {
      /* The samples stay pending: a later append or flush tries again. */
      g_propagate_prefixed_error(error, e, "trial %" G_GINT64_FORMAT ": ", w->trial_id);
    }
    return FALSE;
  }
  w->committed += w->pending_n;
  w->committed_gaps += w->pending_gaps;
  w->next_seq++;
  g_byte_array_set_size(w->pending, 0);
  w->pending_n = w->pending_gaps = 0;
  return TRUE;
}

gboolean
stance_trial_writer_append(StanceTrialWriter *w, const StanceRecording *rec, gsize from,
                           GError **error)
{
  g_return_val_if_fail(w, FALSE);
  if (w->full) {
    full_error(w, error);
    return FALSE;
  }
  if (w->finished) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "trial %" G_GINT64_FORMAT " is finished (expected no more samples)", w->trial_id);
    return FALSE;
  }
  if (!check_recording(rec, TRUE, error))
    return FALSE;
  if (rec->layout != w->layout || rec->sample_rate_hz != w->rate ||
      rec_has_cop(rec) != w->has_cop) {
    char a[32], b[32];
    g_ascii_formatd(a, sizeof a, "%.9g", rec->sample_rate_hz);
    g_ascii_formatd(b, sizeof b, "%.9g", w->rate);
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "trial %" G_GINT64_FORMAT ": the samples are %s at %s Hz%s (expected %s at %s Hz%s "
                "as the trial's header)",
                w->trial_id, stance_layout_name(rec->layout), a,
                rec_has_cop(rec) ? " with CoP" : "", stance_layout_name(w->layout), b,
                w->has_cop ? " with CoP" : "");
    return FALSE;
  }
  if (from > rec->n_samples) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "trial %" G_GINT64_FORMAT ": first sample %zu is past the recording's end (%zu "
                "samples)",
                w->trial_id, from, rec->n_samples);
    return FALSE;
  }
  /* A chunk is committed when its oldest sample waited STANCE_STORE_FLUSH_MS, and also as soon
   * as it holds STANCE_STORE_FLUSH_MS of recording: a writer catching up after a slow commit (a
   * busy disk) hands over many samples at once, and they must not wait another 100 ms. */
  gsize i = from;
  while (i < rec->n_samples) {
    if (w->pending_n == 0)
      w->pending_since_us = g_get_monotonic_time();
    gsize n = MIN(rec->n_samples - i, (gsize)(w->chunk_samples - w->pending_n));
    guint64 gaps = 0;
    if (!pack_samples(rec, i, n, w->pending, &gaps, error)) {
      g_prefix_error(error, "trial %" G_GINT64_FORMAT ": ", w->trial_id);
      return FALSE;
    }
    w->pending_n += n;
    w->pending_gaps += gaps;
    w->appended += n;
    i += n;
    if (w->pending_n >= w->chunk_samples && !commit_pending(w, error))
      return FALSE;
  }
  if (w->pending_n > 0 &&
      g_get_monotonic_time() - w->pending_since_us >= (gint64)STANCE_STORE_FLUSH_MS * 1000)
    return commit_pending(w, error);
  return TRUE;
}

gboolean
stance_trial_writer_flush(StanceTrialWriter *w, GError **error)
{
  g_return_val_if_fail(w, FALSE);
  if (w->full) {
    full_error(w, error);
    return FALSE;
  }
  return commit_pending(w, error);
}

gboolean
stance_trial_writer_finish(StanceTrialWriter *w, GError **error)
{
  g_return_val_if_fail(w, FALSE);
  if (w->finished) {
    if (w->complete)
      return TRUE;
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "trial %" G_GINT64_FORMAT " was already finished without completing", w->trial_id);
    return FALSE;
  }
  w->finished = TRUE;
  if (w->full) {
    full_error(w, error);
    return FALSE;
  }
  StanceStore *s = w->store;
  GError *e = NULL;
  if (commit_pending(w, &e)) {
    gboolean ok = s->be->begin(s->db, TRUE, &e) &&
                  s->be->trial_set_state(s->db, w->trial_id, STANCE_TRIAL_COMPLETE, NULL, &e);
    if (txn_end(s, ok, &e)) {
      w->complete = TRUE;
      return TRUE;
    }
  }
  if (w->full) {
    g_propagate_error(error, e);
    return FALSE;
  }
  gchar *kept = kept_text(w);
  gchar *note = g_strdup_printf("recording could not be completed (%s); kept %s", e->message, kept);
  mark_interrupted(w, note);
  g_set_error(error, e->domain, e->code,
              "%s; trial %" G_GINT64_FORMAT " is left interrupted and keeps its first %s",
              e->message, w->trial_id, kept);
  g_free(note);
  g_free(kept);
  g_error_free(e);
  return FALSE;
}

void
stance_trial_writer_free(StanceTrialWriter *w)
{
  if (!w)
    return;
  if (!w->finished && !w->full) {
    commit_pending(w, NULL);
    if (!w->full) {
      gchar *kept = kept_text(w);
      gchar *note = g_strdup_printf("recording stopped before it finished; kept %s", kept);
      mark_interrupted(w, note);
      g_free(note);
      g_free(kept);
    }
  }
  g_byte_array_unref(w->pending);
  g_free(w);
}

/* ======================================================================================
 * Analyses and results
 * ====================================================================================== */

void
stance_store_analysis_clear(StanceStoreAnalysis *a)
{
  if (!a)
    return;
  g_free(a->options);
  memset(a, 0, sizeof *a);
}

void
stance_store_analysis_free(StanceStoreAnalysis *a)
{
  if (!a)
    return;
  stance_store_analysis_clear(a);
  g_free(a);
}

void
stance_result_row_clear(StanceResultRow *r)
{
  if (!r)
    return;
  g_free(r->method_params);
  r->method_params = NULL;
}

static void
row_clear_func(gpointer p)
{
  stance_result_row_clear(p);
}

/* The method's parameters as a compact JSON object. */
static gchar *
method_params_json(const StanceMethod *m, GError **error)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO, "out of memory");
    return NULL;
  }
  StanceJson *j = stance_json_new(f, false);
  stance_json_begin_object(j);
  for (int i = 0; i < m->n_params && i < STANCE_METHOD_MAX_PARAMS; i++) {
    if (m->params[i].str[0])
      stance_json_kv_string(j, m->params[i].key, m->params[i].str);
    else
      stance_json_kv_number(j, m->params[i].key, m->params[i].num);
  }
  stance_json_end_object(j);
  StanceError err = {0};
  int rc = stance_json_finish(j, &err);
  fclose(f);
  if (rc < 0) {
    free(buf);
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "method %s: its parameters cannot be written: %s", m->id, err.message);
    return NULL;
  }
  gchar *out = g_strdup(buf);
  free(buf);
  return out;
}

static gboolean
add_metric_rows(GArray *rows, int rep, const char *kind, StanceSide side, const StanceMetric *m,
                GError **error)
{
  static const char *const limbs[] = {"left", "right", "total"};
  static const unsigned bits[] = {STANCE_HAS_LEFT, STANCE_HAS_RIGHT, STANCE_HAS_TOTAL};
  const double values[] = {m->left, m->right, m->total};
  gchar *params = method_params_json(&m->method, error);
  if (!params)
    return FALSE;
  for (int k = 0; k < 3; k++) {
    if (!(m->has & bits[k]) || !isfinite(values[k]))
      continue;
    StanceResultRow r = {.rep = rep, .rep_side = side, .value = values[k]};
    g_strlcpy(r.kind, kind, sizeof r.kind);
    g_strlcpy(r.metric, m->id, sizeof r.metric);
    g_strlcpy(r.unit, m->unit, sizeof r.unit);
    g_strlcpy(r.limb, limbs[k], sizeof r.limb);
    g_strlcpy(r.method_id, m->method.id, sizeof r.method_id);
    r.method_params = g_strdup(params);
    r.stronger = STANCE_SIDE_BOTH;
    g_array_append_val(rows, r);
  }
  if (m->has_asym && isfinite(m->asym.value)) {
    StanceResultRow r = {.rep = rep, .rep_side = side, .value = m->asym.value};
    g_strlcpy(r.kind, kind, sizeof r.kind);
    g_strlcpy(r.metric, m->id, sizeof r.metric);
    g_strlcpy(r.unit, "%", sizeof r.unit);
    g_strlcpy(r.limb, "asym", sizeof r.limb);
    g_strlcpy(r.method_id, m->method.id, sizeof r.method_id);
    r.method_params = g_strdup(params);
    g_strlcpy(r.formula, m->asym.formula_id, sizeof r.formula);
    r.stronger = m->asym.stronger;
    g_array_append_val(rows, r);
  }
  g_free(params);
  return TRUE;
}

static GArray *
new_rows(void)
{
  GArray *rows = g_array_new(FALSE, TRUE, sizeof(StanceResultRow));
  g_array_set_clear_func(rows, row_clear_func);
  return rows;
}

static gboolean
check_trial_analysable(StanceStore *s, gint64 trial_id, GError **error)
{
  if (!check_id("trial", trial_id, error))
    return FALSE;
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  if (!s->be->trial_get(s->db, trial_id, &t, error))
    return FALSE;
  StanceTrialState st = t.state;
  stance_store_trial_clear(&t);
  if (st == STANCE_TRIAL_RECORDING) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "trial %" G_GINT64_FORMAT " is still being recorded (expected a finished trial)",
                trial_id);
    return FALSE;
  }
  return TRUE;
}

static gint64
insert_run(StanceStore *s, gint64 trial_id, const StanceStoreAnalysis *meta, const GArray *rows,
           GError **error)
{
  gint64 id = 0;
  gboolean ok = s->be->begin(s->db, TRUE, error);
  if (ok) {
    id = s->be->analysis_insert(s->db, trial_id, meta, rows, error);
    ok = txn_end(s, id > 0, error);
  }
  return ok ? id : 0;
}

gint64
stance_store_analysis_save(StanceStore *s, gint64 trial_id, const StanceAnalysis *a,
                           const char *options_text, GError **error)
{
  g_return_val_if_fail(s, 0);
  if (!writable(s, error))
    return 0;
  if (!a) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID, "no analysis given");
    return 0;
  }
  if (!check_text("analysis options", options_text, OPTIONS_MAX_BYTES, TRUE, TRUE, error) ||
      !check_trial_analysable(s, trial_id, error))
    return 0;
  GArray *rows = new_rows();
  gboolean ok = TRUE;
  for (size_t i = 0; ok && i < a->n_trials; i++) {
    const StanceTrial *t = &a->trials[i];
    for (size_t k = 0; ok && k < t->n_metrics; k++)
      ok = add_metric_rows(rows, t->index, t->kind, t->side, &t->metrics[k], error);
  }
  for (size_t k = 0; ok && k < a->n_metrics; k++)
    ok = add_metric_rows(rows, 0, "", a->side, &a->metrics[k], error);
  gint64 id = 0;
  if (ok) {
    StanceStoreAnalysis meta = {.trial_id = trial_id,
                                .created_unix_ms = now_ms(),
                                .options = (gchar *)options_text,
                                .current = TRUE};
    g_strlcpy(meta.stance_version, STANCE_VERSION, sizeof meta.stance_version);
    id = insert_run(s, trial_id, &meta, rows, error);
  }
  g_array_unref(rows);
  return id;
}

gint64
stance_store_analysis_put(StanceStore *s, gint64 trial_id, const StanceStoreAnalysis *meta,
                          const GArray *rows, GError **error)
{
  g_return_val_if_fail(s, 0);
  if (!writable(s, error))
    return 0;
  if (!meta || !rows || g_array_get_element_size((GArray *)rows) != sizeof(StanceResultRow)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "no analysis run given (expected its fields and an array of StanceResultRow)");
    return 0;
  }
  if (!check_text("analysis options", meta->options, OPTIONS_MAX_BYTES, TRUE, TRUE, error) ||
      !check_fixed("Stance version", meta->stance_version, sizeof meta->stance_version, error) ||
      !check_trial_analysable(s, trial_id, error))
    return 0;
  for (guint i = 0; i < rows->len; i++) {
    const StanceResultRow *r = &g_array_index(rows, StanceResultRow, i);
    char what[64];
    g_snprintf(what, sizeof what, "result row %u", i);
    if (!check_fixed(what, r->metric, sizeof r->metric, error) ||
        !check_fixed(what, r->kind, sizeof r->kind, error) ||
        !check_fixed(what, r->unit, sizeof r->unit, error) ||
        !check_fixed(what, r->limb, sizeof r->limb, error) ||
        !check_fixed(what, r->method_id, sizeof r->method_id, error) ||
        !check_fixed(what, r->formula, sizeof r->formula, error) ||
        !check_text(what, r->method_params, PARAMS_MAX_BYTES, FALSE, FALSE, error) ||
        !check_side(what, r->rep_side, error) || !check_side(what, r->stronger, error))
      return 0;
    if (!r->metric[0] || r->rep < 0) {
      g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                  "result row %u: metric \"%s\" of rep %d (expected a metric id and rep >= 0)", i,
                  r->metric, r->rep);
      return 0;
    }
    if (strcmp(r->limb, "left") != 0 && strcmp(r->limb, "right") != 0 &&
        strcmp(r->limb, "total") != 0 && strcmp(r->limb, "asym") != 0) {
      g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                  "result row %u: limb \"%s\" is not known (expected left, right, total or asym)",
                  i, r->limb);
      return 0;
    }
    if (!isfinite(r->value)) {
      g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                  "result row %u (%s %s): the value is not a finite number", i, r->metric, r->limb);
      return 0;
    }
  }
  StanceStoreAnalysis copy = *meta;
  copy.trial_id = trial_id;
  if (copy.created_unix_ms <= 0)
    copy.created_unix_ms = now_ms();
  if (!copy.stance_version[0])
    g_strlcpy(copy.stance_version, STANCE_VERSION, sizeof copy.stance_version);
  return insert_run(s, trial_id, &copy, rows, error);
}

gboolean
stance_store_analysis_current(StanceStore *s, gint64 trial_id, StanceStoreAnalysis *out,
                              GError **error)
{
  g_return_val_if_fail(s && out, FALSE);
  if (!check_id("trial", trial_id, error))
    return FALSE;
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  if (!s->be->trial_get(s->db, trial_id, &t, error))
    return FALSE;
  stance_store_trial_clear(&t);
  return s->be->analysis_current(s->db, trial_id, out, error);
}

GPtrArray *
stance_store_analysis_list(StanceStore *s, gint64 trial_id, GError **error)
{
  g_return_val_if_fail(s, NULL);
  if (!check_id("trial", trial_id, error))
    return NULL;
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  if (!s->be->trial_get(s->db, trial_id, &t, error))
    return NULL;
  stance_store_trial_clear(&t);
  return s->be->analysis_list(s->db, trial_id, error);
}

GArray *
stance_store_results(StanceStore *s, gint64 analysis_id, GError **error)
{
  g_return_val_if_fail(s, NULL);
  if (!check_id("analysis", analysis_id, error) ||
      !s->be->analysis_exists(s->db, analysis_id, error))
    return NULL;
  return s->be->results(s->db, analysis_id, error);
}

/* ======================================================================================
 * Trends
 * ====================================================================================== */

void
stance_trend_free(StanceTrend *t)
{
  if (!t)
    return;
  if (t->points)
    g_array_unref(t->points);
  g_free(t);
}

enum { L_LEFT, L_RIGHT, L_TOTAL, L_ASYM, N_LIMBS };

static int
limb_index(const char *limb)
{
  if (strcmp(limb, "left") == 0)
    return L_LEFT;
  if (strcmp(limb, "right") == 0)
    return L_RIGHT;
  if (strcmp(limb, "total") == 0)
    return L_TOTAL;
  if (strcmp(limb, "asym") == 0)
    return L_ASYM;
  return -1;
}

static const char *
most_frequent(GHashTable *counts)
{
  const char *best = NULL;
  guint best_n = 0;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, counts);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    guint n = GPOINTER_TO_UINT(v);
    if (n > best_n || (n == best_n && best && strcmp(k, best) < 0)) {
      best = k;
      best_n = n;
    }
  }
  return best;
}

static void
count_key(GHashTable *counts, const char *key)
{
  gpointer v = g_hash_table_lookup(counts, key);
  g_hash_table_replace(counts, g_strdup(key), GUINT_TO_POINTER(GPOINTER_TO_UINT(v) + 1));
}

/* TE (pooled within-session SD) and MDC95 of one limb's values. */
static void
trend_te(GArray *vals, GArray *sess, int n_sessions, gboolean *has, double *te, double *mdc)
{
  *has = FALSE;
  *te = *mdc = 0.0;
  if (vals->len < 2)
    return;
  double t = 0, m = 0;
  if (stance_reliab_te_pooled((const double *)(void *)vals->data, (const int *)(void *)sess->data,
                              vals->len, n_sessions, &t, NULL) < 0 ||
      stance_reliab_mdc95(t, &m, NULL) < 0)
    return;
  *has = TRUE;
  *te = t;
  *mdc = m;
}

StanceTrend *
stance_store_trend(StanceStore *s, gint64 athlete_id, StanceProtocol protocol, const char *metric,
                   GError **error)
{
  g_return_val_if_fail(s, NULL);
  if (!check_id("athlete", athlete_id, error) ||
      !check_text("metric", metric, 31, TRUE, TRUE, error))
    return NULL;
  if ((int)protocol < 0 || protocol >= STANCE_PROTO_COUNT) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "protocol %d is not known (expected a protocol id such as cmj)", (int)protocol);
    return NULL;
  }
  StanceAthlete ath;
  stance_athlete_init(&ath);
  if (!s->be->athlete_get(s->db, athlete_id, &ath, error))
    return NULL;
  stance_athlete_clear(&ath);
  GArray *vals = s->be->trend_values(s->db, athlete_id, protocol, metric, error);
  if (!vals)
    return NULL;
  if (vals->len == 0) {
    GPtrArray *names = s->be->athlete_metrics(s->db, athlete_id, error);
    if (names) {
      g_ptr_array_add(names, NULL);
      gchar *list = g_strjoinv(", ", (gchar **)names->pdata);
      g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                  "athlete %" G_GINT64_FORMAT " has no value of metric \"%s\"%s%s in the current "
                  "analyses of accepted trials (%s%s)",
                  athlete_id, metric, protocol ? " for protocol " : "",
                  protocol ? stance_protocol_name(protocol) : "",
                  names->len > 1 ? "metrics there: " : "no analysed trial at all",
                  names->len > 1 ? list : "");
      g_free(list);
      g_ptr_array_unref(names);
    }
    g_array_unref(vals);
    return NULL;
  }
  /* Which protocol (when not given) and which asymmetry formula: the most frequent ones. */
  GHashTable *protos = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  GHashTable *formulas = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  gint64 last_trial = 0;
  for (guint i = 0; i < vals->len; i++) {
    const StanceStoreTrendValue *v = &g_array_index(vals, StanceStoreTrendValue, i);
    if (v->trial_id != last_trial)
      count_key(protos, stance_protocol_name(v->protocol));
    last_trial = v->trial_id;
  }
  StanceProtocol proto = protocol ? protocol : stance_protocol_from_name(most_frequent(protos));
  for (guint i = 0; i < vals->len; i++) {
    const StanceStoreTrendValue *v = &g_array_index(vals, StanceStoreTrendValue, i);
    if (v->protocol == proto && limb_index(v->limb) == L_ASYM && v->formula[0])
      count_key(formulas, v->formula);
  }
  StanceTrend *t = g_new0(StanceTrend, 1);
  g_strlcpy(t->metric, metric, sizeof t->metric);
  t->protocol = proto;
  const char *f = most_frequent(formulas);
  g_strlcpy(t->formula, f ? f : "", sizeof t->formula);
  t->points = g_array_new(FALSE, TRUE, sizeof(StanceTrendPoint));
  GArray *lv[N_LIMBS], *ls[N_LIMBS];
  for (int k = 0; k < N_LIMBS; k++) {
    lv[k] = g_array_new(FALSE, FALSE, sizeof(double));
    ls[k] = g_array_new(FALSE, FALSE, sizeof(int));
  }
  double sum[N_LIMBS] = {0};
  int cnt[N_LIMBS] = {0};
  StanceTrendPoint pt = {0};
  gint64 cur_session = 0, cur_trial = 0;
  int n_sessions = 0;
  for (guint i = 0; i <= vals->len; i++) {
    const StanceStoreTrendValue *v =
        i < vals->len ? &g_array_index(vals, StanceStoreTrendValue, i) : NULL;
    if (v && v->protocol != proto)
      continue;
    int li = v ? limb_index(v->limb) : -1;
    if (v && li == L_ASYM && strcmp(v->formula, t->formula) != 0)
      continue; /* an asymmetry by another formula does not average with these */
    if (!v || v->session_id != cur_session) {
      if (cur_session) {
        double *means[N_LIMBS] = {&pt.left_mean, &pt.right_mean, &pt.total_mean, &pt.asym_mean};
        gboolean *has[N_LIMBS] = {&pt.has_left, &pt.has_right, &pt.has_total, &pt.has_asym};
        for (int k = 0; k < N_LIMBS; k++) {
          *has[k] = cnt[k] > 0;
          *means[k] = cnt[k] > 0 ? sum[k] / cnt[k] : 0.0;
        }
        pt.stronger = STANCE_SIDE_BOTH;
        if (pt.has_left && pt.has_right && pt.left_mean != pt.right_mean)
          pt.stronger = pt.left_mean > pt.right_mean ? STANCE_SIDE_LEFT : STANCE_SIDE_RIGHT;
        g_array_append_val(t->points, pt);
        n_sessions++;
      }
      if (!v)
        break;
      memset(&pt, 0, sizeof pt);
      memset(sum, 0, sizeof sum);
      memset(cnt, 0, sizeof cnt);
      pt.session_id = v->session_id;
      pt.started_unix_ms = v->session_started_unix_ms;
      cur_session = v->session_id;
      cur_trial = 0;
    }
    if (li < 0)
      continue;
    if (v->trial_id != cur_trial) {
      pt.n_trials++;
      cur_trial = v->trial_id;
    }
    if (li != L_ASYM && !t->unit[0])
      g_strlcpy(t->unit, v->unit, sizeof t->unit);
    sum[li] += v->value;
    cnt[li]++;
    g_array_append_val(lv[li], v->value);
    g_array_append_val(ls[li], n_sessions);
  }
  if (!t->unit[0])
    g_strlcpy(t->unit, "%", sizeof t->unit);
  trend_te(lv[L_LEFT], ls[L_LEFT], n_sessions, &t->has_mdc_left, &t->te_left, &t->mdc95_left);
  trend_te(lv[L_RIGHT], ls[L_RIGHT], n_sessions, &t->has_mdc_right, &t->te_right, &t->mdc95_right);
  trend_te(lv[L_TOTAL], ls[L_TOTAL], n_sessions, &t->has_mdc_total, &t->te_total, &t->mdc95_total);
  trend_te(lv[L_ASYM], ls[L_ASYM], n_sessions, &t->has_mdc_asym, &t->te_asym, &t->mdc95_asym);
  for (int k = 0; k < N_LIMBS; k++) {
    g_array_unref(lv[k]);
    g_array_unref(ls[k]);
  }
  g_hash_table_unref(protos);
  g_hash_table_unref(formulas);
  g_array_unref(vals);
  return t;
}

/* ======================================================================================
 * Calibrations
 * ====================================================================================== */

void
stance_store_calibration_clear(StanceStoreCalibration *c)
{
  if (!c)
    return;
  g_free(c->result_json);
  memset(c, 0, sizeof *c);
}

void
stance_store_calibration_free(StanceStoreCalibration *c)
{
  if (!c)
    return;
  stance_store_calibration_clear(c);
  g_free(c);
}

static gboolean
check_serial(const char *serial, GError **error)
{
  if (!serial || !serial[0] || strlen(serial) > 31) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "board serial \"%s\" is not valid (expected 1 to 31 characters)",
                serial ? serial : "(null)");
    return FALSE;
  }
  return check_text("board serial", serial, 31, TRUE, TRUE, error);
}

static gboolean
check_finite_array(const char *what, const double *v, int n, GError **error)
{
  for (int i = 0; i < n; i++)
    if (!isfinite(v[i])) {
      g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                  "calibration %s[%d] is not a finite number", what, i);
      return FALSE;
    }
  return TRUE;
}

gboolean
stance_store_calibration_save(StanceStore *s, const StanceCalibRecord *rec, const char *result_json,
                              GError **error)
{
  g_return_val_if_fail(s, FALSE);
  if (!writable(s, error))
    return FALSE;
  if (!rec) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID, "no calibration given");
    return FALSE;
  }
  if (!check_fixed("calibration id", rec->id, sizeof rec->id, error) ||
      !check_fixed("board serial", rec->board_serial, sizeof rec->board_serial, error) ||
      !check_fixed("plan name", rec->plan_name, sizeof rec->plan_name, error) ||
      !check_fixed("fit method", rec->fit_method, sizeof rec->fit_method, error) ||
      !check_text("calibration id", rec->id, 63, TRUE, TRUE, error) ||
      !check_serial(rec->board_serial, error) ||
      !check_text("calibration result JSON", result_json, RESULT_JSON_MAX_BYTES, FALSE, FALSE,
                  error))
    return FALSE;
  if (rec->created_unix_ms <= 0 || rec->sequence < 1) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "calibration %s: created %" G_GINT64_FORMAT " ms, sequence %u (expected a time "
                "after 1970 and a sequence of 1 or more)",
                rec->id, rec->created_unix_ms, rec->sequence);
    return FALSE;
  }
  const double *arrays[] = {
      rec->gain_se_n_per_count, rec->offset_se_counts,   rec->full_scale_n,
      rec->residual_rms_n,      rec->force_error_pct_fs, rec->cop_error_mm,
      rec->nonlinearity_pct_fs, rec->hysteresis_pct_fs,  rec->zero_return_pct_fs};
  const char *names[] = {"gain_se",   "offset_se",    "full_scale", "residual_rms", "force_error",
                         "cop_error", "nonlinearity", "hysteresis", "zero_return"};
  for (int k = 0; k < 9; k++)
    if (!check_finite_array(names[k], arrays[k], k < 2 ? STANCE_N_CELLS : STANCE_N_PLATES, error))
      return FALSE;
  if (!isfinite(rec->gravity_m_s2)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "calibration %s: gravity is not a finite number", rec->id);
    return FALSE;
  }
  StanceError err = {0};
  if (stance_calibration_validate(&rec->calibration, &err) < 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID, "calibration %s: %s",
                rec->id, err.message);
    return FALSE;
  }
  StanceStoreCalibration old = {0};
  GError *e = NULL;
  if (s->be->calibration_get(s->db, rec->id, &old, &e)) {
    stance_store_calibration_clear(&old);
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS,
                "calibration %s is already in the store (expected a new id: "
                "stance_store_calibration_next_sequence() gives the next one)",
                rec->id);
    return FALSE;
  }
  if (!g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
    g_propagate_error(error, e);
    return FALSE;
  }
  g_error_free(e);
  /* The calibration carries the record's identity, as stance_calib_record_to_calibration()
   * gives it to recordings. */
  StanceCalibration cal;
  stance_calib_record_to_calibration(rec, &cal);
  guint8 *blob = NULL;
  gsize len = 0;
  if (!_stance_store_calib_encode(&cal, &blob, &len, error))
    return FALSE;
  gboolean ok = s->be->calibration_insert(s->db, rec, blob, len, result_json, error);
  g_free(blob);
  return ok;
}

gboolean
stance_store_calibration_get(StanceStore *s, const char *id, StanceStoreCalibration *out,
                             GError **error)
{
  g_return_val_if_fail(s && out, FALSE);
  if (!check_text("calibration id", id, 63, TRUE, TRUE, error))
    return FALSE;
  return s->be->calibration_get(s->db, id, out, error);
}

gboolean
stance_store_calibration_latest(StanceStore *s, const char *board_serial,
                                StanceStoreCalibration *out, GError **error)
{
  g_return_val_if_fail(s && out, FALSE);
  if (!check_serial(board_serial, error))
    return FALSE;
  return s->be->calibration_latest(s->db, board_serial, out, error);
}

GPtrArray *
stance_store_calibration_list(StanceStore *s, const char *board_serial, GError **error)
{
  g_return_val_if_fail(s, NULL);
  if (board_serial && !check_serial(board_serial, error))
    return NULL;
  return s->be->calibration_list(s->db, board_serial, error);
}

guint32
stance_store_calibration_next_sequence(StanceStore *s, const char *board_serial,
                                       gint64 created_unix_ms, GError **error)
{
  g_return_val_if_fail(s, 0);
  if (!check_serial(board_serial, error))
    return 0;
  if (created_unix_ms <= 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "time %" G_GINT64_FORMAT " ms is not valid (expected unix ms after 1970)",
                created_unix_ms);
    return 0;
  }
  /* The UTC day of created_unix_ms, as the id's date (stance_calib_make_id). */
  gint64 day = created_unix_ms / 86400000 * 86400000;
  guint32 max = 0;
  if (!s->be->calibration_max_sequence(s->db, board_serial, day, day + 86400000, &max, error))
    return 0;
  return max + 1;
}

gboolean
stance_store_calibration_mark_written(StanceStore *s, const char *id, gint64 when_unix_ms,
                                      GError **error)
{
  g_return_val_if_fail(s, FALSE);
  if (!writable(s, error) || !check_text("calibration id", id, 63, TRUE, TRUE, error))
    return FALSE;
  if (when_unix_ms <= 0)
    when_unix_ms = now_ms();
  return s->be->calibration_mark_written(s->db, id, when_unix_ms, error);
}
