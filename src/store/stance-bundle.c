/* stance-bundle.c: a session as one file another Stance imports losslessly (see stance-session.h
 * and docs/exports.md, "Bundle").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A bundle is a store file (the store's own schema, application id 'STNC') holding one session:
 * its athlete with the body-mass history, the session, every finished trial with its raw samples
 * exactly as recorded, every analysis run of each trial with its result rows, and the
 * calibration records the trials used. Both directions go through the public store interface
 * only, so a bundle is whatever the schema of this Stance is, and a newer Stance migrates an older
 * bundle when it opens it.
 *
 * Export: a new store at a temporary name beside the target (MUST_CREATE), filled, closed (SQLite
 * then checkpoints and removes its WAL), made private (0600: health data) and renamed into place.
 * A failure removes the temporary file; an existing file at the target stays untouched.
 *
 * Pseudonymised export: the athlete's name becomes "ATH-" + 8 hex digits of SHA-256(uuid), the
 * birth date "YYYY-07-01" (mid-year: an age from it is right within six months; January 1 when
 * July 1 would lie after today or after the injury date), injury notes, session place and session
 * notes are dropped (free text may name people), every recording's meta.athlete becomes the
 * pseudonym, and the words of the real name (3 letters or more, any case) are replaced by the
 * pseudonym wherever free text is kept (recording source and metadata values, trial notes and
 * reject reasons, e.g. an imported file named after the athlete). The uuid stays so that the
 * clinic holding the original can re-link; the recipient cannot.
 *
 * Import: the file must be a SQLite database (its 16-byte header) that opens as a Stance store
 * (read-only, no recovery), passes stance_store_check() (integrity and every chunk's CRC) and
 * holds exactly one session with one athlete. Everything is read from the bundle and checked
 * before the first write to the target, so a refused bundle leaves the target untouched.
 *
 * Threads: as the store, one thread at a time.
 */
#include "stance-bundle-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ======================================================================================
 * Pseudonymisation of free text
 * ====================================================================================== */

/* The words of name that identify (3 bytes or more, split at blanks and punctuation). */
static GPtrArray *
name_words(const char *name)
{
  GPtrArray *w = g_ptr_array_new_with_free_func(g_free);
  if (!name)
    return w;
  const char *p = name;
  while (*p) {
    while (*p && (g_ascii_isspace(*p) || g_ascii_ispunct(*p)))
      p++;
    const char *s = p;
    while (*p && !(g_ascii_isspace(*p) || g_ascii_ispunct(*p)))
      p++;
    if (p - s >= 3)
      g_ptr_array_add(w, g_strndup(s, (gsize)(p - s)));
  }
  return w;
}

/* s with every occurrence of the words (ASCII case ignored) replaced by pseudonym; a new string. */
static gchar *
scrub(const char *s, const GPtrArray *words, const char *pseudonym)
{
  if (!s)
    return NULL;
  GString *out = g_string_new(NULL);
  const char *p = s;
  while (*p) {
    gboolean hit = FALSE;
    for (guint k = 0; k < words->len; k++) {
      const char *w = g_ptr_array_index(words, k);
      size_t n = strlen(w);
      if (g_ascii_strncasecmp(p, w, n) == 0) {
        g_string_append(out, pseudonym);
        p += n;
        hit = TRUE;
        break;
      }
    }
    if (!hit)
      g_string_append_c(out, *p++);
  }
  return g_string_free(out, FALSE);
}

/* Replaces a fixed-size field in place. */
static void
scrub_into(char *field, gsize size, const GPtrArray *words, const char *pseudonym)
{
  gchar *s = scrub(field, words, pseudonym);
  g_strlcpy(field, s, size);
  g_free(s);
}

/* Replaces a gchar* field in place. */
static void
scrub_str(gchar **field, const GPtrArray *words, const char *pseudonym)
{
  if (!*field)
    return;
  gchar *s = scrub(*field, words, pseudonym);
  g_free(*field);
  *field = s;
}

/* The pseudonymised birth date: July 1 of the year, or January 1 when July 1 would lie after
 * today or after the injury date (the store refuses both). */
static void
pseudo_birth(const StanceAthlete *a, char out[11])
{
  _stance_pseudonym_birth(a->birth_date, out);
  if (!out[0])
    return;
  GDateTime *now = g_date_time_new_now_local();
  gchar *today = g_date_time_format(now, "%Y-%m-%d");
  g_date_time_unref(now);
  if (strcmp(out, today) > 0 || (a->injury_date[0] && strcmp(out, a->injury_date) > 0))
    g_snprintf(out, 11, "%.4s-01-01", a->birth_date);
  g_free(today);
}

/* ======================================================================================
 * Calibration records
 * ====================================================================================== */

static void
record_from_store(const StanceStoreCalibration *c, StanceCalibRecord *r)
{
  memset(r, 0, sizeof *r);
  r->format_version = STANCE_CALIB_RECORD_VERSION;
  g_strlcpy(r->id, c->id, sizeof r->id);
  g_strlcpy(r->board_serial, c->board_serial, sizeof r->board_serial);
  r->sequence = c->sequence;
  r->created_unix_ms = c->created_unix_ms;
  g_strlcpy(r->plan_name, c->plan_name, sizeof r->plan_name);
  r->plan_steps = c->plan_steps;
  g_strlcpy(r->fit_method, c->fit_method, sizeof r->fit_method);
  r->gravity_m_s2 = c->gravity_m_s2;
  r->calibration = c->calibration;
  memcpy(r->gain_se_n_per_count, c->gain_se_n_per_count, sizeof r->gain_se_n_per_count);
  memcpy(r->offset_se_counts, c->offset_se_counts, sizeof r->offset_se_counts);
  memcpy(r->full_scale_n, c->full_scale_n, sizeof r->full_scale_n);
  memcpy(r->residual_rms_n, c->residual_rms_n, sizeof r->residual_rms_n);
  memcpy(r->force_error_pct_fs, c->force_error_pct_fs, sizeof r->force_error_pct_fs);
  memcpy(r->cop_error_mm, c->cop_error_mm, sizeof r->cop_error_mm);
  memcpy(r->nonlinearity_pct_fs, c->nonlinearity_pct_fs, sizeof r->nonlinearity_pct_fs);
  memcpy(r->hysteresis_pct_fs, c->hysteresis_pct_fs, sizeof r->hysteresis_pct_fs);
  memcpy(r->zero_return_pct_fs, c->zero_return_pct_fs, sizeof r->zero_return_pct_fs);
  r->n_faults = c->n_faults;
  r->passed = c->passed;
}

/* Copies calibration c into dst (with its board-write mark) unless dst has it already. */
static gboolean
copy_calibration(StanceStore *dst, const StanceStoreCalibration *c, GError **error)
{
  StanceStoreCalibration have = {0};
  GError *e = NULL;
  if (stance_store_calibration_get(dst, c->id, &have, &e)) {
    stance_store_calibration_clear(&have);
    return TRUE;
  }
  if (!g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
    g_propagate_error(error, e);
    return FALSE;
  }
  g_clear_error(&e);
  StanceCalibRecord r;
  record_from_store(c, &r);
  if (!stance_store_calibration_save(dst, &r, c->result_json, error))
    return FALSE;
  if (c->written_to_board_unix_ms > 0 &&
      !stance_store_calibration_mark_written(dst, c->id, c->written_to_board_unix_ms, error))
    return FALSE;
  return TRUE;
}

/* ======================================================================================
 * What one session is, read whole from a store
 * ====================================================================================== */

typedef struct {
  StanceStoreAnalysis meta;
  GArray *rows; /* StanceResultRow */
} Run;

static void
run_free(Run *r)
{
  stance_store_analysis_clear(&r->meta);
  if (r->rows)
    g_array_unref(r->rows);
  g_free(r);
}

typedef struct {
  StanceStoreTrial *trial;
  StanceRecording *rec;
  GPtrArray *runs; /* Run*, the current one last */
} TrialCopy;

static void
trial_copy_free(TrialCopy *t)
{
  if (t->trial)
    stance_store_trial_free(t->trial);
  stance_recording_free(t->rec);
  if (t->runs)
    g_ptr_array_unref(t->runs);
  g_free(t);
}

typedef struct {
  StanceAthlete athlete;
  GArray *masses; /* StanceMassEntry */
  StanceSession session;
  GPtrArray *trials;       /* TrialCopy* */
  GPtrArray *calibrations; /* StanceStoreCalibration* */
} SessionCopy;

static void
session_copy_clear(SessionCopy *s)
{
  stance_athlete_clear(&s->athlete);
  stance_session_clear(&s->session);
  if (s->masses)
    g_array_unref(s->masses);
  if (s->trials)
    g_ptr_array_unref(s->trials);
  if (s->calibrations)
    g_ptr_array_unref(s->calibrations);
  s->masses = NULL;
  s->trials = s->calibrations = NULL;
}

/* Reads session_id of src whole: athlete, masses, session, finished trials with recordings and
 * every analysis run (current last), and the calibration records the trials name (those src
 * has). */
static gboolean
session_copy_read(StanceStore *src, gint64 session_id, SessionCopy *out, GError **error)
{
  memset(out, 0, sizeof *out);
  stance_athlete_init(&out->athlete);
  stance_session_init(&out->session);
  out->trials = g_ptr_array_new_with_free_func((GDestroyNotify)trial_copy_free);
  out->calibrations = g_ptr_array_new_with_free_func((GDestroyNotify)stance_store_calibration_free);
  if (!stance_store_session_get(src, session_id, &out->session, error) ||
      !stance_store_athlete_get(src, out->session.athlete_id, &out->athlete, error))
    return FALSE;
  out->masses = stance_store_athlete_masses(src, out->athlete.id, error);
  if (!out->masses)
    return FALSE;
  GPtrArray *trials = stance_store_trial_list(src, session_id, error);
  if (!trials)
    return FALSE;
  gboolean ok = TRUE;
  for (guint i = 0; i < trials->len && ok; i++) {
    StanceStoreTrial *t = g_ptr_array_index(trials, i);
    if (t->state == STANCE_TRIAL_RECORDING)
      continue; /* still being written by a recorder: not part of a finished session */
    TrialCopy *tc = g_new0(TrialCopy, 1);
    tc->runs = g_ptr_array_new_with_free_func((GDestroyNotify)run_free);
    g_ptr_array_add(out->trials, tc);
    tc->trial = g_ptr_array_steal_index(trials, i);
    i--;
    tc->rec = stance_store_trial_read(src, tc->trial->id, error);
    if (!tc->rec) {
      ok = FALSE;
      break;
    }
    GPtrArray *runs = stance_store_analysis_list(src, tc->trial->id, error);
    if (!runs) {
      ok = FALSE;
      break;
    }
    Run *current = NULL;
    for (guint k = 0; k < runs->len && ok; k++) {
      StanceStoreAnalysis *m = g_ptr_array_index(runs, k);
      Run *r = g_new0(Run, 1);
      r->meta = *m;
      memset(m, 0, sizeof *m); /* moved */
      r->rows = stance_store_results(src, r->meta.id, error);
      if (!r->rows) {
        run_free(r);
        ok = FALSE;
        break;
      }
      /* The current run is put last: it is the trial's current run in the copy too, whether
       * analysis_put makes the newest run current or keeps the flag it is given. */
      if (r->meta.current && !current)
        current = r;
      else
        g_ptr_array_add(tc->runs, r);
    }
    if (current)
      g_ptr_array_add(tc->runs, current);
    g_ptr_array_unref(runs);
    /* The trial's calibration record, once. */
    const char *cid = tc->trial->calibration_id;
    gboolean have = cid[0] == '\0';
    for (guint k = 0; k < out->calibrations->len && !have; k++)
      have =
          strcmp(((StanceStoreCalibration *)g_ptr_array_index(out->calibrations, k))->id, cid) == 0;
    if (ok && !have) {
      StanceStoreCalibration *c = g_new0(StanceStoreCalibration, 1);
      GError *e = NULL;
      if (stance_store_calibration_get(src, cid, c, &e)) {
        g_ptr_array_add(out->calibrations, c);
      } else {
        g_free(c);
        if (g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
          g_clear_error(&e); /* the recording carries its calibration; the record is extra */
        } else {
          g_propagate_error(error, e);
          ok = FALSE;
        }
      }
    }
  }
  g_ptr_array_unref(trials);
  return ok;
}

/* Writes the copy into dst under athlete_id (the athlete exists there already). Returns the new
 * session id, 0 on error. */
static gint64
session_copy_write(StanceStore *dst, const SessionCopy *s, gint64 athlete_id, GError **error)
{
  for (guint i = 0; i < s->calibrations->len; i++)
    if (!copy_calibration(dst, g_ptr_array_index(s->calibrations, i), error))
      return 0;
  StanceSession ns = s->session;
  ns.id = 0;
  ns.athlete_id = athlete_id;
  gint64 sid = stance_store_session_add(dst, &ns, error);
  if (sid <= 0)
    return 0;
  for (guint i = 0; i < s->trials->len; i++) {
    const TrialCopy *tc = g_ptr_array_index(s->trials, i);
    gint64 tid = stance_store_trial_import_as(dst, sid, tc->trial, tc->rec, error);
    if (tid <= 0)
      return 0;
    for (guint k = 0; k < tc->runs->len; k++) {
      const Run *r = g_ptr_array_index(tc->runs, k);
      if (stance_store_analysis_put(dst, tid, &r->meta, r->rows, error) <= 0)
        return 0;
    }
  }
  return sid;
}

/* ======================================================================================
 * Export
 * ====================================================================================== */

static void
pseudonymise_copy(SessionCopy *s)
{
  char pseudo[13];
  _stance_pseudonym(s->athlete.uuid, pseudo);
  GPtrArray *words = name_words(s->athlete.name);
  char birth[11];
  pseudo_birth(&s->athlete, birth);
  g_free(s->athlete.name);
  s->athlete.name = g_strdup(pseudo);
  g_strlcpy(s->athlete.birth_date, birth, sizeof s->athlete.birth_date);
  g_clear_pointer(&s->athlete.injury_notes, g_free);
  s->athlete.pseudonymised = TRUE;
  g_clear_pointer(&s->session.place, g_free);
  g_clear_pointer(&s->session.notes, g_free);
  for (guint i = 0; i < s->trials->len; i++) {
    TrialCopy *tc = g_ptr_array_index(s->trials, i);
    StanceMeta *m = &tc->rec->meta;
    g_strlcpy(m->athlete, pseudo, sizeof m->athlete);
    scrub_into(m->source, sizeof m->source, words, pseudo);
    for (int k = 0; k < m->n_extra && k < STANCE_META_MAX_EXTRA; k++)
      scrub_into(m->extra[k].value, sizeof m->extra[k].value, words, pseudo);
    scrub_str(&tc->trial->note, words, pseudo);
    scrub_str(&tc->trial->reject_reason, words, pseudo);
    scrub_str(&tc->trial->source, words, pseudo);
    scrub_str(&tc->trial->params, words, pseudo);
  }
  g_ptr_array_unref(words);
}

/* Removes a store file and the journal files SQLite may have left beside it. */
static void
remove_store_file(const char *path)
{
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
  for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
    gchar *p = g_strconcat(path, suffixes[i], NULL);
    g_unlink(p);
    g_free(p);
  }
}

gboolean
_stance_bundle_export(StanceStore *store, gint64 session_id, const char *path,
                      const StanceExportOptions *opt, GError **error)
{
  /* The folder must exist: the store would create a missing one, an export does not. */
  gchar *parent = g_path_get_dirname(path);
  if (!g_file_test(parent, G_FILE_TEST_IS_DIR)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                "cannot write the bundle '%s': the folder '%s' does not exist", path, parent);
    g_free(parent);
    return FALSE;
  }
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS,
                "cannot write the bundle '%s': it is a folder (expected a file name)", path);
    g_free(parent);
    return FALSE;
  }
  SessionCopy s;
  if (!session_copy_read(store, session_id, &s, error)) {
    session_copy_clear(&s);
    g_free(parent);
    return FALSE;
  }
  if (opt->pseudonymise)
    pseudonymise_copy(&s);

  /* A fresh name beside the target. Creating it once (O_EXCL) proves the folder writable and
   * gives the OS reason when it is not; the store then creates it anew. */
  gchar *base = g_path_get_basename(path);
  gchar *tmp = NULL;
  int probe_errno = 0;
  for (int attempt = 0; attempt < 100 && !tmp; attempt++) {
    gchar *name = g_strdup_printf(".%s.%08x.tmp", base, g_random_int());
    gchar *cand = g_build_filename(parent, name, NULL);
    g_free(name);
    int fd = g_open(cand, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      close(fd);
      g_unlink(cand);
      tmp = cand;
    } else {
      probe_errno = errno;
      g_free(cand);
      if (probe_errno != EEXIST)
        break;
    }
  }
  g_free(base);
  gboolean ok = FALSE;
  StanceStore *b = NULL;
  if (!tmp) {
    g_set_error(error, STANCE_STORE_ERROR,
                probe_errno == ENOSPC ? STANCE_STORE_ERROR_FULL : STANCE_STORE_ERROR_IO,
                "cannot write the bundle '%s': cannot create a file in '%s': %s", path, parent,
                g_strerror(probe_errno));
    goto out;
  }
  b = stance_store_open(tmp, STANCE_STORE_MUST_CREATE | STANCE_STORE_NO_RECOVER, error);
  if (!b)
    goto fail;
  StanceAthlete a = s.athlete;
  a.id = 0;
  gint64 aid = stance_store_athlete_add(b, &a, error);
  if (aid <= 0)
    goto fail;
  for (guint i = 0; i < s.masses->len; i++)
    if (!stance_store_athlete_add_mass(b, aid, &g_array_index(s.masses, StanceMassEntry, i), error))
      goto fail;
  if (session_copy_write(b, &s, aid, error) <= 0)
    goto fail;
  stance_store_close(b);
  b = NULL;
  /* Health data: readable by its owner only, as every export file. */
  if (g_chmod(tmp, 0600) != 0 || g_rename(tmp, path) != 0) {
    int e = errno;
    g_set_error(error, STANCE_STORE_ERROR,
                e == ENOSPC ? STANCE_STORE_ERROR_FULL : STANCE_STORE_ERROR_IO,
                "cannot write the bundle '%s': %s (while putting the finished file in place; "
                "any existing file was left untouched)",
                path, g_strerror(e));
    goto fail;
  }
  {
    int fd = open(parent, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      fsync(fd);
      close(fd);
    }
  }
  ok = TRUE;
  goto out;
fail:
  if (b)
    stance_store_close(b);
  b = NULL;
  g_prefix_error(error, "bundle '%s': ", path);
  remove_store_file(tmp);
out:
  if (tmp && ok) {
    /* Nothing of SQLite's journal may stay behind the renamed file. */
    gchar *w = g_strconcat(tmp, "-wal", NULL);
    gchar *sh = g_strconcat(tmp, "-shm", NULL);
    g_unlink(w);
    g_unlink(sh);
    g_free(w);
    g_free(sh);
  }
  g_free(tmp);
  g_free(parent);
  session_copy_clear(&s);
  return ok;
}

/* ======================================================================================
 * Import
 * ====================================================================================== */

static gboolean bundle_error(GError **error, const char *path, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static gboolean
bundle_error(GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  gchar *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_BUNDLE,
              "'%s' is not a usable session bundle: %s", path, msg);
  g_free(msg);
  return FALSE;
}

/* Turns an error about the bundle into a BUNDLE error (VERSION, IO and BUSY stay what they are:
 * the file may be fine for a newer Stance, or merely unreadable now). */
static void
as_bundle_error(GError **error, GError *e, const char *path)
{
  if (e->domain == STANCE_STORE_ERROR &&
      (e->code == STANCE_STORE_ERROR_VERSION || e->code == STANCE_STORE_ERROR_IO ||
       e->code == STANCE_STORE_ERROR_BUSY)) {
    g_propagate_prefixed_error(error, e, "bundle '%s': ", path);
    return;
  }
  bundle_error(error, path, "%s", e->message);
  g_error_free(e);
}

/* The 16-byte header every SQLite 3 database starts with. */
static gboolean
check_sqlite_header(const char *path, GError **error)
{
  int fd = g_open(path, O_RDONLY, 0);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO, "cannot open the bundle '%s': %s",
                path, g_strerror(e));
    return FALSE;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return bundle_error(error, path, "not a regular file");
  }
  if (st.st_size == 0) {
    close(fd);
    return bundle_error(error, path, "the file is empty (expected a SQLite database)");
  }
  char head[16];
  ssize_t n = read(fd, head, sizeof head);
  close(fd);
  if (n != (ssize_t)sizeof head || memcmp(head, "SQLite format 3", 16) != 0)
    return bundle_error(error, path,
                        "it does not start with the SQLite 3 header \"SQLite format 3\" (expected "
                        "a file written by `stance-cli export --format bundle`)");
  if (st.st_size < 512)
    return bundle_error(error, path, "the file is %lld bytes, shorter than one database page",
                        (long long)st.st_size);
  return TRUE;
}

/* Adds the bundle's mass entries the target athlete lacks (same time and mass). */
static gboolean
merge_masses(StanceStore *store, gint64 athlete_id, const GArray *masses, GError **error)
{
  GArray *have = stance_store_athlete_masses(store, athlete_id, error);
  if (!have)
    return FALSE;
  gboolean ok = TRUE;
  for (guint i = 0; i < masses->len && ok; i++) {
    const StanceMassEntry *m = &g_array_index(masses, StanceMassEntry, i);
    gboolean dup = FALSE;
    for (guint k = 0; k < have->len && !dup; k++) {
      const StanceMassEntry *h = &g_array_index(have, StanceMassEntry, k);
      dup = h->measured_unix_ms == m->measured_unix_ms && h->mass_kg == m->mass_kg;
    }
    if (!dup)
      ok = stance_store_athlete_add_mass(store, athlete_id, m, error);
  }
  g_array_unref(have);
  return ok;
}

gint64
stance_bundle_import(StanceStore *store, const char *path, GError **error)
{
  g_return_val_if_fail(store != NULL, 0);
  if (!path || !*path) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID,
                "bundle import: no file given");
    return 0;
  }
  if (!check_sqlite_header(path, error))
    return 0;
  GError *e = NULL;
  StanceStore *b = stance_store_open(path, STANCE_STORE_READ_ONLY | STANCE_STORE_NO_RECOVER, &e);
  if (!b) {
    as_bundle_error(error, e, path);
    return 0;
  }
  gint64 result = 0;
  SessionCopy s;
  memset(&s, 0, sizeof s);
  stance_athlete_init(&s.athlete);
  stance_session_init(&s.session);
  GPtrArray *sessions = NULL, *athletes = NULL;

  /* ---- Check and read the bundle whole before touching the target ---- */
  if (!stance_store_check(b, &e)) {
    as_bundle_error(error, e, path);
    goto out;
  }
  sessions = stance_store_session_list(b, 0, &e);
  athletes = sessions ? stance_store_athlete_list(b, &e) : NULL;
  if (!athletes) {
    as_bundle_error(error, e, path);
    goto out;
  }
  if (sessions->len != 1) {
    bundle_error(error, path, "it holds %u sessions (expected exactly one)", sessions->len);
    goto out;
  }
  if (athletes->len != 1) {
    bundle_error(error, path, "it holds %u athletes (expected exactly one)", athletes->len);
    goto out;
  }
  const StanceSession *bs = g_ptr_array_index(sessions, 0);
  if (!session_copy_read(b, bs->id, &s, &e)) {
    as_bundle_error(error, e, path);
    goto out;
  }
  if (s.trials->len == 0 && bs->n_trials > 0) {
    bundle_error(error, path, "its session's %d trials were all still being recorded",
                 bs->n_trials);
    goto out;
  }
  stance_store_close(b);
  b = NULL;

  /* ---- Refusals that depend on the target ---- */
  gint64 existing = stance_store_session_by_uuid(store, s.session.uuid, &e);
  if (e) {
    g_propagate_error(error, e);
    goto out;
  }
  if (existing > 0) {
    StanceSession have;
    stance_session_init(&have);
    gchar *when = NULL;
    if (stance_store_session_get(store, existing, &have, NULL)) {
      GDateTime *dt = g_date_time_new_from_unix_local(have.started_unix_ms / 1000);
      when = dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M") : NULL;
      if (dt)
        g_date_time_unref(dt);
    }
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS,
                "the session in '%s' (uuid %s) is already in the store: session %" G_GINT64_FORMAT
                " of %s; nothing was imported",
                path, s.session.uuid, existing, when ? when : "an unknown date");
    g_free(when);
    stance_session_clear(&have);
    goto out;
  }
  StanceAthlete have;
  stance_athlete_init(&have);
  gint64 aid = 0;
  if (stance_store_athlete_find(store, s.athlete.uuid, &have, &e)) {
    aid = have.id;
  } else if (g_error_matches(e, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND)) {
    g_clear_error(&e);
    /* A new athlete: checked now so that a bad entry refuses the bundle before any write. */
    StanceAthlete a = s.athlete;
    a.id = 0;
    if (!stance_athlete_validate(&a, &e)) {
      stance_athlete_clear(&have);
      as_bundle_error(error, e, path);
      goto out;
    }
  } else {
    stance_athlete_clear(&have);
    g_propagate_error(error, e);
    goto out;
  }
  stance_athlete_clear(&have);

  /* ---- Write ---- */
  if (aid == 0) {
    StanceAthlete a = s.athlete;
    a.id = 0;
    aid = stance_store_athlete_add(store, &a, error);
    if (aid <= 0)
      goto out;
  }
  if (!merge_masses(store, aid, s.masses, error))
    goto out;
  result = session_copy_write(store, &s, aid, error);
  if (result <= 0) {
    result = 0;
    g_prefix_error(error, "importing '%s': ", path);
  }
out:
  if (b)
    stance_store_close(b);
  if (sessions)
    g_ptr_array_unref(sessions);
  if (athletes)
    g_ptr_array_unref(athletes);
  session_copy_clear(&s);
  return result;
}
