/* stance-store-sqlite.c: the SQLite backend of the store (the only file with SQL in it).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One database file, application_id 'STNC', user_version = schema version, WAL journal,
 * synchronous=FULL (a commit is on disk when it returns), foreign keys on, busy timeout 5 s.
 * Every statement is a constant string with ? parameters, prepared once per connection and cached;
 * no SQL text is ever built from data. The schema and its migrations are below (docs/store.md).
 *
 * Threads: a StanceStoreDb belongs to one thread at a time (the store's rule).
 */
#include "stance-store-backend.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stance-bytes.h"
#include "stance-config.h"

#define STNC_APPLICATION_ID 0x53544E43 /* 'STNC' */
#define BUSY_TIMEOUT_MS 5000

/* ======================================================================================
 * Schema: migration i brings the database from version i - 1 to version i. A migration is never
 * edited once released; a change is a new migration (docs/store.md, "Migrations").
 * ====================================================================================== */

static const char migration_1[] =
    "CREATE TABLE athletes (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  uuid TEXT NOT NULL UNIQUE,\n"
    "  name TEXT NOT NULL,\n"
    "  birth_date TEXT NOT NULL DEFAULT '',\n"
    "  sex TEXT NOT NULL DEFAULT 'unknown',\n"
    "  dominant TEXT NOT NULL DEFAULT 'both',\n"
    "  involved TEXT NOT NULL DEFAULT 'both',\n"
    "  injury_notes TEXT,\n"
    "  injury_date TEXT NOT NULL DEFAULT '',\n"
    "  pseudonymised INTEGER NOT NULL DEFAULT 0,\n"
    "  created_unix_ms INTEGER NOT NULL\n"
    ");\n"
    "CREATE TABLE athlete_masses (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  athlete_id INTEGER NOT NULL REFERENCES athletes (id) ON DELETE CASCADE,\n"
    "  measured_unix_ms INTEGER NOT NULL,\n"
    "  mass_kg REAL NOT NULL,\n"
    "  source TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE sessions (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  uuid TEXT NOT NULL UNIQUE,\n"
    "  athlete_id INTEGER NOT NULL REFERENCES athletes (id),\n"
    "  started_unix_ms INTEGER NOT NULL,\n"
    "  place TEXT,\n"
    "  notes TEXT\n"
    ");\n"
    "CREATE TABLE trials (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  uuid TEXT NOT NULL UNIQUE,\n"
    "  session_id INTEGER NOT NULL REFERENCES sessions (id),\n"
    "  number INTEGER NOT NULL,\n"
    "  protocol TEXT NOT NULL,\n"
    "  side TEXT NOT NULL,\n"
    "  params TEXT,\n"
    "  calibration_id TEXT NOT NULL DEFAULT '',\n"
    "  layout TEXT NOT NULL,\n"
    "  sample_rate_hz REAL NOT NULL,\n"
    "  has_cop INTEGER NOT NULL DEFAULT 0,\n"
    "  n_samples INTEGER NOT NULL DEFAULT 0,\n"
    "  gap_samples INTEGER NOT NULL DEFAULT 0,\n"
    "  started_unix_ms INTEGER NOT NULL,\n"
    "  state TEXT NOT NULL,\n"
    "  accepted INTEGER NOT NULL DEFAULT 1,\n"
    "  reject_reason TEXT,\n"
    "  note TEXT,\n"
    "  source TEXT NOT NULL DEFAULT '',\n"
    "  header BLOB NOT NULL,\n"
    "  writer_host TEXT,\n"
    "  writer_pid INTEGER,\n"
    "  writer_start_ticks INTEGER,\n"
    "  writer_boot_id TEXT,\n"
    "  UNIQUE (session_id, number)\n"
    ");\n"
    "CREATE TABLE trial_chunks (\n"
    "  trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,\n"
    "  seq INTEGER NOT NULL,\n"
    "  first_sample INTEGER NOT NULL,\n"
    "  n_samples INTEGER NOT NULL,\n"
    "  data BLOB NOT NULL,\n"
    "  crc32 INTEGER NOT NULL,\n"
    "  PRIMARY KEY (trial_id, seq)\n"
    ");\n"
    "CREATE TABLE analyses (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  trial_id INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,\n"
    "  created_unix_ms INTEGER NOT NULL,\n"
    "  options TEXT NOT NULL,\n"
    "  stance_version TEXT NOT NULL,\n"
    "  current INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE TABLE results (\n"
    "  analysis_id INTEGER NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,\n"
    "  rep INTEGER NOT NULL,\n"
    "  kind TEXT NOT NULL DEFAULT '',\n"
    "  rep_side TEXT NOT NULL DEFAULT 'both',\n"
    "  metric TEXT NOT NULL,\n"
    "  unit TEXT NOT NULL,\n"
    "  limb TEXT NOT NULL CHECK (limb IN ('left', 'right', 'total', 'asym')),\n"
    "  value REAL NOT NULL,\n"
    "  method_id TEXT NOT NULL,\n"
    "  method_params TEXT NOT NULL DEFAULT '{}',\n"
    "  formula TEXT NOT NULL DEFAULT '',\n"
    "  stronger TEXT NOT NULL DEFAULT 'both',\n"
    "  PRIMARY KEY (analysis_id, rep, metric, limb)\n"
    ");\n"
    "CREATE TABLE calibrations (\n"
    "  id TEXT PRIMARY KEY,\n"
    "  board_serial TEXT NOT NULL,\n"
    "  sequence INTEGER NOT NULL,\n"
    "  created_unix_ms INTEGER NOT NULL,\n"
    "  format_version INTEGER NOT NULL,\n"
    "  plan_name TEXT NOT NULL,\n"
    "  plan_steps INTEGER NOT NULL,\n"
    "  fit_method TEXT NOT NULL,\n"
    "  gravity_m_s2 REAL NOT NULL,\n"
    "  passed INTEGER NOT NULL,\n"
    "  n_faults INTEGER NOT NULL,\n"
    "  calibration BLOB NOT NULL,\n"
    "  gain_se_n_per_count BLOB NOT NULL,\n"
    "  offset_se_counts BLOB NOT NULL,\n"
    "  full_scale_left_n REAL NOT NULL,\n"
    "  full_scale_right_n REAL NOT NULL,\n"
    "  residual_rms_left_n REAL NOT NULL,\n"
    "  residual_rms_right_n REAL NOT NULL,\n"
    "  force_error_left_pct_fs REAL NOT NULL,\n"
    "  force_error_right_pct_fs REAL NOT NULL,\n"
    "  cop_error_left_mm REAL NOT NULL,\n"
    "  cop_error_right_mm REAL NOT NULL,\n"
    "  nonlinearity_left_pct_fs REAL NOT NULL,\n"
    "  nonlinearity_right_pct_fs REAL NOT NULL,\n"
    "  hysteresis_left_pct_fs REAL NOT NULL,\n"
    "  hysteresis_right_pct_fs REAL NOT NULL,\n"
    "  zero_return_left_pct_fs REAL NOT NULL,\n"
    "  zero_return_right_pct_fs REAL NOT NULL,\n"
    "  result_json TEXT\n"
    ");\n";

/* Version 2: whether a calibration was written to its board, and the indexes of the lookups the
 * store makes (sessions of an athlete, trials left recording, runs of a trial, trend rows,
 * calibrations of a board, mass history). */
static const char migration_2[] =
    "ALTER TABLE calibrations ADD COLUMN written_to_board_unix_ms INTEGER NOT NULL DEFAULT 0;\n"
    "CREATE INDEX sessions_by_athlete ON sessions (athlete_id, started_unix_ms);\n"
    "CREATE INDEX trials_recording ON trials (state) WHERE state = 'recording';\n"
    "CREATE INDEX analyses_by_trial ON analyses (trial_id, current);\n"
    "CREATE INDEX results_by_metric ON results (metric);\n"
    "CREATE INDEX calibrations_by_board ON calibrations (board_serial, created_unix_ms);\n"
    "CREATE INDEX masses_by_athlete ON athlete_masses (athlete_id, measured_unix_ms);\n";

static const char *const migrations[] = {migration_1, migration_2};
G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == STANCE_STORE_SCHEMA_VERSION);

const char *
_stance_store_sqlite_migration(int version)
{
  if (version < 1 || version > (int)G_N_ELEMENTS(migrations))
    return NULL;
  return migrations[version - 1];
}

/* ======================================================================================
 * Connection, statements, errors
 * ====================================================================================== */

struct _StanceStoreDb {
  sqlite3 *db;
  gchar *path;        /* for messages */
  GHashTable *stmts;  /* const char *sql (static) -> sqlite3_stmt* */
  gboolean read_only; /* opened read-only (possibly as a migrated copy in memory) */
};

static int
error_code_for(int rc)
{
  switch (rc & 0xff) {
  case SQLITE_FULL: return STANCE_STORE_ERROR_FULL;
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return STANCE_STORE_ERROR_BUSY;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB: return STANCE_STORE_ERROR_CORRUPT;
  case SQLITE_READONLY: return STANCE_STORE_ERROR_READ_ONLY;
  case SQLITE_CONSTRAINT:
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
      return STANCE_STORE_ERROR_EXISTS;
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
      return STANCE_STORE_ERROR_NOT_FOUND;
    return STANCE_STORE_ERROR_INVALID;
  default: return STANCE_STORE_ERROR_IO;
  }
}

/* Sets error from the connection's last failure rc while doing `what`. */
static void
db_error(StanceStoreDb *d, int rc, GError **error, const char *what)
{
  const char *msg = d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc);
  int code = error_code_for(rc);
  switch (code) {
  case STANCE_STORE_ERROR_FULL:
    g_set_error(error, STANCE_STORE_ERROR, code,
                "%s: the disk is full (or the database's size limit is reached) in %s: %s", what,
                d->path, msg);
    break;
  case STANCE_STORE_ERROR_BUSY:
    g_set_error(error, STANCE_STORE_ERROR, code,
                "%s: the database %s is locked by another process (waited %d s; expected it to "
                "be free): %s",
                what, d->path, BUSY_TIMEOUT_MS / 1000, msg);
    break;
  case STANCE_STORE_ERROR_CORRUPT:
    g_set_error(error, STANCE_STORE_ERROR, code,
                "%s: the database %s is damaged (%s); `stance-cli store check` tells more", what,
                d->path, msg);
    break;
  case STANCE_STORE_ERROR_READ_ONLY:
    g_set_error(error, STANCE_STORE_ERROR, code, "%s: the database %s cannot be written: %s", what,
                d->path, msg);
    break;
  default: g_set_error(error, STANCE_STORE_ERROR, code, "%s: %s (in %s)", what, msg, d->path);
  }
}

static void
finalize_stmt(gpointer p)
{
  sqlite3_finalize(p);
}

/* The cached statement for sql (a static string), reset and with its bindings cleared. */
static sqlite3_stmt *
stmt(StanceStoreDb *d, const char *sql, GError **error)
{
  sqlite3_stmt *st = g_hash_table_lookup(d->stmts, sql);
  if (st) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
  }
  int rc = sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
  if (rc != SQLITE_OK) {
    db_error(d, rc, error, "preparing a statement");
    sqlite3_finalize(st);
    return NULL;
  }
  g_hash_table_insert(d->stmts, (gpointer)sql, st);
  return st;
}

/* Runs a statement without result rows; resets it. */
static gboolean
run(StanceStoreDb *d, sqlite3_stmt *st, GError **error, const char *what)
{
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    rc = sqlite3_extended_errcode(d->db);
    db_error(d, rc, error, what);
    sqlite3_reset(st);
    return FALSE;
  }
  sqlite3_reset(st);
  return TRUE;
}

/* Steps a query: 1 row, 0 done, -1 error (set). */
static int
step_row(StanceStoreDb *d, sqlite3_stmt *st, GError **error, const char *what)
{
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    return 1;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(st);
    return 0;
  }
  db_error(d, sqlite3_extended_errcode(d->db), error, what);
  sqlite3_reset(st);
  return -1;
}

static gboolean
exec(StanceStoreDb *d, const char *sql, GError **error, const char *what)
{
  char *msg = NULL;
  int rc = sqlite3_exec(d->db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    db_error(d, sqlite3_extended_errcode(d->db), error, what);
    sqlite3_free(msg);
    return FALSE;
  }
  return TRUE;
}

/* Reads one integer from a pragma or query without parameters. */
static gboolean
query_int(StanceStoreDb *d, const char *sql, gint64 *out, GError **error, const char *what)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      *out = sqlite3_column_int64(st, 0);
      sqlite3_finalize(st);
      return TRUE;
    }
  }
  db_error(d, sqlite3_extended_errcode(d->db), error, what);
  sqlite3_finalize(st);
  return FALSE;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
  if (s)
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

static gchar *
col_dup(sqlite3_stmt *st, int i)
{
  const unsigned char *s = sqlite3_column_text(st, i);
  return s ? g_strdup((const char *)s) : NULL;
}

static void
col_copy(sqlite3_stmt *st, int i, char *buf, gsize n)
{
  const unsigned char *s = sqlite3_column_text(st, i);
  g_strlcpy(buf, s ? (const char *)s : "", n);
}

static StanceSide
col_side(sqlite3_stmt *st, int i)
{
  StanceSide s = STANCE_SIDE_BOTH;
  const unsigned char *t = sqlite3_column_text(st, i);
  if (t && !stance_side_from_name((const char *)t, &s))
    s = STANCE_SIDE_BOTH;
  return s;
}

static const char *const state_names[] = {"recording", "complete", "interrupted"};

static StanceTrialState
col_state(sqlite3_stmt *st, int i)
{
  const unsigned char *t = sqlite3_column_text(st, i);
  for (int k = 0; t && k < 3; k++)
    if (strcmp((const char *)t, state_names[k]) == 0)
      return (StanceTrialState)k;
  /* An unknown state word can only come from a newer writer; treat it as ended. */
  return STANCE_TRIAL_INTERRUPTED;
}

static StanceLayout
col_layout(sqlite3_stmt *st, int i)
{
  const unsigned char *t = sqlite3_column_text(st, i);
  for (int k = STANCE_LAYOUT_CELLS; t && k <= STANCE_LAYOUT_COMBINED; k++)
    if (strcmp((const char *)t, stance_layout_name((StanceLayout)k)) == 0)
      return (StanceLayout)k;
  return STANCE_LAYOUT_CELLS;
}

/* ---- opening ---- */

static void
db_free(StanceStoreDb *d)
{
  if (!d)
    return;
  if (d->stmts)
    g_hash_table_destroy(d->stmts);
  if (d->db)
    sqlite3_close_v2(d->db);
  g_free(d->path);
  g_free(d);
}

/* Checks the first bytes of an existing file: the SQLite signature, and that the file is as long
 * as its header says (a truncated copy), when no write-ahead log could hold the rest. */
static gboolean
check_file_header(const char *path, GError **error)
{
  int fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO, "cannot open %s: %s", path,
                g_strerror(e));
    return FALSE;
  }
  guint8 h[100];
  ssize_t got = read(fd, h, sizeof h);
  struct stat sb;
  int st_ok = fstat(fd, &sb);
  close(fd);
  if (got < 0 || st_ok != 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO, "cannot read %s: %s", path,
                g_strerror(errno));
    return FALSE;
  }
  if (got < 100 || memcmp(h, "SQLite format 3", 16) != 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "%s is not a Stance database: it is not an SQLite file (%s; expected a file "
                "starting with \"SQLite format 3\")",
                path, got < 100 ? "shorter than the 100-byte SQLite header" : "wrong signature");
    return FALSE;
  }
  guint32 page_size = stance_get_be16(h + 16);
  if (page_size == 1)
    page_size = 65536;
  guint32 change = stance_get_be32(h + 24), valid_for = stance_get_be32(h + 92);
  guint32 pages = stance_get_be32(h + 28);
  if (page_size < 512 || (page_size & (page_size - 1)) != 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "%s is damaged: its header gives a page size of %u bytes (expected a power of two "
                "from 512 to 65536)",
                path, page_size);
    return FALSE;
  }
  /* A write-ahead log may hold pages that are not in the main file yet (during a checkpoint the
   * header is written before the rest): only judge the length when there is no log. */
  gchar *wal = g_strconcat(path, "-wal", NULL);
  GStatBuf wb;
  gboolean has_wal = g_stat(wal, &wb) == 0 && wb.st_size > 0;
  g_free(wal);
  if (!has_wal && change == valid_for && pages > 0 &&
      (guint64)sb.st_size < (guint64)pages * page_size) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "%s is damaged: it is truncated to %" G_GUINT64_FORMAT
                " bytes (its header says %u pages of %u bytes = %" G_GUINT64_FORMAT " bytes)",
                path, (guint64)sb.st_size, pages, page_size, (guint64)pages * page_size);
    return FALSE;
  }
  return TRUE;
}

static gboolean
migrate(StanceStoreDb *d, int from, GError **error)
{
  for (int v = from + 1; v <= STANCE_STORE_SCHEMA_VERSION; v++) {
    char what[96];
    g_snprintf(what, sizeof what, "migrating the schema to version %d", v);
    if (!exec(d, "BEGIN IMMEDIATE", error, what))
      return FALSE;
    /* Another process may have migrated while this one waited for the lock. */
    gint64 now_version = 0;
    if (!query_int(d, "PRAGMA user_version", &now_version, error, what)) {
      sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
    if (now_version >= v) {
      sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
      continue;
    }
    gchar *pragmas = g_strdup_printf("PRAGMA user_version = %d; PRAGMA application_id = %d;", v,
                                     STNC_APPLICATION_ID);
    gboolean ok = exec(d, migrations[v - 1], error, what) && exec(d, pragmas, error, what) &&
                  exec(d, "COMMIT", error, what);
    g_free(pragmas);
    if (!ok) {
      if (!sqlite3_get_autocommit(d->db))
        sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
      g_prefix_error(error, "%s (schema version %d): ", d->path, v - 1);
      return FALSE;
    }
  }
  return TRUE;
}

/* A read-only open of an older schema: the file is copied into memory and the copy migrated, so
 * the caller reads every version through the same statements and the file stays untouched. */
static gboolean
copy_to_memory(StanceStoreDb *d, GError **error)
{
  sqlite3 *mem = NULL;
  int rc = sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_backup *b = sqlite3_backup_init(mem, "main", d->db, "main");
    if (b) {
      sqlite3_backup_step(b, -1);
      rc = sqlite3_backup_finish(b);
    } else {
      rc = sqlite3_errcode(mem);
    }
  }
  if (rc != SQLITE_OK) {
    db_error(d, rc, error, "copying an older database into memory to read it");
    sqlite3_close_v2(mem);
    return FALSE;
  }
  sqlite3_close_v2(d->db);
  d->db = mem;
  return TRUE;
}

static StanceStoreDb *
sqlite_open(const char *path, StanceStoreFlags flags, int *schema_version, GError **error)
{
  gboolean read_only = (flags & STANCE_STORE_READ_ONLY) != 0;
  gboolean exists = g_file_test(path, G_FILE_TEST_EXISTS);
  if (exists && (flags & STANCE_STORE_MUST_CREATE)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_EXISTS,
                "%s already exists (expected a new file)", path);
    return NULL;
  }
  if (!exists && read_only) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                "cannot open %s: no such file (a read-only open needs an existing database)", path);
    return NULL;
  }
  if (exists && g_file_test(path, G_FILE_TEST_IS_DIR)) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                "cannot open %s: it is a folder (expected a database file)", path);
    return NULL;
  }
  GStatBuf sb;
  if (exists && g_stat(path, &sb) == 0 && sb.st_size > 0 && !check_file_header(path, error))
    return NULL;
  if (!exists) {
    gchar *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0700) != 0) {
      int e = errno;
      g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO,
                  "cannot create the folder %s for the database: %s", dir, g_strerror(e));
      g_free(dir);
      return NULL;
    }
    g_free(dir);
  }

  StanceStoreDb *d = g_new0(StanceStoreDb, 1);
  d->path = g_strdup(path);
  d->read_only = read_only;
  d->stmts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, finalize_stmt);
  int oflags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path, &d->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    int e = errno;
    g_set_error(error, STANCE_STORE_ERROR, error_code_for(rc), "cannot open %s: %s%s%s", path,
                d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc), e ? ": " : "",
                e ? g_strerror(e) : "");
    db_free(d);
    return NULL;
  }
  sqlite3_extended_result_codes(d->db, 1);
  sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);

  gint64 app_id = 0, version = 0, n_objects = 0;
  if (!query_int(d, "PRAGMA application_id", &app_id, error, "reading the application id") ||
      !query_int(d, "PRAGMA user_version", &version, error, "reading the schema version") ||
      !query_int(d, "SELECT count(*) FROM sqlite_master", &n_objects, error,
                 "reading the list of tables")) {
    if (g_error_matches(*error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT)) {
      g_clear_error(error);
      g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                  "%s is not a Stance database: it is damaged or not a database (%s)", path,
                  sqlite3_errmsg(d->db));
    } else {
      g_prefix_error(error, "cannot open %s: ", path);
    }
    db_free(d);
    return NULL;
  }
  gboolean fresh = app_id == 0 && version == 0 && n_objects == 0;
  if (fresh && read_only) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "%s is not a Stance database: it is an empty SQLite file", path);
    db_free(d);
    return NULL;
  }
  if (!fresh && app_id != STNC_APPLICATION_ID) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "%s is not a Stance database: it is another application's SQLite file "
                "(application id 0x%08" G_GINT64_MODIFIER "X, %" G_GINT64_FORMAT
                " tables and indexes; expected application id 0x%08X \"STNC\")",
                path, app_id, n_objects, STNC_APPLICATION_ID);
    db_free(d);
    return NULL;
  }
  if (version > STANCE_STORE_SCHEMA_VERSION) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_VERSION,
                "%s has schema version %" G_GINT64_FORMAT
                ", newer than this Stance knows (version %d, Stance %s): update Stance to open it",
                path, version, STANCE_STORE_SCHEMA_VERSION, STANCE_VERSION);
    db_free(d);
    return NULL;
  }
  if (!fresh && version < 1) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "%s is not a Stance database: it carries Stance's application id but schema "
                "version %" G_GINT64_FORMAT " (expected 1 to %d)",
                path, version, STANCE_STORE_SCHEMA_VERSION);
    db_free(d);
    return NULL;
  }
  if (!read_only) {
    /* WAL first: the journal mode cannot change inside a transaction. */
    if (!exec(d, "PRAGMA journal_mode = WAL", error, "switching to the write-ahead log")) {
      g_prefix_error(error, "cannot open %s: ", path);
      db_free(d);
      return NULL;
    }
  }
  if (!exec(d, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", error,
            "setting the connection's options")) {
    db_free(d);
    return NULL;
  }
  if (version < STANCE_STORE_SCHEMA_VERSION) {
    if (read_only && !copy_to_memory(d, error)) {
      db_free(d);
      return NULL;
    }
    if (!migrate(d, (int)version, error)) {
      db_free(d);
      return NULL;
    }
    if (read_only && !exec(d, "PRAGMA foreign_keys = ON", error, "setting the copy's options")) {
      db_free(d);
      return NULL;
    }
  }
  *schema_version = STANCE_STORE_SCHEMA_VERSION;
  return d;
}

static void
sqlite_close(StanceStoreDb *d)
{
  db_free(d);
}

static gboolean
sqlite_begin(StanceStoreDb *d, gboolean write, GError **error)
{
  return exec(d, write ? "BEGIN IMMEDIATE" : "BEGIN", error,
              write ? "starting a write transaction" : "starting a read transaction");
}

static gboolean
sqlite_commit(StanceStoreDb *d, GError **error)
{
  return exec(d, "COMMIT", error, "committing");
}

static void
sqlite_rollback(StanceStoreDb *d)
{
  if (!sqlite3_get_autocommit(d->db))
    sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

static gboolean
sqlite_integrity_check(StanceStoreDb *d, GError **error)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(d->db, "PRAGMA integrity_check(20)", -1, &st, NULL);
  if (rc != SQLITE_OK) {
    db_error(d, sqlite3_extended_errcode(d->db), error, "running the integrity check");
    return FALSE;
  }
  GString *problems = g_string_new(NULL);
  int n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *line = (const char *)sqlite3_column_text(st, 0);
    if (line && strcmp(line, "ok") == 0)
      continue;
    g_string_append_printf(problems, "%s%s", n ? "; " : "", line ? line : "?");
    n++;
  }
  if (rc != SQLITE_DONE) {
    db_error(d, sqlite3_extended_errcode(d->db), error, "running the integrity check");
    sqlite3_finalize(st);
    g_string_free(problems, TRUE);
    return FALSE;
  }
  sqlite3_finalize(st);
  if (n > 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "%s is damaged: SQLite's integrity check found %d problem%s (expected none): %s",
                d->path, n, n == 1 ? "" : "s", problems->str);
    g_string_free(problems, TRUE);
    return FALSE;
  }
  g_string_free(problems, TRUE);
  gint64 fk = 0;
  if (!query_int(d, "SELECT count(*) FROM pragma_foreign_key_check", &fk, error,
                 "checking the references between tables"))
    return FALSE;
  if (fk > 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_CORRUPT,
                "%s is damaged: %" G_GINT64_FORMAT
                " rows refer to rows that do not exist (expected none)",
                d->path, fk);
    return FALSE;
  }
  return TRUE;
}

static gboolean
sqlite_set_size_limit(StanceStoreDb *d, guint64 max_bytes, GError **error)
{
  gint64 page_size = 4096;
  if (!query_int(d, "PRAGMA page_size", &page_size, error, "reading the page size"))
    return FALSE;
  /* 0: SQLite's own maximum (4294967294 pages). */
  guint64 pages = max_bytes ? MAX(1, max_bytes / (guint64)page_size) : 4294967294u;
  gchar *sql = g_strdup_printf("PRAGMA max_page_count = %" G_GUINT64_FORMAT, pages);
  gint64 got = 0;
  gboolean ok = query_int(d, sql, &got, error, "setting the size limit");
  g_free(sql);
  return ok;
}

/* ======================================================================================
 * Athletes
 * ====================================================================================== */

#define ATHLETE_COLS                                                                               \
  "id, uuid, name, birth_date, sex, dominant, involved, injury_notes, injury_date, "               \
  "pseudonymised, created_unix_ms"

static void
read_athlete(sqlite3_stmt *st, StanceAthlete *a)
{
  stance_athlete_clear(a);
  a->id = sqlite3_column_int64(st, 0);
  col_copy(st, 1, a->uuid, sizeof a->uuid);
  a->name = col_dup(st, 2);
  col_copy(st, 3, a->birth_date, sizeof a->birth_date);
  const unsigned char *sex = sqlite3_column_text(st, 4);
  if (!sex || !stance_sex_from_name((const char *)sex, &a->sex))
    a->sex = STANCE_SEX_UNKNOWN;
  a->dominant = col_side(st, 5);
  a->involved = col_side(st, 6);
  a->injury_notes = col_dup(st, 7);
  col_copy(st, 8, a->injury_date, sizeof a->injury_date);
  a->pseudonymised = sqlite3_column_int(st, 9) != 0;
  a->created_unix_ms = sqlite3_column_int64(st, 10);
}

static void
bind_athlete(sqlite3_stmt *st, const StanceAthlete *a)
{
  bind_text(st, 1, a->uuid);
  bind_text(st, 2, a->name);
  bind_text(st, 3, a->birth_date);
  bind_text(st, 4, stance_sex_name(a->sex));
  bind_text(st, 5, stance_side_name(a->dominant));
  bind_text(st, 6, stance_side_name(a->involved));
  bind_text(st, 7, a->injury_notes);
  bind_text(st, 8, a->injury_date);
  sqlite3_bind_int(st, 9, a->pseudonymised ? 1 : 0);
  sqlite3_bind_int64(st, 10, a->created_unix_ms);
}

static gint64
sqlite_athlete_insert(StanceStoreDb *d, const StanceAthlete *a, GError **error)
{
  static const char sql[] = "INSERT INTO athletes (uuid, name, birth_date, sex, dominant, "
                            "involved, injury_notes, injury_date, pseudonymised, created_unix_ms) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return 0;
  bind_athlete(st, a);
  if (!run(d, st, error, "adding an athlete"))
    return 0;
  return sqlite3_last_insert_rowid(d->db);
}

static gboolean
sqlite_athlete_update(StanceStoreDb *d, const StanceAthlete *a, GError **error)
{
  static const char sql[] = "UPDATE athletes SET uuid = ?, name = ?, birth_date = ?, sex = ?, "
                            "dominant = ?, involved = ?, injury_notes = ?, injury_date = ?, "
                            "pseudonymised = ?, created_unix_ms = ? WHERE id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  bind_athlete(st, a);
  sqlite3_bind_int64(st, 11, a->id);
  char what[64];
  g_snprintf(what, sizeof what, "updating athlete %" G_GINT64_FORMAT, a->id);
  if (!run(d, st, error, what))
    return FALSE;
  if (sqlite3_changes(d->db) == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no athlete with id %" G_GINT64_FORMAT, a->id);
    return FALSE;
  }
  return TRUE;
}

static gboolean
sqlite_athlete_get(StanceStoreDb *d, gint64 id, StanceAthlete *out, GError **error)
{
  static const char sql[] = "SELECT " ATHLETE_COLS " FROM athletes WHERE id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64(st, 1, id);
  int r = step_row(d, st, error, "reading an athlete");
  if (r < 0)
    return FALSE;
  if (r == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no athlete with id %" G_GINT64_FORMAT, id);
    return FALSE;
  }
  read_athlete(st, out);
  sqlite3_reset(st);
  return TRUE;
}

static gboolean
sqlite_athlete_by_uuid(StanceStoreDb *d, const char *uuid, StanceAthlete *out, gboolean *found,
                       GError **error)
{
  static const char sql[] = "SELECT " ATHLETE_COLS " FROM athletes WHERE uuid = ?";
  *found = FALSE;
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  bind_text(st, 1, uuid);
  int r = step_row(d, st, error, "finding an athlete by uuid");
  if (r < 0)
    return FALSE;
  if (r == 1) {
    read_athlete(st, out);
    *found = TRUE;
    sqlite3_reset(st);
  }
  return TRUE;
}

static GPtrArray *
sqlite_athlete_list(StanceStoreDb *d, GError **error)
{
  static const char sql[] = "SELECT " ATHLETE_COLS " FROM athletes ORDER BY name, id";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return NULL;
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)stance_athlete_free);
  int r;
  while ((r = step_row(d, st, error, "listing athletes")) == 1) {
    StanceAthlete *a = g_new0(StanceAthlete, 1);
    stance_athlete_init(a);
    read_athlete(st, a);
    g_ptr_array_add(list, a);
  }
  if (r < 0) {
    g_ptr_array_unref(list);
    return NULL;
  }
  return list;
}

static gboolean
sqlite_mass_insert(StanceStoreDb *d, gint64 athlete_id, const StanceMassEntry *m, GError **error)
{
  static const char sql[] = "INSERT INTO athlete_masses (athlete_id, measured_unix_ms, mass_kg, "
                            "source) VALUES (?, ?, ?, ?)";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64(st, 1, athlete_id);
  sqlite3_bind_int64(st, 2, m->measured_unix_ms);
  sqlite3_bind_double(st, 3, m->mass_kg);
  bind_text(st, 4, m->source);
  return run(d, st, error, "adding a body mass");
}

static GArray *
sqlite_masses(StanceStoreDb *d, gint64 athlete_id, GError **error)
{
  static const char sql[] = "SELECT measured_unix_ms, mass_kg, source FROM athlete_masses "
                            "WHERE athlete_id = ? ORDER BY measured_unix_ms, id";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return NULL;
  sqlite3_bind_int64(st, 1, athlete_id);
  GArray *arr = g_array_new(FALSE, TRUE, sizeof(StanceMassEntry));
  int r;
  while ((r = step_row(d, st, error, "reading the body-mass history")) == 1) {
    StanceMassEntry m = {0};
    m.measured_unix_ms = sqlite3_column_int64(st, 0);
    m.mass_kg = sqlite3_column_double(st, 1);
    col_copy(st, 2, m.source, sizeof m.source);
    g_array_append_val(arr, m);
  }
  if (r < 0) {
    g_array_unref(arr);
    return NULL;
  }
  return arr;
}

static GPtrArray *
sqlite_athlete_metrics(StanceStoreDb *d, gint64 athlete_id, GError **error)
{
  static const char sql[] =
      "SELECT DISTINCT r.metric FROM results r JOIN analyses a ON a.id = r.analysis_id "
      "JOIN trials t ON t.id = a.trial_id JOIN sessions s ON s.id = t.session_id "
      "WHERE s.athlete_id = ? AND a.current = 1 AND t.accepted = 1 ORDER BY r.metric";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return NULL;
  sqlite3_bind_int64(st, 1, athlete_id);
  GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
  int r;
  while ((r = step_row(d, st, error, "listing the athlete's metrics")) == 1)
    g_ptr_array_add(list, col_dup(st, 0));
  if (r < 0) {
    g_ptr_array_unref(list);
    return NULL;
  }
  return list;
}

/* ======================================================================================
 * Sessions
 * ====================================================================================== */

#define SESSION_COLS                                                                               \
  "s.id, s.uuid, s.athlete_id, s.started_unix_ms, s.place, s.notes, "                              \
  "(SELECT count(*) FROM trials t WHERE t.session_id = s.id)"

static void
read_session(sqlite3_stmt *st, StanceSession *s)
{
  stance_session_clear(s);
  s->id = sqlite3_column_int64(st, 0);
  col_copy(st, 1, s->uuid, sizeof s->uuid);
  s->athlete_id = sqlite3_column_int64(st, 2);
  s->started_unix_ms = sqlite3_column_int64(st, 3);
  s->place = col_dup(st, 4);
  s->notes = col_dup(st, 5);
  s->n_trials = sqlite3_column_int(st, 6);
}

static gint64
sqlite_session_insert(StanceStoreDb *d, const StanceSession *s, GError **error)
{
  static const char sql[] = "INSERT INTO sessions (uuid, athlete_id, started_unix_ms, place, "
                            "notes) VALUES (?, ?, ?, ?, ?)";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return 0;
  bind_text(st, 1, s->uuid);
  sqlite3_bind_int64(st, 2, s->athlete_id);
  sqlite3_bind_int64(st, 3, s->started_unix_ms);
  bind_text(st, 4, s->place);
  bind_text(st, 5, s->notes);
  if (!run(d, st, error, "adding a session"))
    return 0;
  return sqlite3_last_insert_rowid(d->db);
}

static gboolean
sqlite_session_update(StanceStoreDb *d, const StanceSession *s, GError **error)
{
  static const char sql[] = "UPDATE sessions SET uuid = ?, athlete_id = ?, started_unix_ms = ?, "
                            "place = ?, notes = ? WHERE id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  bind_text(st, 1, s->uuid);
  sqlite3_bind_int64(st, 2, s->athlete_id);
  sqlite3_bind_int64(st, 3, s->started_unix_ms);
  bind_text(st, 4, s->place);
  bind_text(st, 5, s->notes);
  sqlite3_bind_int64(st, 6, s->id);
  if (!run(d, st, error, "updating a session"))
    return FALSE;
  if (sqlite3_changes(d->db) == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no session with id %" G_GINT64_FORMAT, s->id);
    return FALSE;
  }
  return TRUE;
}

static gboolean
sqlite_session_get(StanceStoreDb *d, gint64 id, StanceSession *out, GError **error)
{
  static const char sql[] = "SELECT " SESSION_COLS " FROM sessions s WHERE s.id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64(st, 1, id);
  int r = step_row(d, st, error, "reading a session");
  if (r < 0)
    return FALSE;
  if (r == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no session with id %" G_GINT64_FORMAT, id);
    return FALSE;
  }
  read_session(st, out);
  sqlite3_reset(st);
  return TRUE;
}

static GPtrArray *
sqlite_session_list(StanceStoreDb *d, gint64 athlete_id, GError **error)
{
  static const char sql[] = "SELECT " SESSION_COLS " FROM sessions s WHERE ?1 = 0 OR "
                            "s.athlete_id = ?1 ORDER BY s.started_unix_ms DESC, s.id DESC";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return NULL;
  sqlite3_bind_int64(st, 1, athlete_id);
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)stance_session_free);
  int r;
  while ((r = step_row(d, st, error, "listing sessions")) == 1) {
    StanceSession *s = g_new0(StanceSession, 1);
    stance_session_init(s);
    read_session(st, s);
    g_ptr_array_add(list, s);
  }
  if (r < 0) {
    g_ptr_array_unref(list);
    return NULL;
  }
  return list;
}

static gint64
sqlite_session_latest_in(StanceStoreDb *d, gint64 athlete_id, gint64 from, gint64 to,
                         GError **error)
{
  static const char sql[] = "SELECT id FROM sessions WHERE athlete_id = ? AND started_unix_ms >= ? "
                            "AND started_unix_ms < ? ORDER BY started_unix_ms DESC, id DESC "
                            "LIMIT 1";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return -1;
  sqlite3_bind_int64(st, 1, athlete_id);
  sqlite3_bind_int64(st, 2, from);
  sqlite3_bind_int64(st, 3, to);
  int r = step_row(d, st, error, "finding today's session");
  if (r <= 0)
    return r;
  gint64 id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return id;
}

static gint64
sqlite_session_by_uuid(StanceStoreDb *d, const char *uuid, GError **error)
{
  static const char sql[] = "SELECT id FROM sessions WHERE uuid = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return -1;
  bind_text(st, 1, uuid);
  int r = step_row(d, st, error, "finding a session by uuid");
  if (r <= 0)
    return r;
  gint64 id = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return id;
}

/* ======================================================================================
 * Trials and their chunks
 * ====================================================================================== */

#define TRIAL_COLS                                                                                 \
  "id, uuid, session_id, number, protocol, side, params, calibration_id, layout, "                 \
  "sample_rate_hz, n_samples, gap_samples, started_unix_ms, state, accepted, reject_reason, "      \
  "note, source"

static void
read_trial(sqlite3_stmt *st, StanceStoreTrial *t)
{
  stance_store_trial_clear(t);
  t->id = sqlite3_column_int64(st, 0);
  col_copy(st, 1, t->uuid, sizeof t->uuid);
  t->session_id = sqlite3_column_int64(st, 2);
  t->number = sqlite3_column_int(st, 3);
  const unsigned char *p = sqlite3_column_text(st, 4);
  t->protocol = p ? stance_protocol_from_name((const char *)p) : STANCE_PROTO_UNKNOWN;
  t->side = col_side(st, 5);
  t->params = col_dup(st, 6);
  col_copy(st, 7, t->calibration_id, sizeof t->calibration_id);
  t->layout = col_layout(st, 8);
  t->sample_rate_hz = sqlite3_column_double(st, 9);
  t->n_samples = (guint64)sqlite3_column_int64(st, 10);
  t->gap_samples = (guint64)sqlite3_column_int64(st, 11);
  t->started_unix_ms = sqlite3_column_int64(st, 12);
  t->state = col_state(st, 13);
  t->accepted = sqlite3_column_int(st, 14) != 0;
  t->reject_reason = col_dup(st, 15);
  t->note = col_dup(st, 16);
  t->source = col_dup(st, 17);
}

static gint64
sqlite_trial_insert(StanceStoreDb *d, gint64 session_id, const StanceStoreTrialInsert *ti,
                    GError **error)
{
  static const char next_sql[] =
      "SELECT coalesce(max(number), 0) + 1 FROM trials WHERE session_id = ?";
  static const char sql[] =
      "INSERT INTO trials (uuid, session_id, number, protocol, side, params, calibration_id, "
      "layout, sample_rate_hz, has_cop, n_samples, gap_samples, started_unix_ms, state, accepted, "
      "reject_reason, note, source, header, writer_host, writer_pid, writer_start_ticks, "
      "writer_boot_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?)";
  const StanceStoreTrial *t = ti->fields;
  gint64 number = t->number;
  if (number <= 0) {
    sqlite3_stmt *q = stmt(d, next_sql, error);
    if (!q)
      return 0;
    sqlite3_bind_int64(q, 1, session_id);
    if (step_row(d, q, error, "numbering a trial") != 1)
      return 0;
    number = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
  }
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return 0;
  bind_text(st, 1, t->uuid);
  sqlite3_bind_int64(st, 2, session_id);
  sqlite3_bind_int64(st, 3, number);
  bind_text(st, 4, stance_protocol_name(t->protocol));
  bind_text(st, 5, stance_side_name(t->side));
  bind_text(st, 6, t->params);
  bind_text(st, 7, t->calibration_id);
  bind_text(st, 8, stance_layout_name(t->layout));
  sqlite3_bind_double(st, 9, t->sample_rate_hz);
  sqlite3_bind_int(st, 10, ti->has_cop ? 1 : 0);
  sqlite3_bind_int64(st, 11, (gint64)t->n_samples);
  sqlite3_bind_int64(st, 12, (gint64)t->gap_samples);
  sqlite3_bind_int64(st, 13, t->started_unix_ms);
  bind_text(st, 14, state_names[t->state]);
  sqlite3_bind_int(st, 15, t->accepted ? 1 : 0);
  bind_text(st, 16, t->reject_reason);
  bind_text(st, 17, t->note);
  bind_text(st, 18, t->source ? t->source : "");
  sqlite3_bind_blob64(st, 19, ti->header, ti->header_len, SQLITE_STATIC);
  if (ti->writer) {
    bind_text(st, 20, ti->writer->host);
    sqlite3_bind_int64(st, 21, ti->writer->pid);
    sqlite3_bind_int64(st, 22, (gint64)ti->writer->start_ticks);
    bind_text(st, 23, ti->writer->boot_id);
  }
  if (!run(d, st, error, "adding a trial"))
    return 0;
  return sqlite3_last_insert_rowid(d->db);
}

static gboolean
sqlite_trial_get(StanceStoreDb *d, gint64 id, StanceStoreTrial *out, GError **error)
{
  static const char sql[] = "SELECT " TRIAL_COLS " FROM trials WHERE id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64(st, 1, id);
  int r = step_row(d, st, error, "reading a trial");
  if (r < 0)
    return FALSE;
  if (r == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no trial with id %" G_GINT64_FORMAT, id);
    return FALSE;
  }
  read_trial(st, out);
  sqlite3_reset(st);
  return TRUE;
}

static GPtrArray *
sqlite_trial_list(StanceStoreDb *d, gint64 session_id, GError **error)
{
  static const char sql[] = "SELECT " TRIAL_COLS " FROM trials WHERE session_id = ? "
                            "ORDER BY number";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return NULL;
  sqlite3_bind_int64(st, 1, session_id);
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)stance_store_trial_free);
  int r;
  while ((r = step_row(d, st, error, "listing trials")) == 1) {
    StanceStoreTrial *t = g_new0(StanceStoreTrial, 1);
    stance_store_trial_init(t);
    read_trial(st, t);
    g_ptr_array_add(list, t);
  }
  if (r < 0) {
    g_ptr_array_unref(list);
    return NULL;
  }
  return list;
}

static gboolean
sqlite_trial_id_by_uuid(StanceStoreDb *d, const char *uuid, gint64 *id, GError **error)
{
  static const char sql[] = "SELECT id FROM trials WHERE uuid = ?";
  *id = 0;
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  bind_text(st, 1, uuid);
  int r = step_row(d, st, error, "finding a trial by uuid");
  if (r < 0)
    return FALSE;
  if (r == 1) {
    *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
  }
  return TRUE;
}

static gboolean
sqlite_trial_header(StanceStoreDb *d, gint64 id, GBytes **header, StanceStoreTrialFormat *format,
                    GError **error)
{
  static const char sql[] =
      "SELECT header, layout, has_cop, state, n_samples FROM trials WHERE id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64(st, 1, id);
  int r = step_row(d, st, error, "reading a trial's header");
  if (r < 0)
    return FALSE;
  if (r == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no trial with id %" G_GINT64_FORMAT, id);
    return FALSE;
  }
  if (header) {
    const void *blob = sqlite3_column_blob(st, 0);
    *header = g_bytes_new(blob, (gsize)sqlite3_column_bytes(st, 0));
  }
  format->layout = col_layout(st, 1);
  format->has_cop = sqlite3_column_int(st, 2) != 0;
  format->state = col_state(st, 3);
  format->n_samples = (guint64)sqlite3_column_int64(st, 4);
  sqlite3_reset(st);
  return TRUE;
}

static gboolean
sqlite_trial_set_accepted(StanceStoreDb *d, gint64 id, gboolean accepted, const char *reason,
                          GError **error)
{
  static const char sql[] = "UPDATE trials SET accepted = ?, reject_reason = ? WHERE id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int(st, 1, accepted ? 1 : 0);
  bind_text(st, 2, accepted ? NULL : reason);
  sqlite3_bind_int64(st, 3, id);
  if (!run(d, st, error, accepted ? "accepting a trial" : "rejecting a trial"))
    return FALSE;
  if (sqlite3_changes(d->db) == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no trial with id %" G_GINT64_FORMAT, id);
    return FALSE;
  }
  return TRUE;
}

static gboolean
sqlite_chunk_insert(StanceStoreDb *d, gint64 trial_id, gint64 seq, guint64 first, guint64 n,
                    const guint8 *data, gsize len, guint32 crc, GError **error)
{
  static const char sql[] = "INSERT INTO trial_chunks (trial_id, seq, first_sample, n_samples, "
                            "data, crc32) VALUES (?, ?, ?, ?, ?, ?)";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64(st, 1, trial_id);
  sqlite3_bind_int64(st, 2, seq);
  sqlite3_bind_int64(st, 3, (gint64)first);
  sqlite3_bind_int64(st, 4, (gint64)n);
  sqlite3_bind_blob64(st, 5, data, len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, crc);
  return run(d, st, error, "storing samples");
}

static gboolean
sqlite_trial_set_counts(StanceStoreDb *d, gint64 trial_id, guint64 n, guint64 gaps, GError **error)
{
  static const char sql[] = "UPDATE trials SET n_samples = ?, gap_samples = ? WHERE id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64(st, 1, (gint64)n);
  sqlite3_bind_int64(st, 2, (gint64)gaps);
  sqlite3_bind_int64(st, 3, trial_id);
  return run(d, st, error, "counting a trial's samples");
}

static gboolean
sqlite_trial_set_state(StanceStoreDb *d, gint64 trial_id, StanceTrialState state, const char *note,
                       GError **error)
{
  static const char sql[] =
      "UPDATE trials SET state = ?1, note = coalesce(?2, note), "
      "writer_host = CASE WHEN ?1 = 'recording' THEN writer_host END, "
      "writer_pid = CASE WHEN ?1 = 'recording' THEN writer_pid END, "
      "writer_start_ticks = CASE WHEN ?1 = 'recording' THEN writer_start_ticks END, "
      "writer_boot_id = CASE WHEN ?1 = 'recording' THEN writer_boot_id END WHERE id = ?3";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  bind_text(st, 1, state_names[state]);
  bind_text(st, 2, note);
  sqlite3_bind_int64(st, 3, trial_id);
  if (!run(d, st, error, "setting a trial's state"))
    return FALSE;
  if (sqlite3_changes(d->db) == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no trial with id %" G_GINT64_FORMAT, trial_id);
    return FALSE;
  }
  return TRUE;
}

static gboolean
sqlite_chunks_foreach(StanceStoreDb *d, gint64 trial_id, StanceStoreChunkFunc func, gpointer user,
                      GError **error)
{
  static const char one_sql[] = "SELECT trial_id, seq, first_sample, n_samples, data, crc32 "
                                "FROM trial_chunks WHERE trial_id = ? ORDER BY seq";
  static const char all_sql[] = "SELECT trial_id, seq, first_sample, n_samples, data, crc32 "
                                "FROM trial_chunks ORDER BY trial_id, seq";
  /* Not the cached statement: the callback may run other statements, even this query. */
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(d->db, trial_id > 0 ? one_sql : all_sql, -1, &st, NULL);
  if (rc != SQLITE_OK) {
    db_error(d, sqlite3_extended_errcode(d->db), error, "reading samples");
    return FALSE;
  }
  if (trial_id > 0)
    sqlite3_bind_int64(st, 1, trial_id);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    StanceStoreChunk c = {
        .trial_id = sqlite3_column_int64(st, 0),
        .seq = sqlite3_column_int64(st, 1),
        .first_sample = (guint64)sqlite3_column_int64(st, 2),
        .n_samples = (guint64)sqlite3_column_int64(st, 3),
        .crc32 = (guint32)sqlite3_column_int64(st, 5),
    };
    c.data = sqlite3_column_blob(st, 4);
    c.len = (gsize)sqlite3_column_bytes(st, 4);
    if (!func(&c, user, error)) {
      sqlite3_finalize(st);
      return FALSE;
    }
  }
  if (rc != SQLITE_DONE) {
    db_error(d, sqlite3_extended_errcode(d->db), error, "reading samples");
    sqlite3_finalize(st);
    return FALSE;
  }
  sqlite3_finalize(st);
  return TRUE;
}

static void
open_trial_free(StanceStoreOpenTrial *t)
{
  _stance_store_writer_id_clear(&t->writer);
  g_free(t);
}

static GPtrArray *
sqlite_trials_recording(StanceStoreDb *d, GError **error)
{
  static const char sql[] = "SELECT id, writer_host, writer_pid, writer_start_ticks, "
                            "writer_boot_id, sample_rate_hz FROM trials "
                            "WHERE state = 'recording' ORDER BY id";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return NULL;
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)open_trial_free);
  int r;
  while ((r = step_row(d, st, error, "listing trials being recorded")) == 1) {
    StanceStoreOpenTrial *t = g_new0(StanceStoreOpenTrial, 1);
    t->trial_id = sqlite3_column_int64(st, 0);
    t->writer.host = col_dup(st, 1);
    t->writer.pid = sqlite3_column_int64(st, 2);
    t->writer.start_ticks = (guint64)sqlite3_column_int64(st, 3);
    t->writer.boot_id = col_dup(st, 4);
    t->sample_rate_hz = sqlite3_column_double(st, 5);
    g_ptr_array_add(list, t);
  }
  if (r < 0) {
    g_ptr_array_unref(list);
    return NULL;
  }
  return list;
}

/* ======================================================================================
 * Analyses, results and trends
 * ====================================================================================== */

static gint64
sqlite_analysis_insert(StanceStoreDb *d, gint64 trial_id, const StanceStoreAnalysis *meta,
                       const GArray *rows, GError **error)
{
  static const char clear_sql[] = "UPDATE analyses SET current = 0 WHERE trial_id = ?";
  static const char sql[] = "INSERT INTO analyses (trial_id, created_unix_ms, options, "
                            "stance_version, current) VALUES (?, ?, ?, ?, ?)";
  static const char row_sql[] =
      "INSERT INTO results (analysis_id, rep, kind, rep_side, metric, unit, limb, value, "
      "method_id, method_params, formula, stronger) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  sqlite3_stmt *st;
  if (meta->current) {
    if (!(st = stmt(d, clear_sql, error)))
      return 0;
    sqlite3_bind_int64(st, 1, trial_id);
    if (!run(d, st, error, "replacing the current analysis"))
      return 0;
  }
  if (!(st = stmt(d, sql, error)))
    return 0;
  sqlite3_bind_int64(st, 1, trial_id);
  sqlite3_bind_int64(st, 2, meta->created_unix_ms);
  bind_text(st, 3, meta->options);
  bind_text(st, 4, meta->stance_version);
  sqlite3_bind_int(st, 5, meta->current ? 1 : 0);
  if (!run(d, st, error, "adding an analysis run"))
    return 0;
  gint64 id = sqlite3_last_insert_rowid(d->db);
  if (!(st = stmt(d, row_sql, error)))
    return 0;
  for (guint i = 0; i < rows->len; i++) {
    const StanceResultRow *r = &g_array_index(rows, StanceResultRow, i);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, r->rep);
    bind_text(st, 3, r->kind);
    bind_text(st, 4, stance_side_name(r->rep_side));
    bind_text(st, 5, r->metric);
    bind_text(st, 6, r->unit);
    bind_text(st, 7, r->limb);
    sqlite3_bind_double(st, 8, r->value);
    bind_text(st, 9, r->method_id);
    bind_text(st, 10, r->method_params ? r->method_params : "{}");
    bind_text(st, 11, r->formula);
    bind_text(st, 12, stance_side_name(r->stronger));
    char what[128];
    g_snprintf(what, sizeof what, "storing result %s %s of rep %d", r->metric, r->limb, r->rep);
    if (!run(d, st, error, what))
      return 0;
  }
  return id;
}

#define ANALYSIS_COLS "id, trial_id, created_unix_ms, options, stance_version, current"

static void
read_analysis(sqlite3_stmt *st, StanceStoreAnalysis *a)
{
  stance_store_analysis_clear(a);
  a->id = sqlite3_column_int64(st, 0);
  a->trial_id = sqlite3_column_int64(st, 1);
  a->created_unix_ms = sqlite3_column_int64(st, 2);
  a->options = col_dup(st, 3);
  col_copy(st, 4, a->stance_version, sizeof a->stance_version);
  a->current = sqlite3_column_int(st, 5) != 0;
}

static gboolean
sqlite_analysis_current(StanceStoreDb *d, gint64 trial_id, StanceStoreAnalysis *out, GError **error)
{
  static const char sql[] = "SELECT " ANALYSIS_COLS " FROM analyses WHERE trial_id = ? AND "
                            "current = 1 ORDER BY id DESC LIMIT 1";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64(st, 1, trial_id);
  int r = step_row(d, st, error, "reading the current analysis");
  if (r < 0)
    return FALSE;
  if (r == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "trial %" G_GINT64_FORMAT " has no current analysis (it was never analysed)",
                trial_id);
    return FALSE;
  }
  read_analysis(st, out);
  sqlite3_reset(st);
  return TRUE;
}

static GPtrArray *
sqlite_analysis_list(StanceStoreDb *d, gint64 trial_id, GError **error)
{
  static const char sql[] = "SELECT " ANALYSIS_COLS " FROM analyses WHERE trial_id = ? "
                            "ORDER BY created_unix_ms, id";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return NULL;
  sqlite3_bind_int64(st, 1, trial_id);
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)stance_store_analysis_free);
  int r;
  while ((r = step_row(d, st, error, "listing analysis runs")) == 1) {
    StanceStoreAnalysis *a = g_new0(StanceStoreAnalysis, 1);
    read_analysis(st, a);
    g_ptr_array_add(list, a);
  }
  if (r < 0) {
    g_ptr_array_unref(list);
    return NULL;
  }
  return list;
}

static gboolean
sqlite_analysis_exists(StanceStoreDb *d, gint64 id, GError **error)
{
  static const char sql[] = "SELECT 1 FROM analyses WHERE id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64(st, 1, id);
  int r = step_row(d, st, error, "finding an analysis run");
  if (r < 0)
    return FALSE;
  if (r == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no analysis run with id %" G_GINT64_FORMAT, id);
    return FALSE;
  }
  sqlite3_reset(st);
  return TRUE;
}

static GArray *
sqlite_results(StanceStoreDb *d, gint64 analysis_id, GError **error)
{
  static const char sql[] =
      "SELECT rep, kind, rep_side, metric, unit, limb, value, method_id, method_params, formula, "
      "stronger FROM results WHERE analysis_id = ? ORDER BY rep, metric, "
      "CASE limb WHEN 'left' THEN 0 WHEN 'right' THEN 1 WHEN 'total' THEN 2 ELSE 3 END";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return NULL;
  sqlite3_bind_int64(st, 1, analysis_id);
  GArray *rows = g_array_new(FALSE, TRUE, sizeof(StanceResultRow));
  g_array_set_clear_func(rows, (GDestroyNotify)stance_result_row_clear);
  int r;
  while ((r = step_row(d, st, error, "reading results")) == 1) {
    StanceResultRow row = {0};
    row.rep = sqlite3_column_int(st, 0);
    col_copy(st, 1, row.kind, sizeof row.kind);
    row.rep_side = col_side(st, 2);
    col_copy(st, 3, row.metric, sizeof row.metric);
    col_copy(st, 4, row.unit, sizeof row.unit);
    col_copy(st, 5, row.limb, sizeof row.limb);
    row.value = sqlite3_column_double(st, 6);
    col_copy(st, 7, row.method_id, sizeof row.method_id);
    row.method_params = col_dup(st, 8);
    col_copy(st, 9, row.formula, sizeof row.formula);
    row.stronger = col_side(st, 10);
    g_array_append_val(rows, row);
  }
  if (r < 0) {
    g_array_unref(rows);
    return NULL;
  }
  return rows;
}

static GArray *
sqlite_trend_values(StanceStoreDb *d, gint64 athlete_id, StanceProtocol protocol,
                    const char *metric, GError **error)
{
  static const char sql[] =
      "SELECT s.id, s.started_unix_ms, t.id, t.protocol, r.rep, r.limb, r.value, r.unit, "
      "r.formula FROM results r JOIN analyses a ON a.id = r.analysis_id "
      "JOIN trials t ON t.id = a.trial_id JOIN sessions s ON s.id = t.session_id "
      "WHERE s.athlete_id = ?1 AND r.metric = ?2 AND a.current = 1 AND t.accepted = 1 "
      "AND t.state <> 'recording' AND (?3 IS NULL OR t.protocol = ?3) "
      "ORDER BY s.started_unix_ms, s.id, t.number, r.rep";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return NULL;
  sqlite3_bind_int64(st, 1, athlete_id);
  bind_text(st, 2, metric);
  bind_text(st, 3, protocol == STANCE_PROTO_UNKNOWN ? NULL : stance_protocol_name(protocol));
  GArray *arr = g_array_new(FALSE, TRUE, sizeof(StanceStoreTrendValue));
  int r;
  while ((r = step_row(d, st, error, "reading the trend's values")) == 1) {
    StanceStoreTrendValue v = {0};
    v.session_id = sqlite3_column_int64(st, 0);
    v.session_started_unix_ms = sqlite3_column_int64(st, 1);
    v.trial_id = sqlite3_column_int64(st, 2);
    const unsigned char *p = sqlite3_column_text(st, 3);
    v.protocol = p ? stance_protocol_from_name((const char *)p) : STANCE_PROTO_UNKNOWN;
    v.rep = sqlite3_column_int(st, 4);
    col_copy(st, 5, v.limb, sizeof v.limb);
    v.value = sqlite3_column_double(st, 6);
    col_copy(st, 7, v.unit, sizeof v.unit);
    col_copy(st, 8, v.formula, sizeof v.formula);
    g_array_append_val(arr, v);
  }
  if (r < 0) {
    g_array_unref(arr);
    return NULL;
  }
  return arr;
}

/* ======================================================================================
 * Calibrations
 * ====================================================================================== */

static void
put_f64s(guint8 *buf, const double *v, int n)
{
  for (int i = 0; i < n; i++)
    stance_put_le_f64(buf + 8 * i, v[i]);
}

static void
get_f64s(sqlite3_stmt *st, int col, double *v, int n)
{
  const guint8 *b = sqlite3_column_blob(st, col);
  int len = sqlite3_column_bytes(st, col);
  for (int i = 0; i < n; i++)
    v[i] = b && len >= 8 * (i + 1) ? stance_get_le_f64(b + 8 * i) : 0.0;
}

static gboolean
sqlite_calibration_insert(StanceStoreDb *d, const StanceCalibRecord *rec, const guint8 *calib_blob,
                          gsize calib_len, const char *result_json, GError **error)
{
  static const char sql[] =
      "INSERT INTO calibrations (id, board_serial, sequence, created_unix_ms, format_version, "
      "plan_name, plan_steps, fit_method, gravity_m_s2, passed, n_faults, calibration, "
      "gain_se_n_per_count, offset_se_counts, full_scale_left_n, full_scale_right_n, "
      "residual_rms_left_n, residual_rms_right_n, force_error_left_pct_fs, "
      "force_error_right_pct_fs, cop_error_left_mm, cop_error_right_mm, "
      "nonlinearity_left_pct_fs, nonlinearity_right_pct_fs, hysteresis_left_pct_fs, "
      "hysteresis_right_pct_fs, zero_return_left_pct_fs, zero_return_right_pct_fs, result_json) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?)";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  guint8 gain_se[8 * STANCE_N_CELLS], offset_se[8 * STANCE_N_CELLS];
  put_f64s(gain_se, rec->gain_se_n_per_count, STANCE_N_CELLS);
  put_f64s(offset_se, rec->offset_se_counts, STANCE_N_CELLS);
  bind_text(st, 1, rec->id);
  bind_text(st, 2, rec->board_serial);
  sqlite3_bind_int64(st, 3, rec->sequence);
  sqlite3_bind_int64(st, 4, rec->created_unix_ms);
  sqlite3_bind_int64(st, 5, rec->format_version);
  bind_text(st, 6, rec->plan_name);
  sqlite3_bind_int64(st, 7, rec->plan_steps);
  bind_text(st, 8, rec->fit_method);
  sqlite3_bind_double(st, 9, rec->gravity_m_s2);
  sqlite3_bind_int(st, 10, rec->passed ? 1 : 0);
  sqlite3_bind_int64(st, 11, rec->n_faults);
  sqlite3_bind_blob64(st, 12, calib_blob, calib_len, SQLITE_STATIC);
  sqlite3_bind_blob(st, 13, gain_se, sizeof gain_se, SQLITE_STATIC);
  sqlite3_bind_blob(st, 14, offset_se, sizeof offset_se, SQLITE_STATIC);
  const double *figs[] = {rec->full_scale_n,      rec->residual_rms_n,      rec->force_error_pct_fs,
                          rec->cop_error_mm,      rec->nonlinearity_pct_fs, rec->hysteresis_pct_fs,
                          rec->zero_return_pct_fs};
  for (int f = 0; f < 7; f++) {
    sqlite3_bind_double(st, 15 + 2 * f, figs[f][0]);
    sqlite3_bind_double(st, 16 + 2 * f, figs[f][1]);
  }
  bind_text(st, 29, result_json);
  char what[128];
  g_snprintf(what, sizeof what, "saving calibration %s", rec->id);
  return run(d, st, error, what);
}

#define CALIB_COLS                                                                                 \
  "id, board_serial, sequence, created_unix_ms, plan_name, fit_method, passed, n_faults, "         \
  "calibration, gain_se_n_per_count, full_scale_left_n, full_scale_right_n, "                      \
  "force_error_left_pct_fs, force_error_right_pct_fs, cop_error_left_mm, cop_error_right_mm, "     \
  "nonlinearity_left_pct_fs, nonlinearity_right_pct_fs, hysteresis_left_pct_fs, "                  \
  "hysteresis_right_pct_fs, result_json, written_to_board_unix_ms, plan_steps, gravity_m_s2, "     \
  "offset_se_counts, residual_rms_left_n, residual_rms_right_n, zero_return_left_pct_fs, "         \
  "zero_return_right_pct_fs"

static gboolean
read_calibration(sqlite3_stmt *st, StanceStoreCalibration *c, GError **error)
{
  stance_store_calibration_clear(c);
  col_copy(st, 0, c->id, sizeof c->id);
  col_copy(st, 1, c->board_serial, sizeof c->board_serial);
  c->sequence = (guint32)sqlite3_column_int64(st, 2);
  c->created_unix_ms = sqlite3_column_int64(st, 3);
  col_copy(st, 4, c->plan_name, sizeof c->plan_name);
  col_copy(st, 5, c->fit_method, sizeof c->fit_method);
  c->passed = sqlite3_column_int(st, 6) != 0;
  c->n_faults = (guint32)sqlite3_column_int64(st, 7);
  if (!_stance_store_calib_decode(sqlite3_column_blob(st, 8), (gsize)sqlite3_column_bytes(st, 8),
                                  &c->calibration, error)) {
    g_prefix_error(error, "calibration %s: ", c->id);
    return FALSE;
  }
  get_f64s(st, 9, c->gain_se_n_per_count, STANCE_N_CELLS);
  double *figs[] = {c->full_scale_n, c->force_error_pct_fs, c->cop_error_mm, c->nonlinearity_pct_fs,
                    c->hysteresis_pct_fs};
  for (int f = 0; f < 5; f++) {
    figs[f][0] = sqlite3_column_double(st, 10 + 2 * f);
    figs[f][1] = sqlite3_column_double(st, 11 + 2 * f);
  }
  c->result_json = col_dup(st, 20);
  c->written_to_board_unix_ms = sqlite3_column_int64(st, 21);
  c->plan_steps = (guint32)sqlite3_column_int64(st, 22);
  c->gravity_m_s2 = sqlite3_column_double(st, 23);
  get_f64s(st, 24, c->offset_se_counts, STANCE_N_CELLS);
  c->residual_rms_n[0] = sqlite3_column_double(st, 25);
  c->residual_rms_n[1] = sqlite3_column_double(st, 26);
  c->zero_return_pct_fs[0] = sqlite3_column_double(st, 27);
  c->zero_return_pct_fs[1] = sqlite3_column_double(st, 28);
  return TRUE;
}

static gboolean
one_calibration(StanceStoreDb *d, sqlite3_stmt *st, StanceStoreCalibration *out,
                const char *missing, GError **error)
{
  int r = step_row(d, st, error, "reading a calibration");
  if (r < 0)
    return FALSE;
  if (r == 0) {
    g_set_error_literal(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND, missing);
    return FALSE;
  }
  gboolean ok = read_calibration(st, out, error);
  sqlite3_reset(st);
  return ok;
}

static gboolean
sqlite_calibration_get(StanceStoreDb *d, const char *id, StanceStoreCalibration *out,
                       GError **error)
{
  static const char sql[] = "SELECT " CALIB_COLS " FROM calibrations WHERE id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  bind_text(st, 1, id);
  gchar *missing = g_strdup_printf("no calibration with id \"%s\"", id);
  gboolean ok = one_calibration(d, st, out, missing, error);
  g_free(missing);
  return ok;
}

static gboolean
sqlite_calibration_latest(StanceStoreDb *d, const char *serial, StanceStoreCalibration *out,
                          GError **error)
{
  static const char sql[] = "SELECT " CALIB_COLS " FROM calibrations WHERE board_serial = ? "
                            "ORDER BY created_unix_ms DESC, sequence DESC LIMIT 1";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  bind_text(st, 1, serial);
  gchar *missing = g_strdup_printf("board %s has no calibration in the store", serial);
  gboolean ok = one_calibration(d, st, out, missing, error);
  g_free(missing);
  return ok;
}

static GPtrArray *
sqlite_calibration_list(StanceStoreDb *d, const char *serial, GError **error)
{
  static const char sql[] = "SELECT " CALIB_COLS " FROM calibrations WHERE ?1 IS NULL OR "
                            "board_serial = ?1 ORDER BY created_unix_ms DESC, sequence DESC, id";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return NULL;
  bind_text(st, 1, serial);
  GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)stance_store_calibration_free);
  int r;
  while ((r = step_row(d, st, error, "listing calibrations")) == 1) {
    StanceStoreCalibration *c = g_new0(StanceStoreCalibration, 1);
    g_ptr_array_add(list, c);
    if (!read_calibration(st, c, error)) {
      sqlite3_reset(st);
      r = -1;
      break;
    }
  }
  if (r < 0) {
    g_ptr_array_unref(list);
    return NULL;
  }
  return list;
}

static gboolean
sqlite_calibration_max_sequence(StanceStoreDb *d, const char *serial, gint64 from, gint64 to,
                                guint32 *out, GError **error)
{
  static const char sql[] = "SELECT coalesce(max(sequence), 0) FROM calibrations WHERE "
                            "board_serial = ? AND created_unix_ms >= ? AND created_unix_ms < ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  bind_text(st, 1, serial);
  sqlite3_bind_int64(st, 2, from);
  sqlite3_bind_int64(st, 3, to);
  if (step_row(d, st, error, "numbering a calibration") != 1)
    return FALSE;
  *out = (guint32)sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return TRUE;
}

static gboolean
sqlite_calibration_mark_written(StanceStoreDb *d, const char *id, gint64 when, GError **error)
{
  static const char sql[] = "UPDATE calibrations SET written_to_board_unix_ms = ? WHERE id = ?";
  sqlite3_stmt *st = stmt(d, sql, error);
  if (!st)
    return FALSE;
  sqlite3_bind_int64(st, 1, when);
  bind_text(st, 2, id);
  if (!run(d, st, error, "marking a calibration as written to its board"))
    return FALSE;
  if (sqlite3_changes(d->db) == 0) {
    g_set_error(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_NOT_FOUND,
                "no calibration with id \"%s\"", id);
    return FALSE;
  }
  return TRUE;
}

/* ======================================================================================
 * The table
 * ====================================================================================== */

static const StanceStoreBackend sqlite_backend = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .integrity_check = sqlite_integrity_check,
    .set_size_limit = sqlite_set_size_limit,
    .athlete_insert = sqlite_athlete_insert,
    .athlete_update = sqlite_athlete_update,
    .athlete_get = sqlite_athlete_get,
    .athlete_by_uuid = sqlite_athlete_by_uuid,
    .athlete_list = sqlite_athlete_list,
    .mass_insert = sqlite_mass_insert,
    .masses = sqlite_masses,
    .athlete_metrics = sqlite_athlete_metrics,
    .session_insert = sqlite_session_insert,
    .session_update = sqlite_session_update,
    .session_get = sqlite_session_get,
    .session_list = sqlite_session_list,
    .session_latest_in = sqlite_session_latest_in,
    .session_by_uuid = sqlite_session_by_uuid,
    .trial_insert = sqlite_trial_insert,
    .trial_get = sqlite_trial_get,
    .trial_list = sqlite_trial_list,
    .trial_id_by_uuid = sqlite_trial_id_by_uuid,
    .trial_header = sqlite_trial_header,
    .trial_set_accepted = sqlite_trial_set_accepted,
    .chunk_insert = sqlite_chunk_insert,
    .trial_set_counts = sqlite_trial_set_counts,
    .trial_set_state = sqlite_trial_set_state,
    .chunks_foreach = sqlite_chunks_foreach,
    .trials_recording = sqlite_trials_recording,
    .analysis_insert = sqlite_analysis_insert,
    .analysis_current = sqlite_analysis_current,
    .analysis_list = sqlite_analysis_list,
    .analysis_exists = sqlite_analysis_exists,
    .results = sqlite_results,
    .trend_values = sqlite_trend_values,
    .calibration_insert = sqlite_calibration_insert,
    .calibration_get = sqlite_calibration_get,
    .calibration_latest = sqlite_calibration_latest,
    .calibration_list = sqlite_calibration_list,
    .calibration_max_sequence = sqlite_calibration_max_sequence,
    .calibration_mark_written = sqlite_calibration_mark_written,
};

const StanceStoreBackend *
_stance_store_sqlite_backend(void)
{
  return &sqlite_backend;
}
