/* stance-store-backend.h: the store's backend table (private to src/store; the PostgreSQL seam).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * stance-store.c checks every argument, generates uuids, encodes samples into chunks, decides
 * liveness of writers and computes trends; a backend only keeps and finds rows. One
 * StanceStoreBackend per database engine: SQLite (stance-store-sqlite.c) is the embedded default;
 * a PostgreSQL backend for several plate stations sharing one server implements the same table
 * (docs/store.md, "The backend seam"). No SQL text exists outside the backend's own file.
 *
 * Conventions of every operation:
 *   - db is the backend's own connection (StanceStoreDb, defined by each backend);
 *   - the arguments were checked by stance-store.c (valid ids > 0, valid UTF-8 of allowed length,
 *     finite numbers), so a backend only reports what the database says;
 *   - errors are set in the STANCE_STORE_ERROR domain: FULL for a full disk or size limit, BUSY for
 *     a lock held longer than the busy timeout, CORRUPT for a damaged file, EXISTS for a uniqueness
 *     violation, NOT_FOUND for a missing row, IO otherwise; the message names the operation and
 *     the row ("trial 12", "athlete 3");
 *   - single operations are atomic on their own; stance-store.c brackets operations that belong
 *     together with begin/commit (or rollback after a failure). A backend does not nest
 *     transactions: begin inside a transaction is a programming error.
 *   - returned structs are filled into the caller's storage (init'ed by the caller); arrays are new
 *     and carry their free functions as the public header says.
 *
 * Threads: as the store, one thread at a time per db.
 */
#pragma once

#include "stance-store.h"

G_BEGIN_DECLS

typedef struct _StanceStoreDb StanceStoreDb;

/* One committed chunk of samples, as stored (data = the packed samples of docs/store.md). */
typedef struct {
  gint64 trial_id;
  gint64 seq;
  guint64 first_sample;
  guint64 n_samples;
  const guint8 *data; /* valid during the callback only */
  gsize len;
  guint32 crc32; /* as stored */
} StanceStoreChunk;

/* Return FALSE (with error set) to stop the iteration with that error. */
typedef gboolean (*StanceStoreChunkFunc)(const StanceStoreChunk *chunk, gpointer user,
                                         GError **error);

/* How a trial's samples are stored: what is needed to decode its chunks. */
typedef struct {
  StanceLayout layout;
  gboolean has_cop;
  StanceTrialState state;
  guint64 n_samples;
} StanceStoreTrialFormat;

/* The identity of the process writing a trial (docs/store.md, "Crash safety"). */
typedef struct {
  gchar *host; /* g_get_host_name() */
  gint64 pid;
  guint64 start_ticks; /* field 22 of /proc/<pid>/stat: start time after boot, clock ticks */
  gchar *boot_id;      /* /proc/sys/kernel/random/boot_id */
} StanceStoreWriterId;

/* A trial left in state RECORDING, with its writer. */
typedef struct {
  gint64 trial_id;
  StanceStoreWriterId writer;
  double sample_rate_hz;
} StanceStoreOpenTrial;

/* One result value found for a trend (rows of the current analyses of accepted trials). */
typedef struct {
  gint64 session_id;
  gint64 session_started_unix_ms;
  gint64 trial_id;
  StanceProtocol protocol;
  int rep;
  char limb[8];
  double value;
  char unit[12];
  char formula[24];
} StanceStoreTrendValue;

/* A trial to insert: the public fields (number 0 = the next free number of the session) plus
 * its header (the zero-sample .stance encoding) and how its samples are packed. */
typedef struct {
  const StanceStoreTrial *fields;
  const guint8 *header;
  gsize header_len;
  gboolean has_cop;
  const StanceStoreWriterId *writer; /* NULL unless state RECORDING */
} StanceStoreTrialInsert;

typedef struct {
  const char *name; /* "sqlite" */

  /* ---- Connection ---- */
  /* Opens or creates the database at path (an absolute or relative file path for SQLite, a
   * connection string for a server), checks it is a Stance database, migrates an older schema
   * (unless READ_ONLY: then a private copy is migrated and the file is not touched), refuses a
   * newer one, and sets *schema_version to the version now in use. */
  StanceStoreDb *(*open)(const char *path, StanceStoreFlags flags, int *schema_version,
                         GError **error);
  void (*close)(StanceStoreDb *db);
  /* write: take the write lock at once (SQLite BEGIN IMMEDIATE), else a read snapshot. */
  gboolean (*begin)(StanceStoreDb *db, gboolean write, GError **error);
  gboolean (*commit)(StanceStoreDb *db, GError **error);
  void (*rollback)(StanceStoreDb *db); /* harmless when no transaction is open */
  gboolean (*integrity_check)(StanceStoreDb *db, GError **error);
  gboolean (*set_size_limit)(StanceStoreDb *db, guint64 max_bytes, GError **error);

  /* ---- Athletes ---- */
  gint64 (*athlete_insert)(StanceStoreDb *db, const StanceAthlete *a, GError **error);
  gboolean (*athlete_update)(StanceStoreDb *db, const StanceAthlete *a, GError **error);
  gboolean (*athlete_get)(StanceStoreDb *db, gint64 id, StanceAthlete *out, GError **error);
  /* TRUE with *found FALSE when no athlete has that uuid. */
  gboolean (*athlete_by_uuid)(StanceStoreDb *db, const char *uuid, StanceAthlete *out,
                              gboolean *found, GError **error);
  GPtrArray *(*athlete_list)(StanceStoreDb *db, GError **error);
  gboolean (*mass_insert)(StanceStoreDb *db, gint64 athlete_id, const StanceMassEntry *m,
                          GError **error);
  GArray *(*masses)(StanceStoreDb *db, gint64 athlete_id, GError **error);
  /* Distinct metric ids of the current analyses of the athlete's accepted trials (gchar*). */
  GPtrArray *(*athlete_metrics)(StanceStoreDb *db, gint64 athlete_id, GError **error);

  /* ---- Sessions ---- */
  gint64 (*session_insert)(StanceStoreDb *db, const StanceSession *s, GError **error);
  gboolean (*session_update)(StanceStoreDb *db, const StanceSession *s, GError **error);
  gboolean (*session_get)(StanceStoreDb *db, gint64 id, StanceSession *out, GError **error);
  GPtrArray *(*session_list)(StanceStoreDb *db, gint64 athlete_id, GError **error);
  /* The latest session of the athlete started in [from, to); 0 when none, -1 on error. */
  gint64 (*session_latest_in)(StanceStoreDb *db, gint64 athlete_id, gint64 from_unix_ms,
                              gint64 to_unix_ms, GError **error);
  /* 0 when none (not an error), -1 on error. */
  gint64 (*session_by_uuid)(StanceStoreDb *db, const char *uuid, GError **error);

  /* ---- Trials ---- */
  /* Inserts a trial (inside a write transaction opened by the caller: the number is taken there).
   */
  gint64 (*trial_insert)(StanceStoreDb *db, gint64 session_id, const StanceStoreTrialInsert *t,
                         GError **error);
  gboolean (*trial_get)(StanceStoreDb *db, gint64 id, StanceStoreTrial *out, GError **error);
  GPtrArray *(*trial_list)(StanceStoreDb *db, gint64 session_id, GError **error);
  /* *id = 0 (and TRUE) when no trial has that uuid. */
  gboolean (*trial_id_by_uuid)(StanceStoreDb *db, const char *uuid, gint64 *id, GError **error);
  /* The header blob (caller frees) and the packing. */
  gboolean (*trial_header)(StanceStoreDb *db, gint64 id, GBytes **header,
                           StanceStoreTrialFormat *format, GError **error);
  gboolean (*trial_set_accepted)(StanceStoreDb *db, gint64 id, gboolean accepted,
                                 const char *reason, GError **error);
  /* Stores a chunk (the caller holds a write transaction and updates the counts after). */
  gboolean (*chunk_insert)(StanceStoreDb *db, gint64 trial_id, gint64 seq, guint64 first_sample,
                           guint64 n_samples, const guint8 *data, gsize len, guint32 crc32,
                           GError **error);
  gboolean (*trial_set_counts)(StanceStoreDb *db, gint64 trial_id, guint64 n_samples,
                               guint64 gap_samples, GError **error);
  /* Sets the state (and the note when note is not NULL); leaving RECORDING forgets the writer. */
  gboolean (*trial_set_state)(StanceStoreDb *db, gint64 trial_id, StanceTrialState state,
                              const char *note, GError **error);
  /* Chunks of one trial in seq order (trial_id > 0), or of every trial by (trial_id, seq). */
  gboolean (*chunks_foreach)(StanceStoreDb *db, gint64 trial_id, StanceStoreChunkFunc func,
                             gpointer user, GError **error);
  /* Trials in state RECORDING (StanceStoreOpenTrial*, free function set). */
  GPtrArray *(*trials_recording)(StanceStoreDb *db, GError **error);

  /* ---- Analyses ---- */
  /* Inserts a run with its rows (caller holds a write transaction); current: make it the trial's
   * current run (the others stop being current). */
  gint64 (*analysis_insert)(StanceStoreDb *db, gint64 trial_id, const StanceStoreAnalysis *meta,
                            const GArray *rows, GError **error);
  /* FALSE with NOT_FOUND when the trial has no current run. */
  gboolean (*analysis_current)(StanceStoreDb *db, gint64 trial_id, StanceStoreAnalysis *out,
                               GError **error);
  GPtrArray *(*analysis_list)(StanceStoreDb *db, gint64 trial_id, GError **error);
  gboolean (*analysis_exists)(StanceStoreDb *db, gint64 analysis_id, GError **error);
  GArray *(*results)(StanceStoreDb *db, gint64 analysis_id, GError **error);
  /* Values of the metric for the athlete (StanceStoreTrendValue), ordered by session start,
   * session, trial number, rep. protocol UNKNOWN: every protocol. */
  GArray *(*trend_values)(StanceStoreDb *db, gint64 athlete_id, StanceProtocol protocol,
                          const char *metric, GError **error);

  /* ---- Calibrations ---- */
  gboolean (*calibration_insert)(StanceStoreDb *db, const StanceCalibRecord *rec,
                                 const guint8 *calib_blob, gsize calib_len, const char *result_json,
                                 GError **error);
  /* FALSE with NOT_FOUND when missing. */
  gboolean (*calibration_get)(StanceStoreDb *db, const char *id, StanceStoreCalibration *out,
                              GError **error);
  gboolean (*calibration_latest)(StanceStoreDb *db, const char *board_serial,
                                 StanceStoreCalibration *out, GError **error);
  GPtrArray *(*calibration_list)(StanceStoreDb *db, const char *board_serial, GError **error);
  /* The largest sequence of the board's calibrations created in [from, to); 0 when none. */
  gboolean (*calibration_max_sequence)(StanceStoreDb *db, const char *board_serial,
                                       gint64 from_unix_ms, gint64 to_unix_ms, guint32 *out,
                                       GError **error);
  gboolean (*calibration_mark_written)(StanceStoreDb *db, const char *id, gint64 when_unix_ms,
                                       GError **error);
} StanceStoreBackend;

/* The SQLite backend (stance-store-sqlite.c). */
const StanceStoreBackend *_stance_store_sqlite_backend(void);

/* The SQL script of one migration (1 .. STANCE_STORE_SCHEMA_VERSION), for the migration test
 * that builds a file of an older version; NULL for other versions. */
const char *_stance_store_sqlite_migration(int version);

/* Shared by the store and its backends: the calibration (offsets, gains, geometry) is kept as the
 * zero-sample .stance encoding of a CELLS recording carrying it. These encode and decode it. */
gboolean _stance_store_calib_encode(const StanceCalibration *cal, guint8 **out, gsize *len,
                                    GError **error);
gboolean _stance_store_calib_decode(const guint8 *blob, gsize len, StanceCalibration *out,
                                    GError **error);

void _stance_store_writer_id_clear(StanceStoreWriterId *w);

G_END_DECLS
