/* stance-session.c: a stored session loaded whole, its trials analysed, and its exports (see
 * stance-session.h and docs/exports.md). The bundle export and import are in stance-bundle.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything here goes through the public store interface (stance-store.h); no SQL.
 *
 * Atomic outputs: a file is written through stance-atomic.h (a temporary file beside it, fsync,
 * rename); a folder (CSV, C3D of a whole session) is filled as a temporary folder
 * ".<name>.XXXXXX" beside it and renamed into place at the end, so a failed export leaves neither
 * a half-written file nor a half-filled folder. An existing folder is only replaced when it is
 * empty: the export never deletes a user's files.
 *
 * Threads: as the store, one thread at a time.
 */
#include "stance-session.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stance-atomic.h"
#include "stance-bundle-private.h"
#include "stance-c3d.h"
#include "stance-config.h"
#include "stance-export-csv.h"
#include "stance-json.h"
#include "stance-report.h"

#define GENERATOR "Stance " STANCE_VERSION

/* ======================================================================================
 * Shared helpers (declared in stance-bundle-private.h)
 * ====================================================================================== */

void
_stance_pseudonym(const char *uuid, char out[13])
{
  gchar *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, uuid ? uuid : "", -1);
  g_snprintf(out, 13, "ATH-%.8s", hex);
  g_free(hex);
}

void
_stance_pseudonym_birth(const char *birth_date, char out[11])
{
  if (!birth_date || strlen(birth_date) < 4) {
    out[0] = '\0';
    return;
  }
  g_snprintf(out, 11, "%.4s-07-01", birth_date);
}

void
_stance_set_error_from_core(GError **error, gint code, const StanceError *err, const char *what,
                            const char *path)
{
  const char *msg = err && err->message[0] ? err->message : "failed";
  if (strstr(msg, g_strerror(ENOSPC)) || strstr(msg, g_strerror(EDQUOT)))
    code = STANCE_STORE_ERROR_FULL;
  if (path && !strstr(msg, path))
    g_set_error(error, STANCE_STORE_ERROR, code, "%s '%s': %s", what, path, msg);
  else
    g_set_error(error, STANCE_STORE_ERROR, code, "%s: %s", what, msg);
}

/* ======================================================================================
 * Loading and analysing
 * ====================================================================================== */

/* "trial-NN-<protocol>[-<side>]": the stem of export file names and the analyses' input. */
static gchar *
trial_stem(const StanceStoreTrial *t)
{
  const char *proto = stance_protocol_name(t->protocol);
  if (t->side == STANCE_SIDE_LEFT || t->side == STANCE_SIDE_RIGHT)
    return g_strdup_printf("trial-%02d-%s-%s", t->number, proto, stance_side_name(t->side));
  return g_strdup_printf("trial-%02d-%s", t->number, proto);
}

static void
default_options_for(const StanceAthlete *athlete, StanceAnalysisOptions *o)
{
  stance_analysis_options_default(o);
  if (athlete && (athlete->involved == STANCE_SIDE_LEFT || athlete->involved == STANCE_SIDE_RIGHT))
    o->involved = athlete->involved;
}

/* Runs the analysis of one stored trial. */
static StanceAnalysis *
analyse_recording(const StanceStoreTrial *t, const StanceRecording *rec,
                  const StanceAnalysisOptions *o, GError **error)
{
  gchar *stem = trial_stem(t);
  StanceAnalysis *a = NULL;
  StanceError err = {0};
  if (stance_analyse(rec, stem, o, &a, &err) != STANCE_OK) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_ANALYSIS,
                "trial %d (%s) of session %" G_GINT64_FORMAT " cannot be analysed: %s", t->number,
                stance_protocol_name(t->protocol), t->session_id, err.message);
    a = NULL;
  }
  g_free(stem);
  return a;
}

void
stance_session_data_free(StanceSessionData *d)
{
  if (!d)
    return;
  stance_athlete_clear(&d->athlete);
  stance_session_clear(&d->session);
  if (d->trials)
    g_ptr_array_unref(d->trials);
  if (d->recordings)
    g_ptr_array_unref(d->recordings);
  if (d->analyses)
    g_ptr_array_unref(d->analyses);
  if (d->options)
    g_ptr_array_unref(d->options);
  g_free(d);
}

/* Loads the session; only_number > 0 keeps only that trial (whatever its acceptance). Without
 * analyse, d->analyses and d->options stay empty (exports of the raw data need neither). */
static StanceSessionData *
session_load(StanceStore *store, gint64 session_id, gboolean accepted_only, int only_number,
             gboolean analyse, GError **error)
{
  StanceSessionData *d = g_new0(StanceSessionData, 1);
  stance_athlete_init(&d->athlete);
  stance_session_init(&d->session);
  d->trials = g_ptr_array_new_with_free_func((GDestroyNotify)stance_store_trial_free);
  d->recordings = g_ptr_array_new_with_free_func((GDestroyNotify)stance_recording_free);
  d->analyses = g_ptr_array_new_with_free_func((GDestroyNotify)stance_analysis_free);
  d->options = g_ptr_array_new_with_free_func(g_free);
  if (!stance_store_session_get(store, session_id, &d->session, error) ||
      !stance_store_athlete_get(store, d->session.athlete_id, &d->athlete, error)) {
    stance_session_data_free(d);
    return NULL;
  }
  GPtrArray *trials = stance_store_trial_list(store, session_id, error);
  if (!trials) {
    stance_session_data_free(d);
    return NULL;
  }
  gboolean found_number = FALSE;
  for (guint i = 0; i < trials->len; i++) {
    StanceStoreTrial *t = g_ptr_array_index(trials, i);
    if (only_number > 0) {
      if (t->number != only_number)
        continue;
      found_number = TRUE;
    } else if (accepted_only && !t->accepted) {
      continue;
    }
    /* A trial being recorded is not finished; one without a sample has nothing to show. */
    if (t->state == STANCE_TRIAL_RECORDING || t->n_samples == 0) {
      if (only_number > 0) {
        g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                    "trial %d of session %" G_GINT64_FORMAT " %s", t->number, session_id,
                    t->state == STANCE_TRIAL_RECORDING ? "is still being recorded"
                                                       : "holds no sample");
        g_ptr_array_unref(trials);
        stance_session_data_free(d);
        return NULL;
      }
      continue;
    }
    StanceRecording *rec = stance_store_trial_read(store, t->id, error);
    if (!rec) {
      g_ptr_array_unref(trials);
      stance_session_data_free(d);
      return NULL;
    }
    if (!analyse) {
      g_ptr_array_add(d->trials, g_ptr_array_steal_index(trials, i));
      i--;
      g_ptr_array_add(d->recordings, rec);
      continue;
    }
    StanceAnalysisOptions o;
    gchar *text = NULL;
    StanceStoreAnalysis cur = {0};
    GError *e = NULL;
    if (stance_store_analysis_current(store, t->id, &cur, &e)) {
      StanceError err = {0};
      if (stance_analysis_options_from_text(&o, cur.options ? cur.options : "", &err) !=
          STANCE_OK) {
        g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                    "trial %d of session %" G_GINT64_FORMAT
                    ": the options of its analysis %" G_GINT64_FORMAT " cannot be read: %s",
                    t->number, session_id, cur.id, err.message);
        stance_store_analysis_clear(&cur);
        stance_recording_free(rec);
        g_ptr_array_unref(trials);
        stance_session_data_free(d);
        return NULL;
      }
      text = g_strdup(cur.options);
      stance_store_analysis_clear(&cur);
    } else if (g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
      g_clear_error(&e);
      default_options_for(&d->athlete, &o);
      char buf[1024];
      stance_analysis_options_to_text(&o, buf, sizeof buf);
      text = g_strdup(buf);
    } else {
      g_propagate_error(error, e);
      stance_recording_free(rec);
      g_ptr_array_unref(trials);
      stance_session_data_free(d);
      return NULL;
    }
    StanceAnalysis *a = analyse_recording(t, rec, &o, error);
    if (!a) {
      g_free(text);
      stance_recording_free(rec);
      g_ptr_array_unref(trials);
      stance_session_data_free(d);
      return NULL;
    }
    /* Move the trial out of the list into the data. */
    g_ptr_array_add(d->trials, g_ptr_array_steal_index(trials, i));
    i--;
    g_ptr_array_add(d->recordings, rec);
    g_ptr_array_add(d->analyses, a);
    g_ptr_array_add(d->options, text);
  }
  g_ptr_array_unref(trials);
  if (only_number > 0 && !found_number) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "session %" G_GINT64_FORMAT " has no trial %d", session_id, only_number);
    stance_session_data_free(d);
    return NULL;
  }
  return d;
}

StanceSessionData *
stance_session_load(StanceStore *store, gint64 session_id, gboolean accepted_only, GError **error)
{
  g_return_val_if_fail(store != NULL, NULL);
  return session_load(store, session_id, accepted_only, 0, TRUE, error);
}

gint64
stance_session_analyse_trial(StanceStore *store, gint64 trial_id, const StanceAnalysisOptions *opts,
                             StanceAnalysis **out, GError **error)
{
  g_return_val_if_fail(store != NULL, 0);
  if (out)
    *out = NULL;
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  if (!stance_store_trial_get(store, trial_id, &t, error))
    return 0;
  if (t.state == STANCE_TRIAL_RECORDING) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "trial %d of session %" G_GINT64_FORMAT
                " is still being recorded (expected a complete or interrupted trial)",
                t.number, t.session_id);
    stance_store_trial_clear(&t);
    return 0;
  }
  StanceAnalysisOptions o;
  if (opts) {
    o = *opts;
  } else {
    StanceSession s;
    StanceAthlete ath;
    stance_session_init(&s);
    stance_athlete_init(&ath);
    gboolean ok = stance_store_session_get(store, t.session_id, &s, error) &&
                  stance_store_athlete_get(store, s.athlete_id, &ath, error);
    if (ok)
      default_options_for(&ath, &o);
    stance_session_clear(&s);
    stance_athlete_clear(&ath);
    if (!ok) {
      stance_store_trial_clear(&t);
      return 0;
    }
  }
  StanceRecording *rec = stance_store_trial_read(store, trial_id, error);
  if (!rec) {
    stance_store_trial_clear(&t);
    return 0;
  }
  StanceAnalysis *a = analyse_recording(&t, rec, &o, error);
  stance_recording_free(rec);
  stance_store_trial_clear(&t);
  if (!a)
    return 0;
  char text[1024];
  stance_analysis_options_to_text(&o, text, sizeof text);
  gint64 id = stance_store_analysis_save(store, trial_id, a, text, error);
  if (id > 0 && out)
    *out = a;
  else
    stance_analysis_free(a);
  return id;
}

/* ======================================================================================
 * Export options and formats
 * ====================================================================================== */

static const char *const format_names[] = {
    [STANCE_EXPORT_CSV] = "csv", [STANCE_EXPORT_C3D] = "c3d",       [STANCE_EXPORT_JSON] = "json",
    [STANCE_EXPORT_PDF] = "pdf", [STANCE_EXPORT_BUNDLE] = "bundle",
};

const char *
stance_export_format_name(StanceExportFormat f)
{
  if ((int)f < 0 || (size_t)f >= G_N_ELEMENTS(format_names))
    return "unknown";
  return format_names[f];
}

gboolean
stance_export_format_from_name(const char *name, StanceExportFormat *out)
{
  if (!name)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS(format_names); i++) {
    if (g_ascii_strcasecmp(name, format_names[i]) == 0) {
      if (out)
        *out = (StanceExportFormat)i;
      return TRUE;
    }
  }
  return FALSE;
}

void
stance_export_options_default(StanceExportOptions *o)
{
  memset(o, 0, sizeof *o);
  o->trial_number = 0;
  o->include_rejected = FALSE;
  o->pseudonymise = FALSE;
  o->green_below_pct = 10.0;
  o->red_above_pct = 15.0;
  o->notes = NULL;
  o->now_unix_ms = 0;
}

/* ======================================================================================
 * The athlete as shown in an export
 * ====================================================================================== */

typedef struct {
  gchar *name;
  char birth_date[11];
  gboolean year_only;        /* print only the birth year */
  const char *injury_notes;  /* NULL when pseudonymised */
  const char *place;         /* NULL when pseudonymised */
  const char *session_notes; /* NULL when pseudonymised */
  gboolean pseudonymised;
} Shown;

static void
shown_init(Shown *s, const StanceSessionData *d, gboolean pseudonymise)
{
  memset(s, 0, sizeof *s);
  s->pseudonymised = pseudonymise || d->athlete.pseudonymised;
  if (pseudonymise) {
    char p[13];
    _stance_pseudonym(d->athlete.uuid, p);
    s->name = g_strdup(p);
    _stance_pseudonym_birth(d->athlete.birth_date, s->birth_date);
  } else {
    s->name = g_strdup(d->athlete.name);
    g_strlcpy(s->birth_date, d->athlete.birth_date, sizeof s->birth_date);
    s->injury_notes = d->athlete.injury_notes;
    s->place = d->session.place;
    s->session_notes = d->session.notes;
  }
  s->year_only = s->pseudonymised;
}

static void
shown_clear(Shown *s)
{
  g_free(s->name);
  s->name = NULL;
}

/* Replaces the athlete's name in the loaded recordings by what is shown. */
static void
shown_apply(const Shown *s, StanceSessionData *d)
{
  for (guint i = 0; i < d->recordings->len; i++) {
    StanceRecording *rec = g_ptr_array_index(d->recordings, i);
    g_strlcpy(rec->meta.athlete, s->name, sizeof rec->meta.athlete);
  }
}

/* "2026-11-24 09:30 (id 12)" in local time. */
static gchar *
session_label(const StanceSession *s)
{
  GDateTime *dt = g_date_time_new_from_unix_local(s->started_unix_ms / 1000);
  gchar *when = dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M") : g_strdup("unknown date");
  if (dt)
    g_date_time_unref(dt);
  gchar *label = g_strdup_printf("%s (id %" G_GINT64_FORMAT ")", when, s->id);
  g_free(when);
  return label;
}

/* ======================================================================================
 * Folders written whole
 * ====================================================================================== */

/* Fails unless path can become the export folder: missing, or an empty folder. */
static gboolean
folder_target_ok(const char *path, GError **error)
{
  GStatBuf st;
  if (g_stat(path, &st) != 0) {
    if (errno == ENOENT)
      return TRUE;
    int e = errno;
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO, "cannot export to '%s': %s", path,
                g_strerror(e));
    return FALSE;
  }
  if (!S_ISDIR(st.st_mode)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS,
                "cannot export to '%s': it exists and is not a folder (expected a new or empty "
                "folder)",
                path);
    return FALSE;
  }
  GDir *dir = g_dir_open(path, 0, NULL);
  gboolean empty = dir && g_dir_read_name(dir) == NULL;
  if (dir)
    g_dir_close(dir);
  if (!empty) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS,
                "cannot export to '%s': the folder is not empty (expected a new or empty folder; "
                "the export never overwrites files)",
                path);
    return FALSE;
  }
  return TRUE;
}

/* Fails unless a file can be created in the folder that will hold path: the folder exists and
 * a probe file (created and removed at once) gives no OS error. Checked before the session is
 * loaded and analysed, so a wrong path fails at once with the OS reason. */
static gboolean
output_parent_ok(const char *path, GError **error)
{
  gchar *parent = g_path_get_dirname(path);
  if (!g_file_test(parent, G_FILE_TEST_IS_DIR)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                "cannot export to '%s': the folder '%s' does not exist", path, parent);
    g_free(parent);
    return FALSE;
  }
  gboolean ok = FALSE;
  int e = EEXIST;
  for (int attempt = 0; attempt < 100 && e == EEXIST; attempt++) {
    gchar *probe = g_strdup_printf("%s/.stance-probe-%08x", parent, g_random_int());
    int fd = g_open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    e = fd >= 0 ? 0 : errno;
    if (fd >= 0) {
      close(fd);
      g_unlink(probe);
      ok = TRUE;
    }
    g_free(probe);
  }
  if (!ok)
    g_set_error(
        error, STANCE_STORE_ERROR, e == ENOSPC ? STANCE_STORE_ERROR_FULL : STANCE_STORE_ERROR_IO,
        "cannot export to '%s': cannot create a file in '%s': %s", path, parent, g_strerror(e));
  g_free(parent);
  return ok;
}

/* A new temporary folder ".<name>.XXXXXX" beside path. */
static gchar *
temp_folder_for(const char *path, GError **error)
{
  gchar *parent = g_path_get_dirname(path);
  gchar *base = g_path_get_basename(path);
  gchar *name = g_strdup_printf(".%s.XXXXXX", base);
  gchar *tmpl = g_build_filename(parent, name, NULL);
  g_free(name);
  g_free(base);
  if (!g_mkdtemp_full(tmpl, 0700)) {
    int e = errno;
    g_set_error(
        error, STANCE_STORE_ERROR, e == ENOSPC ? STANCE_STORE_ERROR_FULL : STANCE_STORE_ERROR_IO,
        "cannot export to '%s': cannot create a folder in '%s': %s", path, parent, g_strerror(e));
    g_free(tmpl);
    tmpl = NULL;
  }
  g_free(parent);
  return tmpl;
}

/* Removes a temporary folder and the files in it (it holds no sub-folder). */
static void
remove_folder(const char *dir)
{
  GDir *dh = g_dir_open(dir, 0, NULL);
  if (dh) {
    const char *n;
    while ((n = g_dir_read_name(dh)) != NULL) {
      gchar *p = g_build_filename(dir, n, NULL);
      g_unlink(p);
      g_free(p);
    }
    g_dir_close(dh);
  }
  g_rmdir(dir);
}

static void
fsync_folder(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* Renames the filled temporary folder to path (an empty folder there is replaced). */
static gboolean
commit_folder(const char *tmp, const char *path, GError **error)
{
  fsync_folder(tmp);
  if (g_rename(tmp, path) != 0) {
    int e = errno;
    g_set_error(error, STANCE_STORE_ERROR,
                e == ENOTEMPTY || e == EEXIST || e == ENOTDIR ? STANCE_STORE_ERROR_EXISTS
                                                              : STANCE_STORE_ERROR_IO,
                "cannot export to '%s': renaming the finished folder into place failed: %s", path,
                g_strerror(e));
    return FALSE;
  }
  gchar *parent = g_path_get_dirname(path);
  fsync_folder(parent);
  g_free(parent);
  return TRUE;
}

/* ======================================================================================
 * CSV
 * ====================================================================================== */

static void
csv_meta_for(StanceCsvMeta *m, const Shown *s, const char *session_lbl, int trial_number,
             gint64 now)
{
  memset(m, 0, sizeof *m);
  m->athlete = s->name;
  m->session = session_lbl;
  m->trial_number = trial_number;
  m->generator = GENERATOR;
  m->exported_unix_ms = now;
}

/* Writes one file atomically through fn; messages name label (the path the user gave, with the
 * file's name inside a folder export). */
typedef int (*CsvWriteFunc)(FILE *fp, gpointer user, StanceError *err);

static gboolean
write_atomic(const char *path, const char *label, CsvWriteFunc fn, gpointer user, GError **error)
{
  StanceAtomicFile f = {0};
  StanceError err = {0};
  if (stance_atomic_open(&f, path, &err) != STANCE_OK) {
    _stance_set_error_from_core(error, STANCE_STORE_ERROR_IO, &err, "CSV export", label);
    return FALSE;
  }
  if (fn(f.fp, user, &err) != STANCE_OK) {
    stance_atomic_abort(&f);
    _stance_set_error_from_core(error, STANCE_STORE_ERROR_IO, &err, "CSV export", label);
    return FALSE;
  }
  if (stance_atomic_commit(&f, &err) != STANCE_OK) {
    _stance_set_error_from_core(error, STANCE_STORE_ERROR_IO, &err, "CSV export", label);
    return FALSE;
  }
  return TRUE;
}

typedef struct {
  const StanceRecording *rec;
  const StanceCsvMeta *meta;
} RecJob;

static int
write_rec_csv(FILE *fp, gpointer user, StanceError *err)
{
  RecJob *j = user;
  return stance_csv_write_recording(fp, j->rec, j->meta, err);
}

typedef struct {
  const StanceAnalysis *const *as;
  const int *numbers;
  size_t n;
  const StanceCsvMeta *meta;
} ResJob;

static int
write_res_csv(FILE *fp, gpointer user, StanceError *err)
{
  ResJob *j = user;
  return stance_csv_write_results(fp, j->as, j->numbers, j->n, j->meta, err);
}

static gboolean
export_csv(StanceSessionData *d, const char *path, const StanceExportOptions *opt, gint64 now,
           GError **error)
{
  Shown s;
  shown_init(&s, d, opt->pseudonymise);
  shown_apply(&s, d);
  gchar *label = session_label(&d->session);
  gboolean ok = TRUE;
  if (opt->trial_number > 0) {
    StanceCsvMeta m;
    csv_meta_for(&m, &s, label, opt->trial_number, now);
    RecJob j = {g_ptr_array_index(d->recordings, 0), &m};
    ok = write_atomic(path, path, write_rec_csv, &j, error);
  } else if ((ok = folder_target_ok(path, error))) {
    gchar *tmp = temp_folder_for(path, error);
    ok = tmp != NULL;
    for (guint i = 0; ok && i < d->trials->len; i++) {
      const StanceStoreTrial *t = g_ptr_array_index(d->trials, i);
      gchar *stem = trial_stem(t);
      gchar *name = g_strdup_printf("%s.csv", stem);
      gchar *file = g_build_filename(tmp, name, NULL);
      StanceCsvMeta m;
      csv_meta_for(&m, &s, label, t->number, now);
      RecJob j = {g_ptr_array_index(d->recordings, i), &m};
      gchar *shown_path = g_build_filename(path, name, NULL);
      ok = write_atomic(file, shown_path, write_rec_csv, &j, error);
      g_free(shown_path);
      g_free(file);
      g_free(name);
      g_free(stem);
    }
    if (ok) {
      int *numbers = g_new0(int, d->trials->len + 1);
      for (guint i = 0; i < d->trials->len; i++)
        numbers[i] = ((const StanceStoreTrial *)g_ptr_array_index(d->trials, i))->number;
      StanceCsvMeta m;
      csv_meta_for(&m, &s, label, 0, now);
      ResJob j = {(const StanceAnalysis *const *)d->analyses->pdata, numbers, d->analyses->len, &m};
      gchar *file = g_build_filename(tmp, "results.csv", NULL);
      gchar *shown_path = g_build_filename(path, "results.csv", NULL);
      ok = write_atomic(file, shown_path, write_res_csv, &j, error);
      g_free(shown_path);
      g_free(file);
      g_free(numbers);
    }
    if (ok)
      ok = commit_folder(tmp, path, error);
    if (!ok && tmp)
      remove_folder(tmp);
    g_free(tmp);
  }
  g_free(label);
  shown_clear(&s);
  return ok;
}

/* ======================================================================================
 * C3D
 * ====================================================================================== */

static gboolean
c3d_write(const StanceRecording *rec, const char *path, GError **error)
{
  StanceError err = {0};
  if (stance_c3d_write(rec, path, &err) != STANCE_OK) {
    _stance_set_error_from_core(error, STANCE_STORE_ERROR_IO, &err, "C3D export", path);
    return FALSE;
  }
  return TRUE;
}

static gboolean
export_c3d(StanceSessionData *d, const char *path, const StanceExportOptions *opt, GError **error)
{
  Shown s;
  shown_init(&s, d, opt->pseudonymise);
  shown_apply(&s, d);
  gboolean ok;
  if (opt->trial_number > 0) {
    ok = c3d_write(g_ptr_array_index(d->recordings, 0), path, error);
  } else if ((ok = folder_target_ok(path, error))) {
    gchar *tmp = temp_folder_for(path, error);
    ok = tmp != NULL;
    for (guint i = 0; ok && i < d->trials->len; i++) {
      gchar *stem = trial_stem(g_ptr_array_index(d->trials, i));
      gchar *name = g_strdup_printf("%s.c3d", stem);
      gchar *file = g_build_filename(tmp, name, NULL);
      ok = c3d_write(g_ptr_array_index(d->recordings, i), file, error);
      g_free(file);
      g_free(name);
      g_free(stem);
    }
    if (ok)
      ok = commit_folder(tmp, path, error);
    if (!ok && tmp)
      remove_folder(tmp);
    g_free(tmp);
  }
  shown_clear(&s);
  return ok;
}

/* ======================================================================================
 * JSON
 * ====================================================================================== */

static void
json_kv_opt(StanceJson *j, const char *key, const char *s)
{
  if (s && *s)
    stance_json_kv_string(j, key, s);
}

/* "2026-11-24T09:30:00Z" (UTC). */
static gchar *
iso_utc(gint64 unix_ms)
{
  GDateTime *dt = g_date_time_new_from_unix_utc(unix_ms / 1000);
  if (!dt)
    return g_strdup("");
  gchar *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
  g_date_time_unref(dt);
  return s;
}

/* The "session" object of the JSON export. */
static void
json_session(StanceJson *j, const StanceSessionData *d, const Shown *s, gint64 now)
{
  stance_json_begin_object(j);
  stance_json_kv_int(j, "id", d->session.id);
  stance_json_kv_string(j, "uuid", d->session.uuid);
  stance_json_kv_int(j, "started_unix_ms", d->session.started_unix_ms);
  gchar *when = iso_utc(d->session.started_unix_ms);
  stance_json_kv_string(j, "started", when);
  g_free(when);
  json_kv_opt(j, "place", s->place);
  json_kv_opt(j, "notes", s->session_notes);
  stance_json_kv_string(j, "generator", GENERATOR);
  stance_json_kv_int(j, "exported_unix_ms", now);

  stance_json_key(j, "athlete");
  stance_json_begin_object(j);
  stance_json_kv_string(j, "uuid", d->athlete.uuid);
  stance_json_kv_string(j, "name", s->name);
  if (s->birth_date[0]) {
    if (s->year_only) {
      char y[5];
      g_strlcpy(y, s->birth_date, sizeof y);
      stance_json_kv_int(j, "birth_year", g_ascii_strtoll(y, NULL, 10));
    } else {
      stance_json_kv_string(j, "birth_date", s->birth_date);
    }
  }
  stance_json_kv_string(j, "sex", stance_sex_name(d->athlete.sex));
  stance_json_kv_string(j, "dominant", stance_side_name(d->athlete.dominant));
  stance_json_kv_string(j, "involved", stance_side_name(d->athlete.involved));
  json_kv_opt(j, "injury_date", d->athlete.injury_date);
  json_kv_opt(j, "injury_notes", s->injury_notes);
  stance_json_kv_bool(j, "pseudonymised", s->pseudonymised);
  stance_json_end_object(j);

  stance_json_key(j, "trials");
  stance_json_begin_array(j);
  for (guint i = 0; i < d->trials->len; i++) {
    const StanceStoreTrial *t = g_ptr_array_index(d->trials, i);
    stance_json_begin_object(j);
    stance_json_kv_int(j, "number", t->number);
    stance_json_kv_string(j, "uuid", t->uuid);
    stance_json_kv_string(j, "protocol", stance_protocol_name(t->protocol));
    stance_json_kv_string(j, "side", stance_side_name(t->side));
    stance_json_kv_string(j, "state", stance_trial_state_name(t->state));
    stance_json_kv_bool(j, "accepted", t->accepted);
    if (!t->accepted)
      json_kv_opt(j, "reject_reason", t->reject_reason);
    json_kv_opt(j, "note", t->note);
    stance_json_kv_int(j, "started_unix_ms", t->started_unix_ms);
    stance_json_kv_int(j, "n_samples", (gint64)t->n_samples);
    stance_json_kv_int(j, "gap_samples", (gint64)t->gap_samples);
    stance_json_kv_number(j, "sample_rate_hz", t->sample_rate_hz);
    json_kv_opt(j, "calibration_id", t->calibration_id);
    stance_json_kv_string(j, "analysis_options", g_ptr_array_index(d->options, i));
    stance_json_kv_int(j, "analysis_index", i);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_end_object(j);
}

/* Reads a memory stream's buffer after fclose; returns FALSE with error on a write failure. */
static gboolean
close_memstream(FILE *fp, char **buf, GError **error)
{
  if (fclose(fp) != 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                "JSON export: out of memory building the document");
    free(*buf);
    *buf = NULL;
    return FALSE;
  }
  return TRUE;
}

static gboolean
export_json(StanceSessionData *d, const char *path, const StanceExportOptions *opt, gint64 now,
            GError **error)
{
  Shown s;
  shown_init(&s, d, opt->pseudonymise);
  shown_apply(&s, d);
  char *doc = NULL, *sess = NULL;
  size_t doc_len = 0, sess_len = 0;
  gboolean ok = FALSE;
  StanceError err = {0};

  /* The analyses: the document of `stance-cli analyse --format json` with several inputs. */
  FILE *fp = open_memstream(&doc, &doc_len);
  FILE *fs = fp ? open_memstream(&sess, &sess_len) : NULL;
  if (!fp || !fs) {
    if (fp)
      fclose(fp);
    free(doc);
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                "JSON export: out of memory building the document");
    shown_clear(&s);
    return FALSE;
  }
  int r = stance_analysis_write_json_many((StanceAnalysis *const *)d->analyses->pdata,
                                          d->analyses->len, fp, true, &err);
  /* The session object, written at top level and indented below by one level. */
  StanceJson *j = stance_json_new(fs, true);
  StanceError jerr = {0};
  int rj = STANCE_ENOMEM;
  if (j) {
    json_session(j, d, &s, now);
    rj = stance_json_finish(j, &jerr);
  }
  gboolean closed = close_memstream(fp, &doc, error);
  closed = close_memstream(fs, &sess, closed ? error : NULL) && closed;
  if (!closed)
    goto out;
  if (r != STANCE_OK || rj != STANCE_OK) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO, "JSON export to '%s': %s", path,
                r != STANCE_OK ? err.message : jerr.message);
    goto out;
  }
  /* Splice: the document's closing brace becomes ', "session": {...} }'. */
  size_t end = doc_len;
  while (end > 0 && (doc[end - 1] == '\n' || doc[end - 1] == ' '))
    end--;
  if (end == 0 || doc[end - 1] != '}') {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                "JSON export to '%s': the analysis document does not end with '}'", path);
    goto out;
  }
  end--;
  while (end > 0 && (doc[end - 1] == '\n' || doc[end - 1] == ' '))
    end--;
  GString *out = g_string_sized_new(doc_len + sess_len * 2 + 64);
  g_string_append_len(out, doc, (gssize)end);
  g_string_append(out, ",\n  \"session\": ");
  size_t sl = sess_len;
  while (sl > 0 && sess[sl - 1] == '\n')
    sl--;
  for (size_t k = 0; k < sl; k++) {
    g_string_append_c(out, sess[k]);
    if (sess[k] == '\n')
      g_string_append(out, "  ");
  }
  g_string_append(out, "\n}\n");
  StanceError werr = {0};
  if (stance_atomic_write(path, out->str, out->len, &werr) != STANCE_OK)
    _stance_set_error_from_core(error, STANCE_STORE_ERROR_IO, &werr, "JSON export", path);
  else
    ok = TRUE;
  g_string_free(out, TRUE);
out:
  free(doc);
  free(sess);
  shown_clear(&s);
  return ok;
}

/* ======================================================================================
 * PDF
 * ====================================================================================== */

/* The athlete's body mass at the session: the latest entry measured on or before the session's
 * day, else the first one after it; <= 0 when none was ever entered. */
static double
mass_at(StanceStore *store, const StanceSessionData *d, GError **error, gboolean *failed)
{
  *failed = FALSE;
  GArray *masses = stance_store_athlete_masses(store, d->athlete.id, error);
  if (!masses) {
    *failed = TRUE;
    return 0.0;
  }
  gint64 limit = d->session.started_unix_ms + 24 * 3600 * (gint64)1000;
  double before = 0.0, after = 0.0;
  for (guint i = 0; i < masses->len; i++) {
    const StanceMassEntry *m = &g_array_index(masses, StanceMassEntry, i);
    if (m->measured_unix_ms <= limit)
      before = m->mass_kg;
    else if (after <= 0.0)
      after = m->mass_kg;
  }
  g_array_unref(masses);
  return before > 0.0 ? before : after;
}

static gboolean
export_pdf(StanceStore *store, StanceSessionData *d, const char *path,
           const StanceExportOptions *opt, gint64 now, GError **error)
{
  Shown s;
  shown_init(&s, d, opt->pseudonymise);
  shown_apply(&s, d);
  gboolean failed;
  double mass = mass_at(store, d, error, &failed);
  if (failed) {
    shown_clear(&s);
    return FALSE;
  }
  guint n = d->trials->len;
  StanceReportTrial *rt = g_new0(StanceReportTrial, n + 1);
  for (guint i = 0; i < n; i++) {
    const StanceStoreTrial *t = g_ptr_array_index(d->trials, i);
    rt[i].number = t->number;
    rt[i].rec = g_ptr_array_index(d->recordings, i);
    rt[i].an = g_ptr_array_index(d->analyses, i);
    rt[i].accepted = t->accepted;
    rt[i].reject_reason = t->accepted ? NULL : t->reject_reason;
    rt[i].interrupted = t->state == STANCE_TRIAL_INTERRUPTED;
  }

  /* Trends: the headline metric of each protocol of this session over the athlete's sessions. */
  GArray *trends = g_array_new(FALSE, TRUE, sizeof(StanceReportTrend));
  GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
  GPtrArray *store_trends = g_ptr_array_new_with_free_func((GDestroyNotify)stance_trend_free);
  gboolean ok = TRUE;
  for (guint i = 0; i < n && ok; i++) {
    const StanceStoreTrial *t = g_ptr_array_index(d->trials, i);
    gboolean seen = FALSE;
    for (guint k = 0; k < i; k++)
      if (((const StanceStoreTrial *)g_ptr_array_index(d->trials, k))->protocol == t->protocol)
        seen = TRUE;
    const char *metric = stance_report_headline_metric(t->protocol);
    if (seen || !metric || t->protocol == STANCE_PROTO_UNKNOWN)
      continue;
    GError *e = NULL;
    StanceTrend *tr = stance_store_trend(store, d->athlete.id, t->protocol, metric, &e);
    if (!tr) {
      if (g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
        g_clear_error(&e); /* no session has the metric yet: no trend to draw */
        continue;
      }
      g_propagate_error(error, e);
      ok = FALSE;
      break;
    }
    g_ptr_array_add(store_trends, tr);
    StanceReportTrendPoint *pts = g_new0(StanceReportTrendPoint, tr->points->len + 1);
    g_ptr_array_add(owned, pts);
    size_t np = 0;
    for (guint k = 0; k < tr->points->len; k++) {
      const StanceTrendPoint *p = &g_array_index(tr->points, StanceTrendPoint, k);
      if (!p->has_asym)
        continue;
      pts[np].started_unix_ms = p->started_unix_ms;
      pts[np].asym = p->asym_mean;
      pts[np].stronger = p->stronger;
      pts[np].left = p->left_mean;
      pts[np].right = p->right_mean;
      pts[np].has_left = p->has_left;
      pts[np].has_right = p->has_right;
      pts[np].is_this_session = p->session_id == d->session.id;
      np++;
    }
    if (np == 0)
      continue;
    StanceReportTrend rtr;
    memset(&rtr, 0, sizeof rtr);
    rtr.protocol = tr->protocol;
    g_strlcpy(rtr.metric, tr->metric, sizeof rtr.metric);
    g_strlcpy(rtr.unit, tr->unit, sizeof rtr.unit);
    g_strlcpy(rtr.formula, tr->formula, sizeof rtr.formula);
    rtr.points = pts;
    rtr.n_points = np;
    rtr.has_mdc = tr->has_mdc_asym;
    rtr.mdc95 = tr->has_mdc_asym ? tr->mdc95_asym : 0.0;
    g_array_append_val(trends, rtr);
  }

  if (ok) {
    const StanceRecording *first = n > 0 ? g_ptr_array_index(d->recordings, 0) : NULL;
    StanceReport rep;
    memset(&rep, 0, sizeof rep);
    rep.athlete_name = s.name;
    rep.birth_date = s.birth_date[0] ? s.birth_date : NULL;
    rep.birth_year_only = s.year_only;
    rep.sex = d->athlete.sex != STANCE_SEX_UNKNOWN ? stance_sex_name(d->athlete.sex) : NULL;
    rep.body_mass_kg = mass;
    rep.dominant = d->athlete.dominant;
    rep.involved = d->athlete.involved;
    rep.injury_date = d->athlete.injury_date[0] ? d->athlete.injury_date : NULL;
    rep.injury_notes = s.injury_notes;
    rep.session_unix_ms = d->session.started_unix_ms;
    rep.place = s.place;
    rep.board_serial = first && first->meta.board_serial[0] ? first->meta.board_serial : NULL;
    rep.calibration_id = first && first->has_calibration && first->calib.id[0] ? first->calib.id
                         : first && first->meta.calibration_id[0] ? first->meta.calibration_id
                                                                  : NULL;
    rep.trials = rt;
    rep.n_trials = n;
    rep.trends = (const StanceReportTrend *)trends->data;
    rep.n_trends = trends->len;
    rep.notes = opt->notes ? opt->notes : s.session_notes;
    rep.green_below_pct = opt->green_below_pct;
    rep.red_above_pct = opt->red_above_pct;
    rep.generated_unix_ms = now;
    rep.generator = GENERATOR;
    StanceError err = {0};
    if (stance_report_write_pdf(&rep, path, &err) != STANCE_OK) {
      _stance_set_error_from_core(
          error, err.code == STANCE_EIO ? STANCE_STORE_ERROR_IO : STANCE_STORE_ERROR_INVALID, &err,
          "PDF report", path);
      ok = FALSE;
    }
  }
  g_array_unref(trends);
  g_ptr_array_unref(owned);
  g_ptr_array_unref(store_trends);
  g_free(rt);
  shown_clear(&s);
  return ok;
}

/* ======================================================================================
 * Export
 * ====================================================================================== */

static gboolean
session_export(StanceStore *store, gint64 session_id, StanceExportFormat f, const char *path,
               const StanceExportOptions *opt, GError **error)
{
  if (!path || !*path) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "export: no output path given");
    return FALSE;
  }
  StanceExportOptions def;
  if (!opt) {
    stance_export_options_default(&def);
    opt = &def;
  }
  if (opt->trial_number < 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "export: trial number %d (expected 0 for every trial, or a trial's number)",
                opt->trial_number);
    return FALSE;
  }
  if (f == STANCE_EXPORT_PDF &&
      !(opt->green_below_pct > 0.0 && opt->green_below_pct <= opt->red_above_pct &&
        opt->red_above_pct <= 100.0)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "export: traffic-light bands green below %g %% and red above %g %% (expected 0 < "
                "green <= red <= 100)",
                opt->green_below_pct, opt->red_above_pct);
    return FALSE;
  }
  gint64 now = opt->now_unix_ms ? opt->now_unix_ms : g_get_real_time() / 1000;
  if (f == STANCE_EXPORT_BUNDLE)
    return _stance_bundle_export(store, session_id, path, opt, error);
  if ((int)f < 0 || f > STANCE_EXPORT_BUNDLE) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "export: unknown format %d (expected csv, c3d, json, pdf or bundle)", (int)f);
    return FALSE;
  }
  /* Refuse an impossible target before the (re-)analysis of every trial. */
  gboolean folder = (f == STANCE_EXPORT_CSV || f == STANCE_EXPORT_C3D) && opt->trial_number == 0;
  if (!output_parent_ok(path, error) || (folder && !folder_target_ok(path, error)))
    return FALSE;
  int only = f == STANCE_EXPORT_PDF ? 0 : opt->trial_number;
  /* Raw-data exports (C3D, one trial's CSV) need no analysis. */
  gboolean analyse = !(f == STANCE_EXPORT_C3D || (f == STANCE_EXPORT_CSV && only > 0));
  StanceSessionData *d =
      session_load(store, session_id, !opt->include_rejected, only, analyse, error);
  if (!d)
    return FALSE;
  gboolean ok = FALSE;
  switch (f) {
  case STANCE_EXPORT_CSV: ok = export_csv(d, path, opt, now, error); break;
  case STANCE_EXPORT_C3D: ok = export_c3d(d, path, opt, error); break;
  case STANCE_EXPORT_JSON: ok = export_json(d, path, opt, now, error); break;
  case STANCE_EXPORT_PDF: ok = export_pdf(store, d, path, opt, now, error); break;
  case STANCE_EXPORT_BUNDLE: break;
  }
  stance_session_data_free(d);
  return ok;
}

gboolean
stance_session_export(StanceStore *store, gint64 session_id, StanceExportFormat f, const char *path,
                      const StanceExportOptions *opt, GError **error)
{
  g_return_val_if_fail(store != NULL, FALSE);
  /* "out/" names the folder "out": trailing slashes would make its parent "out" itself. */
  gchar *trimmed = g_strdup(path);
  if (trimmed) {
    size_t n = strlen(trimmed);
    while (n > 1 && trimmed[n - 1] == '/')
      trimmed[--n] = '\0';
  }
  gboolean ok = session_export(store, session_id, f, trimmed, opt, error);
  g_free(trimmed);
  return ok;
}
