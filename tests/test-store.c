/* test-store.c: the session store (src/store/stance-store.h) on its SQLite backend: every entity
 * round trip, validation, raw samples read back bit for bit, the trial writer, analyses and their
 * result rows, trends against hand-computed statistics, calibrations, migration from schema
 * version 1, refusals of bad files and a full disk.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "stance-test.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stance-analysis.h"
#include "stance-config.h"
#include "stance-bytes.h"
#include "stance-file.h"
#include "stance-store-backend.h"
#include "stance-store.h"

/* ---- helpers ---- */

/* A fresh folder and the database path inside it (both freed by the caller). */
static char *
tmp_db(char **dir)
{
  *dir = stance_test_tmpdir();
  return g_build_filename(*dir, "stance.db", NULL);
}

static void
rm_dir(char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name(d))) {
      gchar *p = g_build_filename(dir, name, NULL);
      if (g_file_test(p, G_FILE_TEST_IS_DIR))
        rm_dir(g_strdup(p));
      else
        g_remove(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  g_rmdir(dir);
  free(dir);
}

static StanceStore *
open_ok(const char *path, StanceStoreFlags flags)
{
  GError *e = NULL;
  StanceStore *s = stance_store_open(path, flags, &e);
  ck_assert_msg(s != NULL, "open %s: %s", path, e ? e->message : "?");
  return s;
}

/* Asserts that error is set with code and its message holds every NULL-terminated needle. */
static void
assert_error(GError **e, int code, ...)
{
  ck_assert_msg(*e != NULL, "expected error code %d, got success", code);
  ck_assert_msg((*e)->domain == STANCE_STORE_ERROR && (*e)->code == code,
                "expected code %d, got %d: %s", code, (*e)->code, (*e)->message);
  va_list ap;
  va_start(ap, code);
  const char *needle;
  while ((needle = va_arg(ap, const char *)))
    ck_assert_msg(strstr((*e)->message, needle) != NULL, "message \"%s\" lacks \"%s\"",
                  (*e)->message, needle);
  va_end(ap);
  g_clear_error(e);
}

static gint64
add_athlete(StanceStore *s, const char *name)
{
  StanceAthlete a;
  stance_athlete_init(&a);
  a.name = g_strdup(name);
  GError *e = NULL;
  gint64 id = stance_store_athlete_add(s, &a, &e);
  ck_assert_msg(id > 0, "athlete_add(%s): %s", name, e ? e->message : "?");
  stance_athlete_clear(&a);
  return id;
}

static gint64
add_session(StanceStore *s, gint64 athlete, gint64 started)
{
  StanceSession ses;
  stance_session_init(&ses);
  ses.athlete_id = athlete;
  ses.started_unix_ms = started;
  GError *e = NULL;
  gint64 id = stance_store_session_add(s, &ses, &e);
  ck_assert_msg(id > 0, "session_add: %s", e ? e->message : "?");
  return id;
}

/* The .stance encoding of a recording: equal encodings = equal samples, metadata, calibration. */
static GBytes *
encoding(const StanceRecording *rec)
{
  uint8_t *buf = NULL;
  size_t len = 0;
  StanceError err = {0};
  ck_assert_msg(stance_file_encode(rec, &buf, &len, &err) == 0, "encode: %s", err.message);
  GBytes *b = g_bytes_new(buf, len);
  free(buf);
  return b;
}

static void
assert_same_recording(const StanceRecording *a, const StanceRecording *b)
{
  ck_assert_uint_eq(a->n_samples, b->n_samples);
  GBytes *ea = encoding(a), *eb = encoding(b);
  ck_assert_msg(g_bytes_equal(ea, eb), "the stored recording differs from the original");
  g_bytes_unref(ea);
  g_bytes_unref(eb);
}

/* The simulated CMJ of the import and analysis tests, made once per process (valgrind runs
 * every test in one process: the simulation is its most expensive part). */
static StanceRecording *sim_cache;

static StanceRecording *sim_cmj(uint64_t seed, const char *asym);

static const StanceRecording *
shared_cmj(void)
{
  if (!sim_cache)
    sim_cache = sim_cmj(21, "12");
  return sim_cache;
}

static StanceRecording *
sim_cmj(uint64_t seed, const char *asym)
{
  StanceSimParams p = stance_test_sim_params(STANCE_PROTO_CMJ, seed);
  /* Two jumps; one under valgrind (the same checks on less data). */
  stance_test_sim_set(&p, "reps", stance_test_under_valgrind() ? "1" : "2");
  if (asym)
    stance_test_sim_set(&p, "asymmetry", asym);
  StanceRecording *rec = NULL;
  stance_test_sim_run(&p, &rec, NULL);
  return rec;
}

/* A CELLS recording of n samples without the simulator's cost (valgrind): counts from a
 * deterministic generator around the simulated board's offsets, the board's calibration, every
 * 997th sample saturated on one channel. */
static StanceRecording *
synthetic_cells(size_t n, guint32 seed)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_CELLS, 1000.0, false);
  ck_assert_ptr_nonnull(rec);
  stance_sim_calibration(&rec->calib);
  guint32 x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    int32_t c[8];
    for (int k = 0; k < 8; k++) {
      x = x * 1664525u + 1013904223u;
      c[k] = (int32_t)rec->calib.offset_counts[k] + (int32_t)(x >> 12) - (1 << 19);
    }
    uint16_t st = i % 997 == 0 ? 0x0004 : 0;
    if (st)
      c[2] = STANCE_ADC_MAX;
    ck_assert_int_eq(stance_recording_append_counts(rec, c, st), 0);
  }
  rec->meta.protocol = STANCE_PROTO_CMJ;
  rec->meta.start_unix_ms = 1760000000000;
  g_strlcpy(rec->meta.source, "simulator", sizeof rec->meta.source);
  g_strlcpy(rec->meta.board_serial, rec->calib.board_serial, sizeof rec->meta.board_serial);
  g_strlcpy(rec->meta.calibration_id, rec->calib.id, sizeof rec->meta.calibration_id);
  char v[16];
  g_snprintf(v, sizeof v, "%u", seed);
  stance_meta_set(&rec->meta, "sim.seed", v);
  return rec;
}

/* A PLATES recording with centre of pressure, awkward doubles and a gap. */
static StanceRecording *
plates_with_cop(size_t n)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_PLATES, 200.0, true);
  ck_assert_ptr_nonnull(rec);
  for (size_t i = 0; i < n; i++) {
    if (i == 17) {
      ck_assert_int_eq(stance_recording_append_gap(rec, 3), 0);
      continue;
    }
    double f[2] = {400.0 + 1e-9 * (double)i + 1.0 / 3.0, i % 5 == 0 ? -0.0 : 355.125 / (i + 1)};
    double cop[4] = {1e-300, -123.456789, 170.0 / 7.0, (double)i};
    ck_assert_int_eq(stance_recording_append_forces(rec, f, cop, 0), 0);
  }
  rec->meta.protocol = STANCE_PROTO_SL_CMJ;
  rec->meta.side = STANCE_SIDE_LEFT;
  rec->meta.start_unix_ms = 1700000000123;
  g_strlcpy(rec->meta.source, "import:jumps.csv", sizeof rec->meta.source);
  stance_meta_set(&rec->meta, "columns", "t,FzL,FzR");
  return rec;
}

/* ======================================================================================
 * Opening and athletes
 * ====================================================================================== */

START_TEST(test_open_create)
{
  char *dir = stance_test_tmpdir();
  gchar *path = g_build_filename(dir, "a", "b", "stance.db", NULL);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  ck_assert_str_eq(stance_store_path(s), path);
  ck_assert_int_eq(stance_store_schema_version(s), STANCE_STORE_SCHEMA_VERSION);
  ck_assert_int_eq(STANCE_STORE_SCHEMA_VERSION, 2);
  ck_assert_uint_eq(stance_store_recovered(s)->len, 0);
  GError *e = NULL;
  ck_assert(stance_store_check(s, &e));
  stance_store_close(s);

  /* The file is ours: application id 'STNC', user_version = the schema version, WAL. */
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  ck_assert_int_eq(sqlite3_prepare_v2(db,
                                      "SELECT * FROM pragma_application_id, "
                                      "pragma_user_version, pragma_journal_mode",
                                      -1, &st, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  ck_assert_int_eq(sqlite3_column_int(st, 0), 0x53544E43);
  ck_assert_int_eq(sqlite3_column_int(st, 1), 2);
  ck_assert_str_eq((const char *)sqlite3_column_text(st, 2), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);

  /* MUST_CREATE refuses an existing file; READ_ONLY refuses a missing one. */
  ck_assert_ptr_null(stance_store_open(path, STANCE_STORE_MUST_CREATE, &e));
  assert_error(&e, STANCE_STORE_ERROR_EXISTS, path, "already exists", NULL);
  gchar *missing = g_build_filename(dir, "none.db", NULL);
  ck_assert_ptr_null(stance_store_open(missing, STANCE_STORE_READ_ONLY, &e));
  assert_error(&e, STANCE_STORE_ERROR_IO, missing, "no such file", NULL);
  ck_assert(!g_file_test(missing, G_FILE_TEST_EXISTS));

  /* The default path follows $STANCE_DB. */
  g_setenv("STANCE_DB", path, TRUE);
  gchar *def = stance_store_default_path();
  ck_assert_str_eq(def, path);
  g_free(def);
  g_unsetenv("STANCE_DB");
  def = stance_store_default_path();
  ck_assert(g_str_has_suffix(def, "/stance/stance.db"));
  g_free(def);

  /* READ_ONLY refuses writes with READ_ONLY. */
  s = open_ok(path, STANCE_STORE_READ_ONLY);
  StanceAthlete a;
  stance_athlete_init(&a);
  a.name = g_strdup("Read Only");
  ck_assert_int_eq(stance_store_athlete_add(s, &a, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_READ_ONLY, "read-only", NULL);
  stance_athlete_clear(&a);
  stance_store_close(s);
  g_free(missing);
  g_free(path);
  rm_dir(dir);
}
END_TEST

START_TEST(test_athletes)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  GError *e = NULL;

  StanceAthlete a;
  stance_athlete_init(&a);
  a.name = g_strdup("Élodie Martin");
  g_strlcpy(a.birth_date, "1994-03-17", sizeof a.birth_date);
  a.sex = STANCE_SEX_FEMALE;
  a.dominant = STANCE_SIDE_RIGHT;
  a.involved = STANCE_SIDE_LEFT;
  a.injury_notes = g_strdup("ACL reconstruction (hamstring graft)\nsecond line");
  g_strlcpy(a.injury_date, "2023-11-02", sizeof a.injury_date);
  gint64 id = stance_store_athlete_add(s, &a, &e);
  ck_assert_msg(id > 0, "%s", e ? e->message : "");

  StanceAthlete b;
  stance_athlete_init(&b);
  ck_assert(stance_store_athlete_get(s, id, &b, &e));
  ck_assert_int_eq(b.id, id);
  ck_assert(g_uuid_string_is_valid(b.uuid));
  ck_assert_str_eq(b.name, a.name);
  ck_assert_str_eq(b.birth_date, "1994-03-17");
  ck_assert_int_eq(b.sex, STANCE_SEX_FEMALE);
  ck_assert_int_eq(b.dominant, STANCE_SIDE_RIGHT);
  ck_assert_int_eq(b.involved, STANCE_SIDE_LEFT);
  ck_assert_str_eq(b.injury_notes, a.injury_notes);
  ck_assert_str_eq(b.injury_date, "2023-11-02");
  ck_assert(!b.pseudonymised);
  gint64 now = g_get_real_time() / 1000;
  ck_assert(b.created_unix_ms > now - 60000 && b.created_unix_ms <= now);

  /* Update replaces every field; an empty uuid keeps the stored one. */
  char uuid[37];
  g_strlcpy(uuid, b.uuid, sizeof uuid);
  g_free(b.name);
  b.name = g_strdup("Élodie Martin-Roux");
  b.uuid[0] = 0;
  b.involved = STANCE_SIDE_BOTH;
  g_clear_pointer(&b.injury_notes, g_free);
  b.injury_date[0] = 0;
  b.pseudonymised = TRUE;
  ck_assert_msg(stance_store_athlete_update(s, &b, &e), "%s", e ? e->message : "");
  StanceAthlete c;
  stance_athlete_init(&c);
  ck_assert(stance_store_athlete_get(s, id, &c, &e));
  ck_assert_str_eq(c.uuid, uuid);
  ck_assert_str_eq(c.name, "Élodie Martin-Roux");
  ck_assert_int_eq(c.involved, STANCE_SIDE_BOTH);
  ck_assert_ptr_null(c.injury_notes);
  ck_assert_str_eq(c.injury_date, "");
  ck_assert(c.pseudonymised);
  stance_athlete_clear(&c);

  /* Find by id, uuid (any case), name ignoring case (UTF-8 case folding). */
  char key[32];
  g_snprintf(key, sizeof key, "%" G_GINT64_FORMAT, id);
  ck_assert(stance_store_athlete_find(s, key, &c, &e));
  ck_assert_int_eq(c.id, id);
  gchar *upper = g_ascii_strup(uuid, -1);
  ck_assert(stance_store_athlete_find(s, upper, &c, &e));
  ck_assert_int_eq(c.id, id);
  g_free(upper);
  ck_assert(stance_store_athlete_find(s, "ÉLODIE MARTIN-ROUX", &c, &e));
  ck_assert_int_eq(c.id, id);
  ck_assert(!stance_store_athlete_find(s, "Nobody", &c, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "Nobody", NULL);

  /* Two people may share a name; find() then reports AMBIGUOUS listing both ids. */
  gint64 j1 = add_athlete(s, "Jo Smith");
  gint64 j2 = add_athlete(s, "jo smith");
  ck_assert(!stance_store_athlete_find(s, "JO SMITH", &c, &e));
  char id1[32], id2[32];
  g_snprintf(id1, sizeof id1, "%" G_GINT64_FORMAT, j1);
  g_snprintf(id2, sizeof id2, "%" G_GINT64_FORMAT, j2);
  assert_error(&e, STANCE_STORE_ERROR_AMBIGUOUS, "2 athletes", id1, id2, NULL);
  /* A name made only of digits is still found when no id matches it. */
  gint64 digits = add_athlete(s, "4711");
  ck_assert(stance_store_athlete_find(s, "4711", &c, &e));
  ck_assert_int_eq(c.id, digits);
  stance_athlete_clear(&c);

  GPtrArray *list = stance_store_athlete_list(s, &e);
  ck_assert_uint_eq(list->len, 4);
  ck_assert_str_eq(((StanceAthlete *)list->pdata[0])->name, "4711"); /* by name */
  g_ptr_array_unref(list);

  /* Body-mass history, oldest first; range and source checked. */
  StanceMassEntry m = {.measured_unix_ms = 1700000000000, .mass_kg = 71.5, .source = "plates"};
  ck_assert(stance_store_athlete_add_mass(s, id, &m, &e));
  m.measured_unix_ms = 1600000000000;
  m.mass_kg = 69.25;
  g_strlcpy(m.source, "entered", sizeof m.source);
  ck_assert(stance_store_athlete_add_mass(s, id, &m, &e));
  m.mass_kg = 19.9;
  ck_assert(!stance_store_athlete_add_mass(s, id, &m, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "19.9 kg", "20 to 300 kg", NULL);
  m.mass_kg = NAN;
  ck_assert(!stance_store_athlete_add_mass(s, id, &m, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "20 to 300 kg", NULL);
  m.mass_kg = 80;
  g_strlcpy(m.source, "guess", sizeof m.source);
  ck_assert(!stance_store_athlete_add_mass(s, id, &m, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "\"guess\"", "\"entered\" or \"plates\"", NULL);
  g_strlcpy(m.source, "entered", sizeof m.source);
  ck_assert(!stance_store_athlete_add_mass(s, 9999, &m, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "9999", NULL);
  GArray *ms = stance_store_athlete_masses(s, id, &e);
  ck_assert_uint_eq(ms->len, 2);
  ck_assert_int_eq(g_array_index(ms, StanceMassEntry, 0).measured_unix_ms, 1600000000000);
  ck_assert(g_array_index(ms, StanceMassEntry, 0).mass_kg == 69.25);
  ck_assert_str_eq(g_array_index(ms, StanceMassEntry, 0).source, "entered");
  ck_assert(g_array_index(ms, StanceMassEntry, 1).mass_kg == 71.5);
  ck_assert_str_eq(g_array_index(ms, StanceMassEntry, 1).source, "plates");
  g_array_unref(ms);

  ck_assert(!stance_store_athlete_get(s, 12345, &c, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "12345", NULL);
  stance_athlete_clear(&a);
  stance_athlete_clear(&b);
  stance_store_close(s);
  g_free(path);
  rm_dir(dir);
}
END_TEST

START_TEST(test_athlete_validation)
{
  GError *e = NULL;
  StanceAthlete a;
  stance_athlete_init(&a);
  ck_assert(!stance_athlete_validate(&a, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "athlete name", "missing", NULL);
  a.name = g_strdup(" \t ");
  ck_assert(!stance_athlete_validate(&a, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "only blanks", NULL);
  g_free(a.name);
  a.name = g_strnfill(128, 'x');
  ck_assert(!stance_athlete_validate(&a, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "128 bytes", "at most 127", NULL);
  g_free(a.name);
  a.name = g_strnfill(127, 'x');
  ck_assert_msg(stance_athlete_validate(&a, &e), "%s", e ? e->message : "");
  g_free(a.name);
  a.name = g_strdup("bad\xff utf8");
  ck_assert(!stance_athlete_validate(&a, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "UTF-8", NULL);
  g_free(a.name);
  a.name = g_strdup("two\nlines");
  ck_assert(!stance_athlete_validate(&a, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "control character", NULL);
  g_free(a.name);
  a.name = g_strdup("Ana");

  const char *bad_dates[] = {"2023-02-29", "1994-13-01", "94-03-17",
                             "1994/03/17", "1899-12-31", "2999-01-01"};
  const char *why[] = {"YYYY-MM-DD", "YYYY-MM-DD",  "YYYY-MM-DD",
                       "YYYY-MM-DD", "before 1900", "in the future"};
  for (int i = 0; i < 6; i++) {
    g_strlcpy(a.birth_date, bad_dates[i], sizeof a.birth_date);
    ck_assert(!stance_athlete_validate(&a, &e));
    assert_error(&e, STANCE_STORE_ERROR_INVALID, "birth date", why[i], NULL);
  }
  g_strlcpy(a.birth_date, "2000-02-29", sizeof a.birth_date);
  ck_assert(stance_athlete_validate(&a, &e));
  g_strlcpy(a.injury_date, "1999-05-05", sizeof a.injury_date);
  ck_assert(!stance_athlete_validate(&a, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "injury date 1999-05-05", "before the birth date",
               NULL);
  a.injury_date[0] = 0;
  g_strlcpy(a.uuid, "not-a-uuid", sizeof a.uuid);
  ck_assert(!stance_athlete_validate(&a, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "not-a-uuid", NULL);
  a.uuid[0] = 0;
  a.dominant = (StanceSide)7;
  ck_assert(!stance_athlete_validate(&a, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "dominant limb 7", NULL);
  a.dominant = STANCE_SIDE_LEFT;
  a.sex = (StanceSex)9;
  ck_assert(!stance_athlete_validate(&a, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "sex 9", NULL);
  a.sex = STANCE_SEX_OTHER;
  a.injury_notes = g_strnfill(4001, 'n');
  ck_assert(!stance_athlete_validate(&a, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "injury notes", "4001 bytes", NULL);
  stance_athlete_clear(&a);

  StanceSex sx;
  ck_assert(stance_sex_from_name("F", &sx) && sx == STANCE_SEX_FEMALE);
  ck_assert(stance_sex_from_name("Male", &sx) && sx == STANCE_SEX_MALE);
  ck_assert(!stance_sex_from_name("x", &sx));
  ck_assert_str_eq(stance_sex_name(STANCE_SEX_OTHER), "other");
}
END_TEST

/* Names that would break SQL built from text are stored and found verbatim. */
START_TEST(test_hostile_names)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  const char *names[] = {"O'Brien", "'); DROP TABLE athletes;--", "Robert\"); DELETE FROM trials;",
                         "%s%n%x",  "Zoë Ørsted 李雷 🏋",   "a;b\\c",
                         "NULL"};
  gint64 ids[G_N_ELEMENTS(names)];
  for (guint i = 0; i < G_N_ELEMENTS(names); i++)
    ids[i] = add_athlete(s, names[i]);
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    StanceAthlete a;
    stance_athlete_init(&a);
    ck_assert_msg(stance_store_athlete_find(s, names[i], &a, &e), "%s: %s", names[i],
                  e ? e->message : "");
    ck_assert_int_eq(a.id, ids[i]);
    ck_assert_str_eq(a.name, names[i]);
    stance_athlete_clear(&a);
  }
  GPtrArray *list = stance_store_athlete_list(s, &e);
  ck_assert_uint_eq(list->len, G_N_ELEMENTS(names));
  g_ptr_array_unref(list);
  /* Hostile text in a session too, and a very long note is refused with a message. */
  StanceSession ses;
  stance_session_init(&ses);
  ses.athlete_id = ids[1];
  ses.place = g_strdup("'; UPDATE sessions SET notes = 'x");
  ses.notes = g_strnfill(4001, 'z');
  ck_assert_int_eq(stance_store_session_add(s, &ses, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "session notes", "4001 bytes", "at most 4000", NULL);
  g_free(ses.notes);
  ses.notes = g_strdup("Robert'); DROP TABLE sessions;--");
  gint64 sid = stance_store_session_add(s, &ses, &e);
  ck_assert(sid > 0);
  StanceSession back;
  stance_session_init(&back);
  ck_assert(stance_store_session_get(s, sid, &back, &e));
  ck_assert_str_eq(back.place, ses.place);
  ck_assert_str_eq(back.notes, ses.notes);
  stance_session_clear(&back);
  stance_session_clear(&ses);
  ck_assert(stance_store_check(s, &e));
  stance_store_close(s);
  g_free(path);
  rm_dir(dir);
}
END_TEST

/* ======================================================================================
 * Sessions
 * ====================================================================================== */

START_TEST(test_sessions)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  gint64 ath = add_athlete(s, "Sam");
  gint64 other = add_athlete(s, "Kim");

  /* Local noon of a fixed day, and the same day's morning and the next day. */
  GDateTime *noon = g_date_time_new_local(2025, 6, 3, 12, 0, 0);
  gint64 t_noon = g_date_time_to_unix(noon) * 1000;
  g_date_time_unref(noon);
  gint64 t_morning = t_noon - 3 * 3600 * 1000, t_next = t_noon + 24 * 3600 * 1000;

  StanceSession ses;
  stance_session_init(&ses);
  ses.athlete_id = ath;
  ses.started_unix_ms = t_morning;
  ses.place = g_strdup("Clinic 2");
  ses.notes = g_strdup("pre-season");
  gint64 s1 = stance_store_session_add(s, &ses, &e);
  ck_assert_msg(s1 > 0, "%s", e ? e->message : "");
  gint64 s2 = add_session(s, ath, t_noon);
  gint64 s3 = add_session(s, ath, t_next);
  gint64 s4 = add_session(s, other, t_noon);

  StanceSession back;
  stance_session_init(&back);
  ck_assert(stance_store_session_get(s, s1, &back, &e));
  ck_assert_int_eq(back.athlete_id, ath);
  ck_assert_int_eq(back.started_unix_ms, t_morning);
  ck_assert_str_eq(back.place, "Clinic 2");
  ck_assert_str_eq(back.notes, "pre-season");
  ck_assert_int_eq(back.n_trials, 0);
  ck_assert(g_uuid_string_is_valid(back.uuid));
  ck_assert_int_eq(stance_store_session_by_uuid(s, back.uuid, &e), s1);

  /* Update keeps the uuid when none is given. */
  char uuid[37];
  g_strlcpy(uuid, back.uuid, sizeof uuid);
  back.uuid[0] = 0;
  g_free(back.notes);
  back.notes = NULL;
  ck_assert(stance_store_session_update(s, &back, &e));
  stance_session_clear(&back);
  ck_assert(stance_store_session_get(s, s1, &back, &e));
  ck_assert_str_eq(back.uuid, uuid);
  ck_assert_ptr_null(back.notes);
  stance_session_clear(&back);

  /* A session with a uuid already stored is refused (a session imported twice). */
  g_strlcpy(ses.uuid, uuid, sizeof ses.uuid);
  ck_assert_int_eq(stance_store_session_add(s, &ses, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_EXISTS, uuid, NULL);
  stance_session_clear(&ses);

  /* Newest first; per athlete or all. */
  GPtrArray *list = stance_store_session_list(s, ath, &e);
  ck_assert_uint_eq(list->len, 3);
  ck_assert_int_eq(((StanceSession *)list->pdata[0])->id, s3);
  ck_assert_int_eq(((StanceSession *)list->pdata[1])->id, s2);
  ck_assert_int_eq(((StanceSession *)list->pdata[2])->id, s1);
  g_ptr_array_unref(list);
  list = stance_store_session_list(s, 0, &e);
  ck_assert_uint_eq(list->len, 4);
  g_ptr_array_unref(list);

  /* Today = the latest session of the same local day. */
  ck_assert_int_eq(stance_store_session_today(s, ath, t_noon + 3600 * 1000, &e), s2);
  ck_assert_int_eq(stance_store_session_today(s, ath, t_next + 60000, &e), s3);
  ck_assert_int_eq(stance_store_session_today(s, ath, t_next + 2 * 24 * 3600 * 1000, &e), 0);
  ck_assert_ptr_null(e);
  ck_assert_int_eq(stance_store_session_today(s, other, t_noon, &e), s4);

  /* Missing athlete or session. */
  ck_assert_int_eq(add_session(s, ath, 0) > 0, 1);
  stance_session_init(&ses);
  ses.athlete_id = 777;
  ck_assert_int_eq(stance_store_session_add(s, &ses, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "777", NULL);
  ck_assert(!stance_store_session_get(s, 888, &back, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "888", NULL);
  ck_assert_int_eq(stance_store_session_by_uuid(s, "2f1d5c3e-0000-4000-8000-000000000000", &e), 0);
  ck_assert_ptr_null(e);
  ck_assert_ptr_null(stance_store_trial_list(s, 888, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "888", NULL);
  stance_store_close(s);
  g_free(path);
  rm_dir(dir);
}
END_TEST

/* ======================================================================================
 * Trials
 * ====================================================================================== */

START_TEST(test_trial_import)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  gint64 ath = add_athlete(s, "Ira");
  gint64 ses = add_session(s, ath, 1700000000000);

  const StanceRecording *cmj = shared_cmj();
  gint64 t1 = stance_store_trial_import(s, ses, cmj, &e);
  ck_assert_msg(t1 > 0, "%s", e ? e->message : "");
  StanceRecording *plates = plates_with_cop(20000);
  gint64 t2 = stance_store_trial_import(s, ses, plates, &e);
  ck_assert_msg(t2 > 0, "%s", e ? e->message : "");

  /* Bit-identical read back: samples, metadata, calibration. */
  StanceRecording *back = stance_store_trial_read(s, t1, &e);
  ck_assert_msg(back != NULL, "%s", e ? e->message : "");
  assert_same_recording(cmj, back);
  stance_recording_free(back);
  back = stance_store_trial_read(s, t2, &e);
  ck_assert_msg(back != NULL, "%s", e ? e->message : "");
  assert_same_recording(plates, back);
  /* Negative zero and subnormal-scale values survive (bit patterns, not text). */
  ck_assert(signbit(back->force_n[1]) && back->force_n[1] == 0.0);
  ck_assert(back->cop_mm[0] == 1e-300);
  stance_recording_free(back);

  /* The rows say what the recordings are. */
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  ck_assert(stance_store_trial_get(s, t1, &t, &e));
  ck_assert_int_eq(t.number, 1);
  ck_assert_int_eq(t.session_id, ses);
  ck_assert_int_eq(t.protocol, STANCE_PROTO_CMJ);
  ck_assert_int_eq(t.side, STANCE_SIDE_BOTH);
  ck_assert_int_eq(t.layout, STANCE_LAYOUT_CELLS);
  ck_assert(t.sample_rate_hz == 1000.0);
  ck_assert_uint_eq(t.n_samples, cmj->n_samples);
  ck_assert_uint_eq(t.gap_samples, 0);
  ck_assert_int_eq(t.state, STANCE_TRIAL_COMPLETE);
  ck_assert(t.accepted);
  ck_assert_str_eq(t.source, "simulator");
  ck_assert_str_eq(t.calibration_id, cmj->calib.id);
  ck_assert(t.params && strstr(t.params, "sim.seed=21\n"));
  stance_store_trial_clear(&t);
  ck_assert(stance_store_trial_get(s, t2, &t, &e));
  ck_assert_int_eq(t.number, 2);
  ck_assert_int_eq(t.protocol, STANCE_PROTO_SL_CMJ);
  ck_assert_int_eq(t.side, STANCE_SIDE_LEFT);
  ck_assert_int_eq(t.layout, STANCE_LAYOUT_PLATES);
  ck_assert(t.sample_rate_hz == 200.0);
  ck_assert_uint_eq(t.n_samples, 20002);
  ck_assert_uint_eq(t.gap_samples, 3);
  ck_assert_int_eq(t.started_unix_ms, 1700000000123);
  ck_assert_str_eq(t.params, "columns=t,FzL,FzR\n");
  ck_assert_str_eq(t.note, "imported from jumps.csv");
  ck_assert_str_eq(t.calibration_id, "");
  stance_store_trial_clear(&t);

  /* Session's trial count and the list in number order. */
  StanceSession sd;
  stance_session_init(&sd);
  ck_assert(stance_store_session_get(s, ses, &sd, &e));
  ck_assert_int_eq(sd.n_trials, 2);
  stance_session_clear(&sd);
  GPtrArray *list = stance_store_trial_list(s, ses, &e);
  ck_assert_uint_eq(list->len, 2);
  ck_assert_int_eq(((StanceStoreTrial *)list->pdata[0])->id, t1);
  ck_assert_int_eq(((StanceStoreTrial *)list->pdata[1])->id, t2);
  g_ptr_array_unref(list);

  /* Reject needs a reason of 1-500 bytes; accept takes none. */
  ck_assert(!stance_store_trial_set_accepted(s, t1, FALSE, NULL, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "reject reason", "missing", NULL);
  gchar *long_reason = g_strnfill(501, 'r');
  ck_assert(!stance_store_trial_set_accepted(s, t1, FALSE, long_reason, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "501 bytes", NULL);
  g_free(long_reason);
  ck_assert(stance_store_trial_set_accepted(s, t1, FALSE, "stepped off the plate", &e));
  ck_assert(stance_store_trial_get(s, t1, &t, &e));
  ck_assert(!t.accepted);
  ck_assert_str_eq(t.reject_reason, "stepped off the plate");
  stance_store_trial_clear(&t);
  ck_assert(stance_store_trial_set_accepted(s, t1, TRUE, NULL, &e));
  ck_assert(stance_store_trial_get(s, t1, &t, &e));
  ck_assert(t.accepted);
  ck_assert_ptr_null(t.reject_reason);
  stance_store_trial_clear(&t);
  ck_assert(!stance_store_trial_set_accepted(s, 4242, TRUE, NULL, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "4242", NULL);

  /* import_as keeps uuid, number, state, acceptance, note and time; a uuid twice is EXISTS. */
  StanceStoreTrial f;
  stance_store_trial_init(&f);
  g_strlcpy(f.uuid, "0b7a3d52-9f1e-4c2b-8d0a-1234567890ab", sizeof f.uuid);
  f.number = 7;
  f.state = STANCE_TRIAL_INTERRUPTED;
  f.accepted = FALSE;
  f.reject_reason = g_strdup("fell");
  f.note = g_strdup("recovered elsewhere");
  f.started_unix_ms = 1600000000000;
  gint64 t3 = stance_store_trial_import_as(s, ses, &f, plates, &e);
  ck_assert_msg(t3 > 0, "%s", e ? e->message : "");
  ck_assert(stance_store_trial_get(s, t3, &t, &e));
  ck_assert_str_eq(t.uuid, f.uuid);
  ck_assert_int_eq(t.number, 7);
  ck_assert_int_eq(t.state, STANCE_TRIAL_INTERRUPTED);
  ck_assert(!t.accepted);
  ck_assert_str_eq(t.reject_reason, "fell");
  ck_assert_str_eq(t.note, "recovered elsewhere");
  ck_assert_int_eq(t.started_unix_ms, 1600000000000);
  stance_store_trial_clear(&t);
  ck_assert_int_eq(stance_store_trial_import_as(s, ses, &f, plates, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_EXISTS, f.uuid, NULL);
  stance_store_trial_clear(&f);
  /* The next plain import follows the highest number. */
  gint64 t4 = stance_store_trial_import(s, ses, cmj, &e);
  ck_assert(stance_store_trial_get(s, t4, &t, &e));
  ck_assert_int_eq(t.number, 8);
  stance_store_trial_clear(&t);

  /* Non-finite forces are refused, naming the sample. */
  plates->force_n[2 * 5 + 1] = INFINITY;
  ck_assert_int_eq(stance_store_trial_import(s, ses, plates, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "sample 5, channel 1", "finite", NULL);
  ck_assert_int_eq(stance_store_trial_import(s, 999, cmj, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "999", NULL);
  ck_assert_ptr_null(stance_store_trial_read(s, 999, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "999", NULL);

  ck_assert_msg(stance_store_check(s, &e), "%s", e ? e->message : "");
  stance_recording_free(plates);
  stance_store_close(s);
  g_free(path);
  rm_dir(dir);
}
END_TEST

START_TEST(test_writer)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  gint64 ses = add_session(s, add_athlete(s, "Wes"), 0);
  StanceRecording *rec = synthetic_cells(9000, 5);

  /* Appends in 37-sample blocks (not a divisor of anything), flushing now and then. */
  StanceTrialWriter *w = stance_store_trial_begin(s, ses, rec, &e);
  ck_assert_msg(w != NULL, "%s", e ? e->message : "");
  gint64 id = stance_trial_writer_id(w);
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  ck_assert(stance_store_trial_get(s, id, &t, &e));
  ck_assert_int_eq(t.state, STANCE_TRIAL_RECORDING);
  ck_assert_uint_eq(t.n_samples, 0);
  stance_store_trial_clear(&t);
  StanceRecording *growing = stance_recording_slice(rec, 0, 0);
  ck_assert_ptr_nonnull(growing);
  size_t k = 0;
  for (size_t i = 0; i < rec->n_samples; i += 37) {
    size_t n = MIN(37, rec->n_samples - i);
    for (size_t j = i; j < i + n; j++)
      stance_recording_append_counts(growing, rec->counts + 8 * j, rec->status[j]);
    ck_assert_msg(stance_trial_writer_append(w, growing, i, &e), "%s", e ? e->message : "");
    if (++k % 50 == 0) {
      ck_assert(stance_trial_writer_flush(w, &e));
      ck_assert_uint_eq(stance_trial_writer_committed(w), i + n);
      /* What is committed reads back while the writer is still open. */
      StanceRecording *part = stance_store_trial_read(s, id, &e);
      ck_assert_msg(part != NULL, "%s", e ? e->message : "");
      ck_assert_uint_eq(part->n_samples, i + n);
      ck_assert_int_eq(memcmp(part->counts, rec->counts, (i + n) * 8 * sizeof(int32_t)), 0);
      stance_recording_free(part);
    }
  }
  ck_assert_uint_eq(stance_trial_writer_appended(w), rec->n_samples);
  /* Wrong layout or rate is refused. */
  StanceRecording *other = stance_recording_new(STANCE_LAYOUT_CELLS, 500.0, false);
  ck_assert(!stance_trial_writer_append(w, other, 0, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "500 Hz", "expected cells at 1000 Hz", NULL);
  stance_recording_free(other);
  ck_assert_msg(stance_trial_writer_finish(w, &e), "%s", e ? e->message : "");
  ck_assert_uint_eq(stance_trial_writer_committed(w), rec->n_samples);
  ck_assert(!stance_trial_writer_append(w, growing, 0, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "finished", NULL);
  stance_trial_writer_free(w);
  ck_assert(stance_store_trial_get(s, id, &t, &e));
  ck_assert_int_eq(t.state, STANCE_TRIAL_COMPLETE);
  ck_assert_uint_eq(t.n_samples, rec->n_samples);
  ck_assert_ptr_null(t.note);
  stance_store_trial_clear(&t);
  StanceRecording *back = stance_store_trial_read(s, id, &e);
  assert_same_recording(rec, back);
  stance_recording_free(back);

  /* A writer freed before finishing leaves an INTERRUPTED trial keeping what it had. */
  w = stance_store_trial_begin(s, ses, rec, &e);
  StanceRecording *head = stance_recording_slice(rec, 0, 1500);
  ck_assert(stance_trial_writer_append(w, head, 0, &e));
  id = stance_trial_writer_id(w);
  stance_trial_writer_free(w);
  ck_assert(stance_store_trial_get(s, id, &t, &e));
  ck_assert_int_eq(t.state, STANCE_TRIAL_INTERRUPTED);
  ck_assert_uint_eq(t.n_samples, 1500);
  ck_assert_str_eq(t.note, "recording stopped before it finished; kept 1.50 s (1500 samples)");
  ck_assert_int_eq(t.number, 2);
  stance_store_trial_clear(&t);
  back = stance_store_trial_read(s, id, &e);
  assert_same_recording(head, back);
  stance_recording_free(back);
  stance_recording_free(head);

  /* Only the oldest pending sample's age triggers a commit: after 100 ms of waiting, one more
   * append commits everything. */
  w = stance_store_trial_begin(s, ses, rec, &e);
  head = stance_recording_slice(rec, 0, 10);
  ck_assert(stance_trial_writer_append(w, head, 0, &e));
  ck_assert_uint_eq(stance_trial_writer_committed(w), 0);
  g_usleep((STANCE_STORE_FLUSH_MS + 20) * 1000);
  ck_assert(stance_trial_writer_append(w, head, 5, &e));
  ck_assert_uint_eq(stance_trial_writer_committed(w), 15);
  ck_assert(stance_trial_writer_finish(w, &e));
  stance_trial_writer_free(w);
  stance_recording_free(head);

  ck_assert_msg(stance_store_check(s, &e), "%s", e ? e->message : "");
  stance_recording_free(growing);
  stance_recording_free(rec);
  stance_store_close(s);
  g_free(path);
  rm_dir(dir);
}
END_TEST

/* ======================================================================================
 * Analyses and results
 * ====================================================================================== */

static StanceAnalysis *
analyse(const StanceRecording *rec, const char *filter, char *options, size_t n)
{
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  StanceError err = {0};
  if (filter)
    ck_assert_msg(stance_analysis_options_parse_filter(&o, filter, &err) == 0, "%s", err.message);
  ck_assert_int_lt(stance_analysis_options_to_text(&o, options, n), (int)n);
  StanceAnalysis *a = NULL;
  ck_assert_msg(stance_analyse(rec, "simulator", &o, &a, &err) == 0, "%s", err.message);
  return a;
}

static const StanceResultRow *
find_row(GArray *rows, int rep, const char *metric, const char *limb)
{
  for (guint i = 0; i < rows->len; i++) {
    const StanceResultRow *r = &g_array_index(rows, StanceResultRow, i);
    if (r->rep == rep && strcmp(r->metric, metric) == 0 && strcmp(r->limb, limb) == 0)
      return r;
  }
  return NULL;
}

/* Every present value of a metric has its row, exactly equal (doubles stored as they are). */
static size_t
check_metric_rows(GArray *rows, int rep, const char *kind, StanceSide side, const StanceMetric *m)
{
  static const char *const limbs[] = {"left", "right", "total"};
  static const unsigned bits[] = {STANCE_HAS_LEFT, STANCE_HAS_RIGHT, STANCE_HAS_TOTAL};
  const double v[] = {m->left, m->right, m->total};
  size_t n = 0;
  for (int k = 0; k < 3; k++) {
    const StanceResultRow *r = find_row(rows, rep, m->id, limbs[k]);
    if (!(m->has & bits[k])) {
      ck_assert_msg(r == NULL, "rep %d %s %s: a row for an absent value", rep, m->id, limbs[k]);
      continue;
    }
    ck_assert_msg(r != NULL, "rep %d %s %s: no row", rep, m->id, limbs[k]);
    ck_assert_msg(r->value == v[k], "rep %d %s %s: %.17g stored, %.17g analysed", rep, m->id,
                  limbs[k], r->value, v[k]);
    ck_assert_str_eq(r->unit, m->unit);
    ck_assert_str_eq(r->kind, kind);
    ck_assert_int_eq(r->rep_side, side);
    ck_assert_str_eq(r->method_id, m->method.id);
    ck_assert_str_eq(r->formula, "");
    ck_assert(r->method_params && r->method_params[0] == '{');
    /* Each parameter's key appears in the JSON object. */
    for (int p = 0; p < m->method.n_params; p++) {
      char key[40];
      g_snprintf(key, sizeof key, "\"%s\":", m->method.params[p].key);
      ck_assert_msg(strstr(r->method_params, key), "%s lacks %s", r->method_params, key);
    }
    n++;
  }
  const StanceResultRow *a = find_row(rows, rep, m->id, "asym");
  if (m->has_asym) {
    ck_assert_msg(a != NULL, "rep %d %s: no asym row", rep, m->id);
    ck_assert(a->value == m->asym.value);
    ck_assert_str_eq(a->formula, m->asym.formula_id);
    ck_assert_int_eq(a->stronger, m->asym.stronger);
    ck_assert_str_eq(a->unit, "%");
    n++;
  } else {
    ck_assert(a == NULL);
  }
  return n;
}

START_TEST(test_analysis_save)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  gint64 ses = add_session(s, add_athlete(s, "Asa"), 0);
  /* Right limb 12 % weaker in force, RFD and impulse. */
  const StanceRecording *rec = shared_cmj();
  gint64 tid = stance_store_trial_import(s, ses, rec, &e);
  ck_assert(tid > 0);
  GBytes *raw_before = encoding(rec);

  ck_assert(!stance_store_analysis_current(s, tid, &(StanceStoreAnalysis){0}, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "never analysed", NULL);

  char opts1[1024];
  StanceAnalysis *a = analyse(rec, NULL, opts1, sizeof opts1);
  ck_assert_uint_eq(a->n_trials, stance_test_under_valgrind() ? 1 : 2);
  gint64 run1 = stance_store_analysis_save(s, tid, a, opts1, &e);
  ck_assert_msg(run1 > 0, "%s", e ? e->message : "");
  GArray *rows = stance_store_results(s, run1, &e);
  ck_assert_ptr_nonnull(rows);
  size_t expected = 0;
  for (size_t i = 0; i < a->n_trials; i++)
    for (size_t k = 0; k < a->trials[i].n_metrics; k++)
      expected += check_metric_rows(rows, a->trials[i].index, a->trials[i].kind, a->trials[i].side,
                                    &a->trials[i].metrics[k]);
  for (size_t k = 0; k < a->n_metrics; k++)
    expected += check_metric_rows(rows, 0, "", a->side, &a->metrics[k]);
  ck_assert_uint_eq(rows->len, expected);
  ck_assert_uint_gt(expected, 40);
  /* The known asymmetry: peak force, left stronger, lr_sum (bilateral default) of about
   * (1 - 0.88) / (1 + 0.88) = 6.4 %; within 2 points (noise, where the peaks fall). */
  const StanceResultRow *pf = find_row(rows, 1, "peak_force", "asym");
  ck_assert_ptr_nonnull(pf);
  ck_assert_str_eq(pf->formula, "lr_sum");
  ck_assert_int_eq(pf->stronger, STANCE_SIDE_LEFT);
  ck_assert_near(pf->value, 6.4, 2.0);
  /* Rows are in (rep, metric, limb) order. */
  for (guint i = 1; i < rows->len; i++) {
    const StanceResultRow *p = &g_array_index(rows, StanceResultRow, i - 1);
    const StanceResultRow *r = &g_array_index(rows, StanceResultRow, i);
    ck_assert(p->rep < r->rep || (p->rep == r->rep && strcmp(p->metric, r->metric) <= 0));
  }
  g_array_unref(rows);

  StanceStoreAnalysis cur = {0};
  ck_assert(stance_store_analysis_current(s, tid, &cur, &e));
  ck_assert_int_eq(cur.id, run1);
  ck_assert_str_eq(cur.options, opts1);
  ck_assert_str_eq(cur.stance_version, STANCE_VERSION);
  ck_assert(cur.current);
  stance_store_analysis_clear(&cur);

  /* Re-analysis with another filter adds a run and makes it current; the raw data stays. */
  char opts2[1024];
  StanceAnalysis *a2 = analyse(rec, "butter:4:50", opts2, sizeof opts2);
  ck_assert_str_ne(opts1, opts2);
  gint64 run2 = stance_store_analysis_save(s, tid, a2, opts2, &e);
  ck_assert(run2 > run1);
  ck_assert(stance_store_analysis_current(s, tid, &cur, &e));
  ck_assert_int_eq(cur.id, run2);
  ck_assert_str_eq(cur.options, opts2);
  stance_store_analysis_clear(&cur);
  GPtrArray *runs = stance_store_analysis_list(s, tid, &e);
  ck_assert_uint_eq(runs->len, 2);
  ck_assert_int_eq(((StanceStoreAnalysis *)runs->pdata[0])->id, run1);
  ck_assert(!((StanceStoreAnalysis *)runs->pdata[0])->current);
  ck_assert(((StanceStoreAnalysis *)runs->pdata[1])->current);
  g_ptr_array_unref(runs);
  rows = stance_store_results(s, run2, &e);
  const StanceMetric *m2 = stance_trial_metric(&a2->trials[0], "peak_force");
  ck_assert(find_row(rows, 1, "peak_force", "left")->value == m2->left);
  g_array_unref(rows);
  /* The first run's rows are still there, unchanged. */
  rows = stance_store_results(s, run1, &e);
  ck_assert(find_row(rows, 1, "peak_force", "left")->value ==
            stance_trial_metric(&a->trials[0], "peak_force")->left);
  g_array_unref(rows);
  StanceRecording *back = stance_store_trial_read(s, tid, &e);
  GBytes *raw_after = encoding(back);
  ck_assert(g_bytes_equal(raw_before, raw_after));
  g_bytes_unref(raw_after);
  stance_recording_free(back);

  /* analysis_put stores rows as given (bundle import) and keeps time, version and options. */
  rows = stance_store_results(s, run1, &e);
  StanceStoreAnalysis meta = {.created_unix_ms = 1650000000000, .options = opts1, .current = TRUE};
  g_strlcpy(meta.stance_version, "0.0.9", sizeof meta.stance_version);
  gint64 tid2 = stance_store_trial_import(s, ses, rec, &e);
  gint64 run3 = stance_store_analysis_put(s, tid2, &meta, rows, &e);
  ck_assert_msg(run3 > 0, "%s", e ? e->message : "");
  GArray *rows3 = stance_store_results(s, run3, &e);
  ck_assert_uint_eq(rows3->len, rows->len);
  for (guint i = 0; i < rows->len; i++) {
    const StanceResultRow *x = &g_array_index(rows, StanceResultRow, i);
    const StanceResultRow *y = &g_array_index(rows3, StanceResultRow, i);
    ck_assert(x->rep == y->rep && x->value == y->value && x->stronger == y->stronger);
    ck_assert_str_eq(x->metric, y->metric);
    ck_assert_str_eq(x->limb, y->limb);
    ck_assert_str_eq(x->formula, y->formula);
    ck_assert_str_eq(x->method_params, y->method_params);
  }
  g_array_unref(rows3);
  ck_assert(stance_store_analysis_current(s, tid2, &cur, &e));
  ck_assert_int_eq(cur.created_unix_ms, 1650000000000);
  ck_assert_str_eq(cur.stance_version, "0.0.9");
  stance_store_analysis_clear(&cur);
  /* A bad row is refused, naming it. */
  StanceResultRow *r0 = &g_array_index(rows, StanceResultRow, 0);
  g_strlcpy(r0->limb, "middle", sizeof r0->limb);
  ck_assert_int_eq(stance_store_analysis_put(s, tid2, &meta, rows, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "result row 0", "\"middle\"", NULL);
  g_strlcpy(r0->limb, "left", sizeof r0->limb);
  r0->value = NAN;
  ck_assert_int_eq(stance_store_analysis_put(s, tid2, &meta, rows, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "result row 0", "finite", NULL);
  g_array_unref(rows);

  ck_assert_int_eq(stance_store_analysis_save(s, 5555, a, opts1, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "5555", NULL);
  ck_assert_ptr_null(stance_store_results(s, 5555, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "5555", NULL);
  stance_analysis_free(a);
  stance_analysis_free(a2);
  g_bytes_unref(raw_before);
  stance_store_close(s);
  g_free(path);
  rm_dir(dir);
}
END_TEST

/* ======================================================================================
 * Trends
 * ====================================================================================== */

static gint64
tiny_trial(StanceStore *s, gint64 session, StanceProtocol proto)
{
  StanceRecording *rec = stance_recording_new(STANCE_LAYOUT_COMBINED, 1000.0, false);
  double f = 700.0;
  for (int i = 0; i < 100; i++)
    stance_recording_append_forces(rec, &f, NULL, 0);
  rec->meta.protocol = proto;
  GError *e = NULL;
  gint64 id = stance_store_trial_import(s, session, rec, &e);
  ck_assert_msg(id > 0, "%s", e ? e->message : "");
  stance_recording_free(rec);
  return id;
}

static void
push_row(GArray *rows, int rep, const char *limb, double v, const char *formula)
{
  StanceResultRow r = {.rep = rep, .value = v, .stronger = STANCE_SIDE_BOTH};
  g_strlcpy(r.kind, "jump", sizeof r.kind);
  g_strlcpy(r.metric, "peak_force", sizeof r.metric);
  g_strlcpy(r.unit, strcmp(limb, "asym") ? "N" : "%", sizeof r.unit);
  g_strlcpy(r.limb, limb, sizeof r.limb);
  g_strlcpy(r.method_id, "peak.max", sizeof r.method_id);
  if (formula) {
    g_strlcpy(r.formula, formula, sizeof r.formula);
    r.stronger = STANCE_SIDE_LEFT;
  }
  g_array_append_val(rows, r);
}

/* One run for a trial: per rep (left, right, asym); total = left + right. */
static gint64
put_run(StanceStore *s, gint64 trial, int n_reps, const double *left, const double *right,
        const double *asym, const char *formula, gboolean current)
{
  GArray *rows = g_array_new(FALSE, TRUE, sizeof(StanceResultRow));
  for (int i = 0; i < n_reps; i++) {
    push_row(rows, i + 1, "left", left[i], NULL);
    push_row(rows, i + 1, "right", right[i], NULL);
    push_row(rows, i + 1, "total", left[i] + right[i], NULL);
    push_row(rows, i + 1, "asym", asym[i], formula);
  }
  StanceStoreAnalysis meta = {.options = (gchar *)"protocol=cmj", .current = current};
  GError *e = NULL;
  gint64 id = stance_store_analysis_put(s, trial, &meta, rows, &e);
  ck_assert_msg(id > 0, "%s", e ? e->message : "");
  g_array_unref(rows);
  return id;
}

START_TEST(test_trend)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  gint64 ath = add_athlete(s, "Tess");
  gint64 s1 = add_session(s, ath, 1700000000000);
  gint64 s2 = add_session(s, ath, 1700600000000);
  gint64 s3 = add_session(s, ath, 1701200000000);

  /* Session 1: trial A reps (1000, 900), (1010, 905); trial B (1020, 910); an SJ trial (left out
   * by protocol). */
  put_run(s, tiny_trial(s, s1, STANCE_PROTO_CMJ), 2, (double[]){1000, 1010}, (double[]){900, 905},
          (double[]){5.0, 5.5}, "lr_sum", TRUE);
  put_run(s, tiny_trial(s, s1, STANCE_PROTO_CMJ), 1, (double[]){1020}, (double[]){910},
          (double[]){6.0}, "lr_sum", TRUE);
  put_run(s, tiny_trial(s, s1, STANCE_PROTO_SJ), 1, (double[]){7777}, (double[]){7000},
          (double[]){1.0}, "lr_sum", TRUE);
  /* Session 2: (1050, 950), (1040, 960); a rejected trial (left out); an asymmetry by another
   * formula (left out of the asym mean: the trend uses the most frequent formula). */
  put_run(s, tiny_trial(s, s2, STANCE_PROTO_CMJ), 1, (double[]){1050}, (double[]){950},
          (double[]){4.5}, "lr_sum", TRUE);
  put_run(s, tiny_trial(s, s2, STANCE_PROTO_CMJ), 1, (double[]){1040}, (double[]){960},
          (double[]){4.0}, "lr_sum", TRUE);
  gint64 rej = tiny_trial(s, s2, STANCE_PROTO_CMJ);
  put_run(s, rej, 1, (double[]){5000}, (double[]){100}, (double[]){96}, "lr_sum", TRUE);
  ck_assert(stance_store_trial_set_accepted(s, rej, FALSE, "bad landing", &e));
  put_run(s, tiny_trial(s, s2, STANCE_PROTO_CMJ), 0, NULL, NULL, NULL, NULL, TRUE);
  {
    GArray *rows = g_array_new(FALSE, TRUE, sizeof(StanceResultRow));
    push_row(rows, 1, "asym", 91.0, "lsi");
    StanceStoreAnalysis meta = {.options = (gchar *)"protocol=cmj", .current = TRUE};
    ck_assert(stance_store_analysis_put(s, tiny_trial(s, s2, STANCE_PROTO_CMJ), &meta, rows, &e));
    g_array_unref(rows);
  }
  /* Session 3: one trial (1100, 1000) whose older run (9999) is no longer current. */
  gint64 t3 = tiny_trial(s, s3, STANCE_PROTO_CMJ);
  put_run(s, t3, 1, (double[]){9999}, (double[]){9999}, (double[]){0.0}, "lr_sum", TRUE);
  put_run(s, t3, 1, (double[]){1100}, (double[]){1000}, (double[]){4.8}, "lr_sum", TRUE);

  for (int pass = 0; pass < 2; pass++) {
    /* Pass 1: protocol UNKNOWN picks the most frequent one, CMJ, and gives the same trend. */
    StanceTrend *t = stance_store_trend(s, ath, pass ? STANCE_PROTO_UNKNOWN : STANCE_PROTO_CMJ,
                                        "peak_force", &e);
    ck_assert_msg(t != NULL, "%s", e ? e->message : "");
    ck_assert_int_eq(t->protocol, STANCE_PROTO_CMJ);
    ck_assert_str_eq(t->metric, "peak_force");
    ck_assert_str_eq(t->unit, "N");
    ck_assert_str_eq(t->formula, "lr_sum");
    ck_assert_uint_eq(t->points->len, 3);
    const StanceTrendPoint *p = (const StanceTrendPoint *)(void *)t->points->data;
    ck_assert_int_eq(p[0].session_id, s1);
    ck_assert_int_eq(p[1].session_id, s2);
    ck_assert_int_eq(p[2].session_id, s3);
    ck_assert_int_eq(p[0].started_unix_ms, 1700000000000);
    ck_assert_int_eq(p[0].n_trials, 2);
    /* Two: the trial with only an lsi asymmetry has no value the trend uses. */
    ck_assert_int_eq(p[1].n_trials, 2);
    ck_assert_int_eq(p[2].n_trials, 1);
    /* Means by hand: S1 left (1000 + 1010 + 1020) / 3 = 1010, right 905, total 1915, asym 5.5;
     * S2 left 1045, right 955, total 2000, asym 4.25; S3 1100, 1000, 2100, 4.8. */
    const double tol = 1e-9;
    ck_assert_near(p[0].left_mean, 1010, tol);
    ck_assert_near(p[0].right_mean, 905, tol);
    ck_assert_near(p[0].total_mean, 1915, tol);
    ck_assert_near(p[0].asym_mean, 5.5, tol);
    ck_assert_near(p[1].left_mean, 1045, tol);
    ck_assert_near(p[1].right_mean, 955, tol);
    ck_assert_near(p[1].total_mean, 2000, tol);
    ck_assert_near(p[1].asym_mean, 4.25, tol);
    ck_assert_near(p[2].left_mean, 1100, tol);
    ck_assert_near(p[2].asym_mean, 4.8, tol);
    for (int k = 0; k < 3; k++) {
      ck_assert(p[k].has_left && p[k].has_right && p[k].has_total && p[k].has_asym);
      ck_assert_int_eq(p[k].stronger, STANCE_SIDE_LEFT);
    }
    /* TE = sqrt(sum of within-session squares / sum of degrees of freedom) (session 3 has one
     * value: no degree of freedom). Left: (200 + 50) / 3; right: (50 + 50) / 3; total:
     * (450 + 0) / 3; asym: (0.5 + 0.125) / 3. MDC95 = 1.96 sqrt(2) TE. */
    ck_assert(t->has_mdc_left && t->has_mdc_right && t->has_mdc_total && t->has_mdc_asym);
    ck_assert_near(t->te_left, sqrt(250.0 / 3), tol);
    ck_assert_near(t->te_right, sqrt(100.0 / 3), tol);
    ck_assert_near(t->te_total, sqrt(150.0), tol);
    ck_assert_near(t->te_asym, sqrt(0.625 / 3), tol);
    ck_assert_near(t->mdc95_left, 1.96 * sqrt(2.0) * sqrt(250.0 / 3), tol);
    ck_assert_near(t->mdc95_left, 25.30, 0.005);
    ck_assert_near(t->mdc95_asym, 1.96 * sqrt(2.0) * sqrt(0.625 / 3), tol);
    stance_trend_free(t);
  }
  /* One value per session: no typical error. */
  gint64 other = add_athlete(s, "Uma");
  put_run(s, tiny_trial(s, add_session(s, other, 1700000000000), STANCE_PROTO_CMJ), 1,
          (double[]){800}, (double[]){820}, (double[]){-1.2}, "lr_sum", TRUE);
  put_run(s, tiny_trial(s, add_session(s, other, 1700100000000), STANCE_PROTO_CMJ), 1,
          (double[]){810}, (double[]){800}, (double[]){0.6}, "lr_sum", TRUE);
  StanceTrend *t = stance_store_trend(s, other, STANCE_PROTO_CMJ, "peak_force", &e);
  ck_assert_uint_eq(t->points->len, 2);
  ck_assert(!t->has_mdc_left && !t->has_mdc_asym);
  ck_assert_int_eq(g_array_index(t->points, StanceTrendPoint, 0).stronger, STANCE_SIDE_RIGHT);
  stance_trend_free(t);
  /* A metric nobody has: NOT_FOUND listing what exists. */
  ck_assert_ptr_null(stance_store_trend(s, ath, STANCE_PROTO_CMJ, "jump_height", &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "jump_height", "metrics there: peak_force", NULL);
  ck_assert_ptr_null(stance_store_trend(s, ath, STANCE_PROTO_IMTP, "peak_force", &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "for protocol imtp", NULL);
  stance_store_close(s);
  g_free(path);
  rm_dir(dir);
}
END_TEST

/* ======================================================================================
 * Calibrations
 * ====================================================================================== */

static void
make_record(StanceCalibRecord *r, const char *serial, gint64 created, guint32 seq)
{
  memset(r, 0, sizeof *r);
  r->format_version = STANCE_CALIB_RECORD_VERSION;
  StanceError err = {0};
  ck_assert_int_eq(stance_calib_make_id(serial, created, seq, r->id, sizeof r->id, &err), 0);
  g_strlcpy(r->board_serial, serial, sizeof r->board_serial);
  r->sequence = seq;
  r->created_unix_ms = created;
  g_strlcpy(r->plan_name, "Centre and corners, 20/50/100 kg", sizeof r->plan_name);
  r->plan_steps = 61;
  g_strlcpy(r->fit_method, STANCE_CALIB_FIT_METHOD, sizeof r->fit_method);
  r->gravity_m_s2 = 9.80665;
  stance_calibration_default(&r->calibration);
  for (int c = 0; c < STANCE_N_CELLS; c++) {
    r->calibration.gain_n_per_count[c] = 0.0004 * (1.0 + 0.013 * c) + 1e-13;
    r->calibration.offset_counts[c] = 2000.0 + 17.25 * c;
    r->gain_se_n_per_count[c] = 1.5e-7 * (c + 1);
    r->offset_se_counts[c] = 0.5 + c;
  }
  r->calibration.plate[1].cell[2].x_mm = 171.5;
  for (int p = 0; p < 2; p++) {
    r->full_scale_n[p] = 981.0 + p;
    r->residual_rms_n[p] = 0.21 + p;
    r->force_error_pct_fs[p] = 0.12 + p;
    r->cop_error_mm[p] = 1.7 + p;
    r->nonlinearity_pct_fs[p] = 0.05 + p;
    r->hysteresis_pct_fs[p] = 0.03 + p;
    r->zero_return_pct_fs[p] = 0.01 + p;
  }
  r->n_faults = 1;
  r->passed = true;
}

START_TEST(test_calibrations)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  const gint64 day = 1764000000000; /* 2025-11-24 16:00 UTC */
  StanceCalibRecord r1, r2, r3;
  make_record(&r1, "SN0042", day, 1);
  make_record(&r2, "SN0042", day + 3600000, 2);
  make_record(&r3, "SN0007", day - 86400000, 1);
  ck_assert_uint_eq(stance_store_calibration_next_sequence(s, "SN0042", day, &e), 1);
  ck_assert_msg(stance_store_calibration_save(s, &r1, "{\"format\":\"x\"}", &e), "%s",
                e ? e->message : "");
  ck_assert_uint_eq(stance_store_calibration_next_sequence(s, "SN0042", day + 7200000, &e), 2);
  ck_assert(stance_store_calibration_save(s, &r2, NULL, &e));
  ck_assert(stance_store_calibration_save(s, &r3, NULL, &e));
  ck_assert_uint_eq(stance_store_calibration_next_sequence(s, "SN0042", day, &e), 3);
  ck_assert_uint_eq(stance_store_calibration_next_sequence(s, "SN0042", day + 86400000, &e), 1);
  ck_assert_uint_eq(stance_store_calibration_next_sequence(s, "SN0007", day, &e), 1);

  ck_assert(!stance_store_calibration_save(s, &r1, NULL, &e));
  assert_error(&e, STANCE_STORE_ERROR_EXISTS, r1.id, NULL);

  StanceStoreCalibration c = {0};
  ck_assert_msg(stance_store_calibration_get(s, r1.id, &c, &e), "%s", e ? e->message : "");
  ck_assert_str_eq(c.id, r1.id);
  ck_assert_str_eq(c.board_serial, "SN0042");
  ck_assert_uint_eq(c.sequence, 1);
  ck_assert_int_eq(c.created_unix_ms, day);
  ck_assert_str_eq(c.plan_name, r1.plan_name);
  ck_assert_str_eq(c.fit_method, STANCE_CALIB_FIT_METHOD);
  ck_assert(c.passed);
  ck_assert_uint_eq(c.n_faults, 1);
  ck_assert_str_eq(c.result_json, "{\"format\":\"x\"}");
  ck_assert_int_eq(c.written_to_board_unix_ms, 0);
  /* Lossless: the calibration as the record gives it to recordings, byte for byte. */
  StanceCalibration want;
  stance_calib_record_to_calibration(&r1, &want);
  ck_assert_int_eq(
      memcmp(c.calibration.gain_n_per_count, want.gain_n_per_count, sizeof want.gain_n_per_count),
      0);
  ck_assert_int_eq(
      memcmp(c.calibration.offset_counts, want.offset_counts, sizeof want.offset_counts), 0);
  ck_assert_int_eq(memcmp(c.calibration.plate, want.plate, sizeof want.plate), 0);
  ck_assert_str_eq(c.calibration.id, r1.id);
  ck_assert_str_eq(c.calibration.board_serial, "SN0042");
  ck_assert_int_eq(c.calibration.created_unix_ms, day);
  for (int p = 0; p < 2; p++) {
    ck_assert(c.full_scale_n[p] == r1.full_scale_n[p]);
    ck_assert(c.force_error_pct_fs[p] == r1.force_error_pct_fs[p]);
    ck_assert(c.cop_error_mm[p] == r1.cop_error_mm[p]);
    ck_assert(c.nonlinearity_pct_fs[p] == r1.nonlinearity_pct_fs[p]);
    ck_assert(c.hysteresis_pct_fs[p] == r1.hysteresis_pct_fs[p]);
  }
  ck_assert_int_eq(
      memcmp(c.gain_se_n_per_count, r1.gain_se_n_per_count, sizeof c.gain_se_n_per_count), 0);
  stance_store_calibration_clear(&c);

  ck_assert(stance_store_calibration_latest(s, "SN0042", &c, &e));
  ck_assert_str_eq(c.id, r2.id);
  ck_assert_ptr_null(c.result_json);
  stance_store_calibration_clear(&c);
  ck_assert(!stance_store_calibration_latest(s, "SN9999", &c, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "SN9999", NULL);
  ck_assert(!stance_store_calibration_get(s, "SN0042-2020-01-01-1", &c, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "SN0042-2020-01-01-1", NULL);

  GPtrArray *all = stance_store_calibration_list(s, NULL, &e);
  ck_assert_uint_eq(all->len, 3);
  ck_assert_str_eq(((StanceStoreCalibration *)all->pdata[0])->id, r2.id);
  ck_assert_str_eq(((StanceStoreCalibration *)all->pdata[2])->id, r3.id);
  g_ptr_array_unref(all);
  all = stance_store_calibration_list(s, "SN0042", &e);
  ck_assert_uint_eq(all->len, 2);
  g_ptr_array_unref(all);

  ck_assert(stance_store_calibration_mark_written(s, r1.id, day + 5000, &e));
  ck_assert(stance_store_calibration_get(s, r1.id, &c, &e));
  ck_assert_int_eq(c.written_to_board_unix_ms, day + 5000);
  stance_store_calibration_clear(&c);
  ck_assert(!stance_store_calibration_mark_written(s, "nope", day, &e));
  assert_error(&e, STANCE_STORE_ERROR_NOT_FOUND, "nope", NULL);

  /* Refusals: a gain of zero, a non-finite figure. */
  StanceCalibRecord bad;
  make_record(&bad, "SN0042", day, 9);
  bad.calibration.gain_n_per_count[3] = 0.0;
  ck_assert(!stance_store_calibration_save(s, &bad, NULL, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, bad.id, NULL);
  make_record(&bad, "SN0042", day, 9);
  bad.cop_error_mm[1] = NAN;
  ck_assert(!stance_store_calibration_save(s, &bad, NULL, &e));
  assert_error(&e, STANCE_STORE_ERROR_INVALID, "cop_error[1]", NULL);
  stance_store_close(s);
  g_free(path);
  rm_dir(dir);
}
END_TEST

/* ======================================================================================
 * Migration from schema version 1
 * ====================================================================================== */

static void
sql_ok(sqlite3 *db, const char *sql)
{
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
  sqlite3_free(msg);
}

/* Packs CELLS samples as docs/store.md says: 8 int32 LE counts then a uint16 LE status. */
static guint8 *
pack_cells(const StanceRecording *rec, size_t from, size_t n)
{
  guint8 *buf = g_malloc(n * 34);
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < 8; c++)
      stance_put_le32(buf + i * 34 + 4 * c, (guint32)rec->counts[(from + i) * 8 + c]);
    stance_put_le16(buf + i * 34 + 32, rec->status[from + i]);
  }
  return buf;
}

/* Writes a version-1 database as Stance 0.1 did, with one athlete, session, trial (two chunks),
 * analysis run and calibration. */
static void
write_v1(const char *path, const StanceRecording *rec, const StanceCalibRecord *cr)
{
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  sql_ok(db, "PRAGMA journal_mode = WAL");
  sql_ok(db, "BEGIN");
  sql_ok(db, _stance_store_sqlite_migration(1));
  sql_ok(db, "PRAGMA user_version = 1; PRAGMA application_id = 1398033987");
  sql_ok(db, "INSERT INTO athletes (uuid, name, birth_date, sex, dominant, involved, "
             "injury_notes, created_unix_ms) VALUES ('5d1c9a4e-1111-4a2b-9c3d-0123456789ab', "
             "'Old Timer', '1980-01-02', 'male', 'left', 'right', 'meniscus', 1600000000000)");
  sql_ok(db, "INSERT INTO athlete_masses (athlete_id, measured_unix_ms, mass_kg, source) "
             "VALUES (1, 1600000000000, 82.5, 'plates')");
  sql_ok(db, "INSERT INTO sessions (uuid, athlete_id, started_unix_ms, place) VALUES "
             "('5d1c9a4e-2222-4a2b-9c3d-0123456789ab', 1, 1600000100000, 'Old gym')");
  StanceRecording h = *rec;
  h.n_samples = 0;
  uint8_t *hdr = NULL;
  size_t hdr_len = 0;
  StanceError err = {0};
  ck_assert_int_eq(stance_file_encode(&h, &hdr, &hdr_len, &err), 0);
  sqlite3_stmt *st = NULL;
  ck_assert_int_eq(
      sqlite3_prepare_v2(db,
                         "INSERT INTO trials (uuid, session_id, number, protocol, side, layout, "
                         "sample_rate_hz, n_samples, started_unix_ms, state, header, source) "
                         "VALUES ('5d1c9a4e-3333-4a2b-9c3d-0123456789ab', 1, 1, 'cmj', 'both', "
                         "'cells', 1000, ?, 1600000100000, 'complete', ?, 'simulator')",
                         -1, &st, NULL),
      SQLITE_OK);
  sqlite3_bind_int64(st, 1, (sqlite3_int64)rec->n_samples);
  sqlite3_bind_blob(st, 2, hdr, (int)hdr_len, SQLITE_TRANSIENT);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  free(hdr);
  size_t half = rec->n_samples / 2;
  for (int k = 0; k < 2; k++) {
    size_t from = k ? half : 0, n = k ? rec->n_samples - half : half;
    guint8 *data = pack_cells(rec, from, n);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "INSERT INTO trial_chunks (trial_id, seq, first_sample, "
                                        "n_samples, data, crc32) VALUES (1, ?, ?, ?, ?, ?)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int(st, 1, k);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)from);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)n);
    sqlite3_bind_blob(st, 4, data, (int)(n * 34), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, stance_crc32(0, data, n * 34));
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    g_free(data);
  }
  sql_ok(db, "INSERT INTO analyses (trial_id, created_unix_ms, options, stance_version, current) "
             "VALUES (1, 1600000200000, 'protocol=cmj', '0.1.0', 1)");
  sql_ok(db, "INSERT INTO results (analysis_id, rep, kind, rep_side, metric, unit, limb, value, "
             "method_id, method_params, formula, stronger) VALUES (1, 1, 'jump', 'both', "
             "'peak_force', 'N', 'asym', 7.25, 'peak.max', '{}', 'lr_sum', 'left')");
  StanceCalibration cal;
  stance_calib_record_to_calibration(cr, &cal);
  guint8 *blob = NULL;
  gsize blen = 0;
  GError *e = NULL;
  ck_assert(_stance_store_calib_encode(&cal, &blob, &blen, &e));
  guint8 zeros[64] = {0};
  ck_assert_int_eq(
      sqlite3_prepare_v2(
          db,
          "INSERT INTO calibrations VALUES (?, 'SN0042', 1, ?, 1, 'plan', 61, 'fit', 9.81, 1, 0, "
          "?, ?, ?, 981, 982, 0.1, 0.2, 0.3, 0.4, 1.5, 1.6, 0.05, 0.06, 0.07, 0.08, 0.01, 0.02, "
          "NULL)",
          -1, &st, NULL),
      SQLITE_OK);
  sqlite3_bind_text(st, 1, cr->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, cr->created_unix_ms);
  sqlite3_bind_blob(st, 3, blob, (int)blen, SQLITE_STATIC);
  sqlite3_bind_blob(st, 4, zeros, 64, SQLITE_STATIC);
  sqlite3_bind_blob(st, 5, zeros, 64, SQLITE_STATIC);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  g_free(blob);
  sql_ok(db, "COMMIT");
  sqlite3_close(db);
}

static int
file_user_version(const char *path)
{
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  int v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void
check_v1_content(StanceStore *s, const StanceRecording *rec, const StanceCalibRecord *cr,
                 gint64 written)
{
  GError *e = NULL;
  StanceAthlete a;
  stance_athlete_init(&a);
  ck_assert_msg(stance_store_athlete_find(s, "old timer", &a, &e), "%s", e ? e->message : "");
  ck_assert_str_eq(a.birth_date, "1980-01-02");
  ck_assert_int_eq(a.sex, STANCE_SEX_MALE);
  ck_assert_int_eq(a.dominant, STANCE_SIDE_LEFT);
  ck_assert_int_eq(a.involved, STANCE_SIDE_RIGHT);
  ck_assert_str_eq(a.injury_notes, "meniscus");
  GArray *ms = stance_store_athlete_masses(s, a.id, &e);
  ck_assert_uint_eq(ms->len, 1);
  ck_assert(g_array_index(ms, StanceMassEntry, 0).mass_kg == 82.5);
  g_array_unref(ms);
  gint64 sid = stance_store_session_by_uuid(s, "5d1c9a4e-2222-4a2b-9c3d-0123456789ab", &e);
  ck_assert_int_eq(sid, 1);
  stance_athlete_clear(&a);
  StanceRecording *back = stance_store_trial_read(s, 1, &e);
  ck_assert_msg(back != NULL, "%s", e ? e->message : "");
  assert_same_recording(rec, back);
  stance_recording_free(back);
  StanceStoreAnalysis cur = {0};
  ck_assert(stance_store_analysis_current(s, 1, &cur, &e));
  GArray *rows = stance_store_results(s, cur.id, &e);
  ck_assert_uint_eq(rows->len, 1);
  const StanceResultRow *r = &g_array_index(rows, StanceResultRow, 0);
  ck_assert(r->value == 7.25);
  ck_assert_str_eq(r->formula, "lr_sum");
  ck_assert_int_eq(r->stronger, STANCE_SIDE_LEFT);
  g_array_unref(rows);
  stance_store_analysis_clear(&cur);
  StanceStoreCalibration c = {0};
  ck_assert_msg(stance_store_calibration_get(s, cr->id, &c, &e), "%s", e ? e->message : "");
  ck_assert_int_eq(c.written_to_board_unix_ms, written); /* the column version 2 added */
  ck_assert(c.cop_error_mm[1] == 1.6);
  ck_assert_int_eq(memcmp(c.calibration.gain_n_per_count, cr->calibration.gain_n_per_count,
                          sizeof c.calibration.gain_n_per_count),
                   0);
  stance_store_calibration_clear(&c);
  ck_assert_msg(stance_store_check(s, &e), "%s", e ? e->message : "");
}

START_TEST(test_migration_v1)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceRecording *rec = synthetic_cells(3001, 3);
  StanceCalibRecord cr;
  make_record(&cr, "SN0042", 1600000000000, 1);
  write_v1(path, rec, &cr);
  ck_assert_int_eq(file_user_version(path), 1);

  /* Read-only: served from a migrated copy in memory; the file is left at version 1. */
  StanceStore *s = open_ok(path, STANCE_STORE_READ_ONLY);
  ck_assert_int_eq(stance_store_schema_version(s), 2);
  check_v1_content(s, rec, &cr, 0);
  stance_store_close(s);
  ck_assert_int_eq(file_user_version(path), 1);

  /* Writable: migrated in place, data intact, and the new column usable. */
  s = open_ok(path, STANCE_STORE_DEFAULT);
  ck_assert_int_eq(stance_store_schema_version(s), 2);
  check_v1_content(s, rec, &cr, 0);
  GError *e = NULL;
  ck_assert(stance_store_calibration_mark_written(s, cr.id, 1600000300000, &e));
  stance_store_close(s);
  ck_assert_int_eq(file_user_version(path), 2);
  s = open_ok(path, STANCE_STORE_DEFAULT);
  check_v1_content(s, rec, &cr, 1600000300000);
  stance_store_close(s);
  stance_recording_free(rec);
  g_free(path);
  rm_dir(dir);
}
END_TEST

/* ======================================================================================
 * Bad files
 * ====================================================================================== */

static void
write_bytes(const char *path, const void *data, gsize len)
{
  GError *e = NULL;
  ck_assert_msg(g_file_set_contents(path, data, (gssize)len, &e), "%s", e ? e->message : "");
}

START_TEST(test_bad_files)
{
  char *dir = stance_test_tmpdir();
  GError *e = NULL;

  gchar *text = g_build_filename(dir, "notes.db", NULL);
  const char *words = "athlete,peak_force\nAna,1234\n";
  write_bytes(text, words, strlen(words));
  ck_assert_ptr_null(stance_store_open(text, STANCE_STORE_DEFAULT, &e));
  assert_error(&e, STANCE_STORE_ERROR_CORRUPT, text, "is not a Stance database",
               "not an SQLite file", NULL);

  /* Another application's SQLite file. */
  gchar *other = g_build_filename(dir, "other.sqlite", NULL);
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open(other, &db), SQLITE_OK);
  sql_ok(db, "CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('x')");
  sqlite3_close(db);
  ck_assert_ptr_null(stance_store_open(other, STANCE_STORE_DEFAULT, &e));
  assert_error(&e, STANCE_STORE_ERROR_CORRUPT, other, "another application's SQLite file",
               "0x53544E43", NULL);

  /* A Stance database of a newer schema. */
  gchar *newer = g_build_filename(dir, "newer.db", NULL);
  stance_store_close(open_ok(newer, STANCE_STORE_DEFAULT));
  ck_assert_int_eq(sqlite3_open(newer, &db), SQLITE_OK);
  sql_ok(db, "PRAGMA user_version = 3");
  sqlite3_close(db);
  ck_assert_ptr_null(stance_store_open(newer, STANCE_STORE_DEFAULT, &e));
  assert_error(&e, STANCE_STORE_ERROR_VERSION, newer, "schema version 3", "version 2", NULL);
  ck_assert_ptr_null(stance_store_open(newer, STANCE_STORE_READ_ONLY, &e));
  assert_error(&e, STANCE_STORE_ERROR_VERSION, "update Stance", NULL);

  /* A populated store, then a truncated copy of it. */
  gchar *good = g_build_filename(dir, "good.db", NULL);
  StanceStore *s = open_ok(good, STANCE_STORE_DEFAULT);
  gint64 ses = add_session(s, add_athlete(s, "Tru"), 0);
  StanceRecording *rec = synthetic_cells(13606, 9);
  gint64 tid = stance_store_trial_import(s, ses, rec, &e);
  ck_assert(tid > 0);
  stance_store_close(s);
  gchar *contents = NULL;
  gsize len = 0;
  ck_assert(g_file_get_contents(good, &contents, &len, NULL));
  ck_assert_uint_gt(len, 100000);
  gchar *cut = g_build_filename(dir, "cut.db", NULL);
  write_bytes(cut, contents, len / 2);
  ck_assert_ptr_null(stance_store_open(cut, STANCE_STORE_DEFAULT, &e));
  assert_error(&e, STANCE_STORE_ERROR_CORRUPT, cut, "truncated", NULL);
  write_bytes(cut, contents, 60);
  ck_assert_ptr_null(stance_store_open(cut, STANCE_STORE_READ_ONLY, &e));
  assert_error(&e, STANCE_STORE_ERROR_CORRUPT, "not an SQLite file", NULL);

  /* Damaged pages: every page after the first few overwritten with a pattern. Either the open
   * or the check must say the file is damaged. */
  gchar *good2 = g_build_filename(dir, "good2.db", NULL);
  write_bytes(good2, contents, len);
  gchar *dmg = g_build_filename(dir, "damaged.db", NULL);
  for (gsize i = 4 * 4096; i < len; i++)
    contents[i] = (char)(i * 131 + 7);
  write_bytes(dmg, contents, len);
  s = stance_store_open(dmg, STANCE_STORE_NO_RECOVER, &e);
  if (s) {
    ck_assert(!stance_store_check(s, &e));
    stance_store_close(s);
  }
  assert_error(&e, STANCE_STORE_ERROR_CORRUPT, dmg, NULL);
  g_free(contents);

  /* A damaged chunk (its bytes changed, its CRC not): read and check name trial and chunk. */
  ck_assert_int_eq(sqlite3_open(good, &db), SQLITE_OK);
  sql_ok(db, "UPDATE trial_chunks SET data = zeroblob(length(data)) WHERE seq = 1");
  sqlite3_close(db);
  s = open_ok(good, STANCE_STORE_DEFAULT);
  ck_assert_ptr_null(stance_store_trial_read(s, tid, &e));
  assert_error(&e, STANCE_STORE_ERROR_CORRUPT, "trial 1, chunk 1", "CRC-32 mismatch", NULL);
  ck_assert(!stance_store_check(s, &e));
  assert_error(&e, STANCE_STORE_ERROR_CORRUPT, "trial 1, chunk 1", "CRC-32", NULL);
  stance_store_close(s);
  /* A missing chunk (in an intact copy): the continuity check names it. */
  ck_assert_int_eq(sqlite3_open(good2, &db), SQLITE_OK);
  sql_ok(db, "DELETE FROM trial_chunks WHERE seq = 0");
  sqlite3_close(db);
  s = open_ok(good2, STANCE_STORE_DEFAULT);
  ck_assert_ptr_null(stance_store_trial_read(s, tid, &e));
  assert_error(&e, STANCE_STORE_ERROR_CORRUPT, "trial 1, chunk 1", "starts at sample 8192",
               "expected 0", NULL);
  ck_assert(!stance_store_check(s, &e));
  assert_error(&e, STANCE_STORE_ERROR_CORRUPT, "trial 1, chunk 1", "a chunk is missing", NULL);
  stance_store_close(s);
  /* No chunk at all for a trial that declares samples. */
  ck_assert_int_eq(sqlite3_open(good2, &db), SQLITE_OK);
  sql_ok(db, "DELETE FROM trial_chunks");
  sqlite3_close(db);
  s = open_ok(good2, STANCE_STORE_DEFAULT);
  ck_assert(!stance_store_check(s, &e));
  assert_error(&e, STANCE_STORE_ERROR_CORRUPT, "trial 1", "declares 13606 samples", "no chunk",
               NULL);
  stance_store_close(s);

  /* A folder is not a database. */
  ck_assert_ptr_null(stance_store_open(dir, STANCE_STORE_DEFAULT, &e));
  assert_error(&e, STANCE_STORE_ERROR_IO, "folder", NULL);

  stance_recording_free(rec);
  g_free(text);
  g_free(other);
  g_free(newer);
  g_free(good);
  g_free(good2);
  g_free(cut);
  g_free(dmg);
  rm_dir(dir);
}
END_TEST

/* Another process holding the write lock: a write waits the busy timeout (5 s), then BUSY. */
START_TEST(test_locked)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  sql_ok(db, "BEGIN IMMEDIATE");
  StanceAthlete a;
  stance_athlete_init(&a);
  a.name = g_strdup("Lock");
  GError *e = NULL;
  gint64 t0 = g_get_monotonic_time();
  ck_assert_int_eq(stance_store_athlete_add(s, &a, &e), 0);
  double waited = (g_get_monotonic_time() - t0) / 1e6;
  assert_error(&e, STANCE_STORE_ERROR_BUSY, path, "locked by another process", "5 s", NULL);
  ck_assert_msg(waited > 4.5, "waited only %.2f s", waited);
  /* Reads still work (WAL) while the other writer holds its lock. */
  GPtrArray *list = stance_store_athlete_list(s, &e);
  ck_assert_ptr_nonnull(list);
  g_ptr_array_unref(list);
  sql_ok(db, "ROLLBACK");
  sqlite3_close(db);
  ck_assert(stance_store_athlete_add(s, &a, &e) > 0);
  stance_athlete_clear(&a);
  stance_store_close(s);
  g_free(path);
  rm_dir(dir);
}
END_TEST

/* ======================================================================================
 * Full disk
 * ====================================================================================== */

START_TEST(test_full_disk)
{
  char *dir;
  gchar *path = tmp_db(&dir);
  StanceStore *s = open_ok(path, STANCE_STORE_DEFAULT);
  GError *e = NULL;
  gint64 ses = add_session(s, add_athlete(s, "Full"), 0);
  StanceRecording *rec = synthetic_cells(13606, 13);
  GStatBuf sb;
  ck_assert_int_eq(g_stat(path, &sb), 0);
  /* Room for about 250 kB more: some 7000 samples of 34 bytes, less than the recording. */
  ck_assert_uint_gt(rec->n_samples * 34, 400000);
  ck_assert(stance_store_set_size_limit(s, (guint64)sb.st_size + 250000, &e));

  /* A whole import past the limit stores nothing and says so. */
  ck_assert_int_eq(stance_store_trial_import(s, ses, rec, &e), 0);
  assert_error(&e, STANCE_STORE_ERROR_FULL, "was not stored", "disk is full", NULL);
  GPtrArray *list = stance_store_trial_list(s, ses, &e);
  ck_assert_uint_eq(list->len, 0);
  g_ptr_array_unref(list);

  /* The writer, 100 samples at a time as a recording would commit them. */
  StanceTrialWriter *w = stance_store_trial_begin(s, ses, rec, &e);
  ck_assert_msg(w != NULL, "%s", e ? e->message : "");
  gint64 id = stance_trial_writer_id(w);
  StanceRecording *growing = stance_recording_slice(rec, 0, 0);
  gboolean failed = FALSE;
  for (size_t i = 0; i < rec->n_samples && !failed; i += 100) {
    size_t n = MIN(100, rec->n_samples - i);
    for (size_t j = i; j < i + n; j++)
      stance_recording_append_counts(growing, rec->counts + 8 * j, rec->status[j]);
    failed = !stance_trial_writer_append(w, growing, i, &e) || !stance_trial_writer_flush(w, &e);
  }
  ck_assert_msg(failed, "the limit was never reached");
  guint64 kept = stance_trial_writer_committed(w);
  ck_assert_uint_gt(kept, 3000);
  ck_assert_uint_lt(kept, rec->n_samples);
  char want[160];
  g_snprintf(want, sizeof want,
             "the disk is full: trial %" G_GINT64_FORMAT
             " keeps its first %d.%02d s (%" G_GUINT64_FORMAT
             " samples) already on disk; nothing more can be recorded",
             id, (int)(kept / 1000), (int)(kept % 1000 / 10), kept);
  ck_assert_msg(kept % 10 == 0, "kept %" G_GUINT64_FORMAT, kept);
  ck_assert_msg(e && strcmp(e->message, want) == 0, "got \"%s\"\nwant \"%s\"", e ? e->message : "",
                want);
  ck_assert_int_eq(e->code, STANCE_STORE_ERROR_FULL);
  g_clear_error(&e);
  /* Nothing more is taken; finish says the same. */
  ck_assert(!stance_trial_writer_append(w, growing, growing->n_samples - 1, &e));
  assert_error(&e, STANCE_STORE_ERROR_FULL, "nothing more can be recorded", NULL);
  ck_assert(!stance_trial_writer_finish(w, &e));
  assert_error(&e, STANCE_STORE_ERROR_FULL, "keeps its first", NULL);
  stance_trial_writer_free(w);

  /* The trial is INTERRUPTED and its committed samples read back equal. */
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  ck_assert(stance_store_trial_get(s, id, &t, &e));
  ck_assert_int_eq(t.state, STANCE_TRIAL_INTERRUPTED);
  ck_assert_uint_eq(t.n_samples, kept);
  ck_assert_msg(t.note && strstr(t.note, "the disk filled while recording; kept"), "%s", t.note);
  stance_store_trial_clear(&t);
  StanceRecording *back = stance_store_trial_read(s, id, &e);
  ck_assert_msg(back != NULL, "%s", e ? e->message : "");
  StanceRecording *head = stance_recording_slice(rec, 0, kept);
  assert_same_recording(head, back);
  stance_recording_free(head);
  stance_recording_free(back);
  ck_assert_msg(stance_store_check(s, &e), "%s", e ? e->message : "");

  /* Without the limit the store records again. */
  ck_assert(stance_store_set_size_limit(s, 0, &e));
  ck_assert(stance_store_trial_import(s, ses, rec, &e) > 0);
  stance_recording_free(growing);
  stance_recording_free(rec);
  stance_store_close(s);
  g_free(path);
  rm_dir(dir);
}
END_TEST

static Suite *
store_suite(void)
{
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("entities");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_open_create);
  tcase_add_test(tc, test_athletes);
  tcase_add_test(tc, test_athlete_validation);
  tcase_add_test(tc, test_hostile_names);
  tcase_add_test(tc, test_sessions);
  tcase_add_test(tc, test_trial_import);
  tcase_add_test(tc, test_writer);
  suite_add_tcase(s, tc);
  TCase *an = tcase_create("analyses");
  tcase_set_timeout(an, 120);
  tcase_add_test(an, test_analysis_save);
  tcase_add_test(an, test_trend);
  tcase_add_test(an, test_calibrations);
  suite_add_tcase(s, an);
  TCase *files = tcase_create("files");
  tcase_set_timeout(files, 120);
  tcase_add_test(files, test_migration_v1);
  tcase_add_test(files, test_bad_files);
  tcase_add_test(files, test_locked);
  tcase_add_test(files, test_full_disk);
  suite_add_tcase(s, files);
  return s;
}

int
main(void)
{
  int rc = stance_test_run(store_suite());
  stance_recording_free(sim_cache);
  return rc;
}
