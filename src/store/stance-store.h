/* stance-store.h: the session store, the one interface every caller uses (GLib layer).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What it keeps (docs/store.md has the schema):
 *   athletes      name, date of birth, sex, dominant limb, involved limb with injury notes and
 *                 date, body-mass history
 *   sessions      an athlete's visit: start time, place, notes
 *   trials        one recording each: the raw samples exactly as recorded (counts and status,
 *                 or imported forces), protocol and side, the protocol parameters, the calibration
 *                 id, accepted or rejected with a reason, and its state (recording, complete,
 *                 interrupted)
 *   analyses      each analysis run of a trial (analysis options, Stance version, time); one is
 *                 the trial's current analysis. Re-analysing with other methods adds a run and
 *                 never touches the raw samples
 *   results       per analysis run: metric, limb (left, right, total, asym), value, unit, method
 *                 id and parameters, asymmetry formula and stronger limb
 *   calibrations  versioned per board serial: the calibration, its verification figures, the full
 *                 result JSON, and whether it was written to the board
 *
 * The seam: this header is the only way in. stance-store.c checks arguments and dispatches to a
 * backend through StanceStoreBackend (stance-store-backend.h, private); SQLite
 * (stance-store-sqlite.c) is the embedded default. A PostgreSQL backend for several plate
 * stations sharing one database implements the same table of operations; no caller changes.
 * Every statement is parameterised; no SQL text is ever built from user input.
 *
 * Crash safety: a trial being recorded is written through a StanceTrialWriter in chunks, each
 * committed (durably: the WAL is synced) at most STANCE_STORE_FLUSH_MS after its first sample was
 * appended. A process killed mid-recording loses at most that much; the database is never left
 * corrupt (SQLite's journal). stance_store_open() recovers trials whose writer died: their state
 * becomes INTERRUPTED with a note saying when and how much was kept, and their samples stay.
 *
 * Full disk: a commit that fails for lack of space keeps every chunk already committed, marks the
 * trial INTERRUPTED when it can, and fails with STANCE_STORE_ERROR_FULL saying how many seconds
 * were kept.
 *
 * Ownership: the returned structs are the caller's (free them with the _clear/_free functions
 * named beside them; GPtrArrays carry their free function). Threads: a StanceStore belongs to one
 * thread at a time (the CLI's, or the app's main thread; a GTask may take it while the main thread
 * leaves it alone). Several processes may open the same database at once (WAL, busy timeout 5 s).
 */
#pragma once

#include <glib.h>

#include "stance-analysis.h"
#include "stance-calib.h"
#include "stance-recording.h"

G_BEGIN_DECLS

#define STANCE_STORE_ERROR (stance_store_error_quark())
GQuark stance_store_error_quark(void);

typedef enum {
  STANCE_STORE_ERROR_IO,        /* the database or a file cannot be opened, read or written */
  STANCE_STORE_ERROR_CORRUPT,   /* not a Stance database, damaged, or a chunk's CRC is wrong */
  STANCE_STORE_ERROR_VERSION,   /* the database's schema is newer than this Stance */
  STANCE_STORE_ERROR_NOT_FOUND, /* no such athlete, session, trial, analysis or calibration */
  STANCE_STORE_ERROR_INVALID,   /* a bad entry: empty name, bad date, mass out of range, ... */
  STANCE_STORE_ERROR_EXISTS,    /* already there (a session imported twice, a duplicate id) */
  STANCE_STORE_ERROR_AMBIGUOUS, /* a name matches several athletes (the message lists their ids) */
  STANCE_STORE_ERROR_FULL,      /* the disk (or the database's size limit) is full */
  STANCE_STORE_ERROR_BUSY,      /* locked by another process for longer than the busy timeout */
  STANCE_STORE_ERROR_READ_ONLY, /* a write on a store opened read-only */
  STANCE_STORE_ERROR_BUNDLE,    /* a malformed session bundle */
  STANCE_STORE_ERROR_ANALYSIS,  /* the analysis of a stored trial failed */
} StanceStoreError;

/* The schema version this Stance writes (docs/store.md lists every migration). */
#define STANCE_STORE_SCHEMA_VERSION 2
/* A chunk of samples is committed at most this long after its first sample was appended. */
#define STANCE_STORE_FLUSH_MS 100

typedef enum {
  STANCE_STORE_DEFAULT = 0,
  STANCE_STORE_READ_ONLY = 1 << 0,  /* refuse writes; no migration, no recovery */
  STANCE_STORE_NO_RECOVER = 1 << 1, /* leave interrupted trials as they are (tests, bundles) */
  STANCE_STORE_MUST_CREATE = 1 << 2 /* the file must not exist yet (bundle export) */
} StanceStoreFlags;

typedef struct _StanceStore StanceStore;

/* The default database: $STANCE_DB when set, else <XDG data dir>/stance/stance.db
 * (g_get_user_data_dir(): ~/.local/share/stance/stance.db). Caller frees. */
gchar *stance_store_default_path(void);

/* Opens (creating the file and its folder when missing, and migrating an older schema inside one
 * transaction) the database at path (NULL: the default). Unless READ_ONLY or NO_RECOVER, recovers
 * interrupted trials (stance_store_recovered()). Errors: IO (names the path and the OS reason),
 * CORRUPT ("... is not a Stance database: <why>"), VERSION (names both versions), BUSY. */
StanceStore *stance_store_open(const char *path, StanceStoreFlags flags, GError **error);
void stance_store_close(StanceStore *store);

const char *stance_store_path(StanceStore *store);
int stance_store_schema_version(StanceStore *store);
/* Ids of the trials recovered by the last open or stance_store_recover() (owned by the store). */
const GArray *stance_store_recovered(StanceStore *store);
/* Recovers trials whose writer is gone (a dead process on this host, or a previous boot): state
 * INTERRUPTED, note, sample count from the committed chunks. Returns how many. */
int stance_store_recover(StanceStore *store, GError **error);
/* Runs the database's own integrity check and the CRC of every stored chunk. */
gboolean stance_store_check(StanceStore *store, GError **error);
/* Limits the database to max_bytes (0: no limit) so that tests can fill it: commits past the
 * limit fail with STANCE_STORE_ERROR_FULL as a full disk would. */
gboolean stance_store_set_size_limit(StanceStore *store, guint64 max_bytes, GError **error);

/* ---- Athletes ---- */

typedef enum {
  STANCE_SEX_UNKNOWN = 0,
  STANCE_SEX_FEMALE,
  STANCE_SEX_MALE,
  STANCE_SEX_OTHER,
} StanceSex;

/* "unknown", "female", "male", "other"; from_name also accepts "f", "m", any case. */
const char *stance_sex_name(StanceSex sex);
gboolean stance_sex_from_name(const char *name, StanceSex *out);

typedef struct {
  gint64 id;           /* > 0 once stored */
  char uuid[37];       /* stable across installations (bundles); generated when empty */
  gchar *name;         /* 1-127 bytes of UTF-8, not all blanks */
  char birth_date[11]; /* "YYYY-MM-DD" or "" */
  StanceSex sex;
  StanceSide dominant;    /* LEFT / RIGHT; BOTH = not known */
  StanceSide involved;    /* injured or operated limb: LEFT / RIGHT; BOTH = none */
  gchar *injury_notes;    /* NULL or text */
  char injury_date[11];   /* "YYYY-MM-DD" or "" */
  gboolean pseudonymised; /* came from a pseudonymised bundle */
  gint64 created_unix_ms;
} StanceAthlete;

void stance_athlete_init(StanceAthlete *a);  /* zero, sides BOTH */
void stance_athlete_clear(StanceAthlete *a); /* frees the strings, then init */
void stance_athlete_free(StanceAthlete *a);  /* clear + g_free (GPtrArray free func) */
/* Checks the fields: the message names the field, the value and what is expected (dates real
 * and not in the future, injury not before birth, name length). */
gboolean stance_athlete_validate(const StanceAthlete *a, GError **error);

/* Adds a (validated) athlete; returns its id, 0 on error. A name already used by another athlete
 * is allowed (two people may share one) but find() then reports AMBIGUOUS. */
gint64 stance_store_athlete_add(StanceStore *store, const StanceAthlete *a, GError **error);
/* Replaces every field of athlete a->id. */
gboolean stance_store_athlete_update(StanceStore *store, const StanceAthlete *a, GError **error);
gboolean stance_store_athlete_get(StanceStore *store, gint64 id, StanceAthlete *out,
                                  GError **error);
/* key: a decimal id, a uuid, or a name (exact, ignoring case). */
gboolean stance_store_athlete_find(StanceStore *store, const char *key, StanceAthlete *out,
                                   GError **error);
/* Every athlete by name (StanceAthlete*, free function set). */
GPtrArray *stance_store_athlete_list(StanceStore *store, GError **error);

typedef struct {
  gint64 measured_unix_ms;
  double mass_kg;  /* 20-300 kg */
  char source[16]; /* "entered" (typed in) or "plates" (weighed on the plates) */
} StanceMassEntry;

gboolean stance_store_athlete_add_mass(StanceStore *store, gint64 athlete_id,
                                       const StanceMassEntry *m, GError **error);
/* Oldest first (GArray of StanceMassEntry). */
GArray *stance_store_athlete_masses(StanceStore *store, gint64 athlete_id, GError **error);

/* ---- Sessions ---- */

typedef struct {
  gint64 id;
  char uuid[37];
  gint64 athlete_id;
  gint64 started_unix_ms;
  gchar *place; /* NULL or text */
  gchar *notes; /* NULL or text */
  int n_trials; /* filled by get and list */
} StanceSession;

void stance_session_init(StanceSession *s);
void stance_session_clear(StanceSession *s);
void stance_session_free(StanceSession *s);

gint64 stance_store_session_add(StanceStore *store, const StanceSession *s, GError **error);
gboolean stance_store_session_update(StanceStore *store, const StanceSession *s, GError **error);
gboolean stance_store_session_get(StanceStore *store, gint64 id, StanceSession *out,
                                  GError **error);
/* Newest first; athlete_id 0 = every athlete (StanceSession*, free function set). */
GPtrArray *stance_store_session_list(StanceStore *store, gint64 athlete_id, GError **error);
/* The athlete's latest session that started on the same local calendar day as now_unix_ms; 0 when
 * none (not an error). */
gint64 stance_store_session_today(StanceStore *store, gint64 athlete_id, gint64 now_unix_ms,
                                  GError **error);
/* Finds a session by uuid; 0 when none. */
gint64 stance_store_session_by_uuid(StanceStore *store, const char *uuid, GError **error);

/* ---- Trials ---- */

typedef enum {
  STANCE_TRIAL_RECORDING = 0, /* a writer is adding samples */
  STANCE_TRIAL_COMPLETE,      /* the recording ended normally */
  STANCE_TRIAL_INTERRUPTED,   /* the writer died or the disk filled: samples up to then kept */
} StanceTrialState;

const char *stance_trial_state_name(StanceTrialState s); /* "recording", "complete", ... */

typedef struct {
  gint64 id;
  char uuid[37];
  gint64 session_id;
  int number; /* 1, 2, ... within the session, in recording order */
  StanceProtocol protocol;
  StanceSide side;
  gchar *params;           /* protocol parameters as "key=value" lines (NULL when none) */
  char calibration_id[64]; /* "" when none (imports) */
  StanceLayout layout;
  double sample_rate_hz;
  guint64 n_samples; /* committed samples, gaps included */
  guint64 gap_samples;
  gint64 started_unix_ms;
  StanceTrialState state;
  gboolean accepted;    /* TRUE unless rejected */
  gchar *reject_reason; /* NULL unless rejected */
  gchar *note;          /* recovery or import note; NULL when none */
  gchar *source;        /* the recording's meta.source: "usb", "simulator", "import:..." */
} StanceStoreTrial;

void stance_store_trial_init(StanceStoreTrial *t);
void stance_store_trial_clear(StanceStoreTrial *t);
void stance_store_trial_free(StanceStoreTrial *t);

gboolean stance_store_trial_get(StanceStore *store, gint64 id, StanceStoreTrial *out,
                                GError **error);
/* In number order (StanceStoreTrial*, free function set). */
GPtrArray *stance_store_trial_list(StanceStore *store, gint64 session_id, GError **error);
/* The raw recording: metadata, calibration and every committed sample, exactly as recorded. */
StanceRecording *stance_store_trial_read(StanceStore *store, gint64 trial_id, GError **error);
/* Accepts (reason NULL) or rejects (reason required, 1-500 bytes) a trial. */
gboolean stance_store_trial_set_accepted(StanceStore *store, gint64 trial_id, gboolean accepted,
                                         const char *reason, GError **error);
/* Stores a whole recording as a complete trial of the session (protocol, side and params from
 * rec->meta); returns the trial id. */
gint64 stance_store_trial_import(StanceStore *store, gint64 session_id, const StanceRecording *rec,
                                 GError **error);
/* Same, keeping the given trial's uuid, number, state, acceptance, note and start time (bundle
 * import); EXISTS when the uuid is already stored. */
gint64 stance_store_trial_import_as(StanceStore *store, gint64 session_id,
                                    const StanceStoreTrial *fields, const StanceRecording *rec,
                                    GError **error);

/* ---- Recording a trial (crash-safe) ---- */

typedef struct _StanceTrialWriter StanceTrialWriter;

/* Starts a trial in state RECORDING. header gives the layout, rate, calibration and metadata
 * (protocol, side, source, serial, ...); its samples, if any, are not written (append them). */
StanceTrialWriter *stance_store_trial_begin(StanceStore *store, gint64 session_id,
                                            const StanceRecording *header, GError **error);
gint64 stance_trial_writer_id(StanceTrialWriter *w);
/* Appends samples [from, rec->n_samples) of rec (same layout and rate as the header). Commits a
 * chunk when the oldest uncommitted sample was appended STANCE_STORE_FLUSH_MS ago or more. On
 * FULL the committed samples are kept and the writer refuses further appends. */
gboolean stance_trial_writer_append(StanceTrialWriter *w, const StanceRecording *rec, gsize from,
                                    GError **error);
/* Commits what is pending now. */
gboolean stance_trial_writer_flush(StanceTrialWriter *w, GError **error);
/* Samples appended, and samples committed (on disk). */
guint64 stance_trial_writer_appended(StanceTrialWriter *w);
guint64 stance_trial_writer_committed(StanceTrialWriter *w);
/* Commits the rest and marks the trial COMPLETE. On failure the trial is left INTERRUPTED with
 * what was committed, and error says how much that is. The writer stays to be freed. */
gboolean stance_trial_writer_finish(StanceTrialWriter *w, GError **error);
/* Frees the writer; an unfinished trial is committed as far as possible and marked INTERRUPTED
 * ("recording stopped before it finished"). */
void stance_trial_writer_free(StanceTrialWriter *w);

/* ---- Analyses and results ---- */

typedef struct {
  gint64 id;
  gint64 trial_id;
  gint64 created_unix_ms;
  gchar *options; /* stance_analysis_options_to_text() */
  char stance_version[16];
  gboolean current;
} StanceStoreAnalysis;

void stance_store_analysis_clear(StanceStoreAnalysis *a);
void stance_store_analysis_free(StanceStoreAnalysis *a);

typedef struct {
  int rep;             /* the analysis trial's index (1, 2, ...); 0 for recording-level metrics */
  char kind[16];       /* the analysis trial's kind ("jump", "rep", ...); "" for rep 0 */
  StanceSide rep_side; /* the analysis trial's side */
  char metric[32];     /* "peak_force", ... */
  char unit[12];
  char limb[8]; /* "left", "right", "total" or "asym" */
  double value;
  char method_id[48];
  gchar *method_params; /* the method's parameters as a JSON object ("{}" when none) */
  char formula[24];     /* asym rows: the formula id; "" otherwise */
  StanceSide stronger;  /* asym rows: the stronger limb (BOTH when equal) */
} StanceResultRow;

void stance_result_row_clear(StanceResultRow *r);

/* Saves a's values (every present value of every metric of every trial, plus recording-level
 * metrics, plus asymmetries) as a new analysis run of the trial and makes it current. options_text
 * is stance_analysis_options_to_text() of the options used. Returns the analysis id. */
gint64 stance_store_analysis_save(StanceStore *store, gint64 trial_id, const StanceAnalysis *a,
                                  const char *options_text, GError **error);
/* Stores rows as they are (bundle import): a new run with meta's options, time and version. */
gint64 stance_store_analysis_put(StanceStore *store, gint64 trial_id,
                                 const StanceStoreAnalysis *meta, const GArray *rows,
                                 GError **error);
/* The trial's current run; NOT_FOUND when the trial was never analysed. */
gboolean stance_store_analysis_current(StanceStore *store, gint64 trial_id,
                                       StanceStoreAnalysis *out, GError **error);
/* Every run of the trial, oldest first (StanceStoreAnalysis*, free function set). */
GPtrArray *stance_store_analysis_list(StanceStore *store, gint64 trial_id, GError **error);
/* The rows of one run, in (rep, metric, limb) order (GArray of StanceResultRow with its clear
 * function set). */
GArray *stance_store_results(StanceStore *store, gint64 analysis_id, GError **error);

/* ---- Trends ---- */

typedef struct {
  gint64 session_id;
  gint64 started_unix_ms;
  int n_trials; /* accepted trials with a value */
  gboolean has_left, has_right, has_total, has_asym;
  double left_mean, right_mean, total_mean;
  double asym_mean;    /* mean of the per-rep asymmetry values */
  StanceSide stronger; /* the stronger limb of the means */
} StanceTrendPoint;

typedef struct {
  char metric[32];
  char unit[12];
  char formula[24]; /* of the asym values ("" when none) */
  StanceProtocol protocol;
  GArray *points; /* StanceTrendPoint, oldest session first */
  /* Across sessions (stance-reliab.h): typical error = pooled within-session SD of the per-rep
   * values; MDC95 = 1.96 sqrt(2) TE. has_ false with fewer than two values in some session. */
  gboolean has_mdc_left, has_mdc_right, has_mdc_total, has_mdc_asym;
  double te_left, te_right, te_total, te_asym;
  double mdc95_left, mdc95_right, mdc95_total, mdc95_asym;
} StanceTrend;

void stance_trend_free(StanceTrend *t);

/* The metric's trend for the athlete over the current analyses of accepted trials of protocol
 * (STANCE_PROTO_UNKNOWN: every protocol that has the metric; then protocol in the result is the
 * most frequent one and only its values are used). NOT_FOUND when no session has the metric (the
 * message lists the metrics that exist for the athlete). */
StanceTrend *stance_store_trend(StanceStore *store, gint64 athlete_id, StanceProtocol protocol,
                                const char *metric, GError **error);

/* ---- Calibrations ---- */

typedef struct {
  char id[64];
  char board_serial[32];
  guint32 sequence;
  gint64 created_unix_ms;
  char plan_name[96];
  char fit_method[48];
  gboolean passed;
  guint32 n_faults;
  double full_scale_n[STANCE_N_PLATES];
  double force_error_pct_fs[STANCE_N_PLATES];
  double cop_error_mm[STANCE_N_PLATES];
  double nonlinearity_pct_fs[STANCE_N_PLATES];
  double hysteresis_pct_fs[STANCE_N_PLATES];
  double gain_se_n_per_count[STANCE_N_CELLS];
  /* The rest of the StanceCalibRecord, so that a bundle can copy a calibration whole: */
  guint32 plan_steps;
  double gravity_m_s2;
  double offset_se_counts[STANCE_N_CELLS];
  double residual_rms_n[STANCE_N_PLATES];
  double zero_return_pct_fs[STANCE_N_PLATES];
  StanceCalibration calibration;   /* offsets, gains, geometry */
  gchar *result_json;              /* stance_calib_result_write_json() output; NULL when none */
  gint64 written_to_board_unix_ms; /* 0 when never written to the board */
} StanceStoreCalibration;

void stance_store_calibration_clear(StanceStoreCalibration *c);
void stance_store_calibration_free(StanceStoreCalibration *c);

/* Saves a calibration record (EXISTS when its id is taken). result_json may be NULL. */
gboolean stance_store_calibration_save(StanceStore *store, const StanceCalibRecord *rec,
                                       const char *result_json, GError **error);
gboolean stance_store_calibration_get(StanceStore *store, const char *id,
                                      StanceStoreCalibration *out, GError **error);
/* The board's newest calibration; NOT_FOUND when it has none. */
gboolean stance_store_calibration_latest(StanceStore *store, const char *board_serial,
                                         StanceStoreCalibration *out, GError **error);
/* Newest first; board_serial NULL = every board (StanceStoreCalibration*, free function set). */
GPtrArray *stance_store_calibration_list(StanceStore *store, const char *board_serial,
                                         GError **error);
/* The next sequence number for calibrations of this board made on created_unix_ms's UTC date. */
guint32 stance_store_calibration_next_sequence(StanceStore *store, const char *board_serial,
                                               gint64 created_unix_ms, GError **error);
gboolean stance_store_calibration_mark_written(StanceStore *store, const char *id,
                                               gint64 when_unix_ms, GError **error);

G_END_DECLS
