/* cli-record.c: `stance-cli record`: a board, the simulated plates or a file replay -> the
 * session store (--athlete) and/or a .stance file (-o).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The source (stance-source.h) streams on its own thread into a ring; this command is the
 * consumer: a GLib main loop whose timer drains the ring into a recorder (stance-recorder.h) and,
 * on a terminal, redraws a one-line status on stderr five times a second. SIGINT and SIGTERM
 * (g_unix_signal_add, so the handler runs in the loop, not in signal context) stop the source,
 * drain what it delivered and write the file with what was recorded; the exit status is then
 * 130. Board events (unplugged, back) are printed as lines. Only the main thread runs this code.
 *
 * Into the store, the trial is written while it is recorded: every drain hands the new samples to
 * a StanceTrialWriter, which commits a chunk at most STANCE_STORE_FLUSH_MS after its first sample
 * arrived. A process killed (kill -9, a crash, a power cut) thus loses at most the last ~100 ms
 * plus one drain period, and the next open of the store recovers the trial as interrupted. The
 * trial begins (and a new session is added) with the first samples, so that a source that never
 * delivers leaves nothing behind. A full disk stops the recording and keeps what was committed.
 */
#include "cli-common.h"
#include "cli-store.h"

#include <errno.h>
#include <getopt.h>
#include <glib-unix.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stance-file.h"
#include "stance-recorder.h"
#include "stance-source-replay.h"
#include "stance-source-sim.h"
#include "stance-source-usb.h"

static const char *const SUB = "record";

/* Exit status after an interruption (SIGINT/SIGTERM) once the file is written: 128 + SIGINT, as
 * shells report a program stopped by Ctrl-C. */
#define CLI_EXIT_INTERRUPTED 130

/* The longest recording a single command takes: a day. */
#define MAX_DURATION_S 86400.0

void
cli_record_help(FILE *out)
{
  fputs(
      "Usage: stance-cli record [--device SERIAL | --sim PROTOCOL | --replay FILE] [options]\n"
      "                         --duration S (--athlete ATHLETE | -o FILE.stance | both)\n"
      "\n"
      "Records from the Stance plates (a board on USB), from the simulated plates or from a\n"
      "recorded file played back, into the session store as a trial of the athlete's session\n"
      "(--athlete) and/or into FILE.stance (-o): raw counts with the board's calibration (or\n"
      "the file's layout for a replay), gaps where samples were lost, and the metadata (source,\n"
      "board serial and firmware, calibration id, start time, protocol, side, athlete).\n"
      "Into the store the trial is written as it is recorded (committed every 100 ms: a crash\n"
      "loses at most that much), then analysed; a one-line summary gives the trial and session\n"
      "ids and the asymmetry.\n"
      "\n"
      "Source (one of; default: the only board connected):\n"
      "      --device SERIAL     the board with this serial (stance-cli devices lists them)\n"
      "      --sim PROTOCOL      the simulated plates doing PROTOCOL (ids below); when the\n"
      "                          protocol ends it starts again with the next seed\n"
      "      --replay FILE       a .stance or text file, played back at its own rate\n"
      "Recording:\n"
      "      --rate HZ           sample rate: 500, 1000, 2000 or 4000 for a board and the\n"
      "                          simulated plates (default 1000); a replay has the file's\n"
      "      --duration S        length in seconds, cut to the sample (required, except for\n"
      "                          --replay, which records to the end of the file by default)\n"
      "      --protocol P        the protocol performed, for the metadata (--sim sets it)\n"
      "      --side S            left, right or both: stance leg / front foot of one-sided\n"
      "                          protocols (needed for them; default both)\n"
      "Destination (one or both):\n"
      "      --athlete ATHLETE   record into the store for this athlete (id, uuid or name, as\n"
      "                          `stance-cli athlete list` shows; add new ones with\n"
      "                          `stance-cli athlete add NAME`)\n"
      "      --session S         with --athlete: today (default: the athlete's session of today,\n"
      "                          else a new one), new, or a session id of this athlete\n"
      "      --db PATH           the store (default: $STANCE_DB, else\n"
      "                          ~/.local/share/stance/stance.db)\n"
      "  -o, --output FILE       a .stance file; replaced if it exists, written atomically when\n"
      "                          the recording ends or is interrupted\n"
      "Simulated plates (--sim only; as `stance-cli simulate`, see its --help):\n"
      "      --fast              not paced by the wall clock: as fast as it can be recorded\n"
      "      --seed N, --body-mass KG, --load KG, --asymmetry PCT, --asym-force PCT,\n"
      "      --asym-rfd PCT, --asym-impulse PCT, --weaker S, --reps N, --sets N, --fatigue PCT,\n"
      "      --tempo S, --rest S, --no-warmup, --no-still, --noise COUNTS, --cell-noise N,\n"
      "      --mains 0|50|60, --hum N, --drift N_PER_MIN, --foot-left X,Y, --foot-right X,Y\n"
      "Replay (--replay only):\n"
      "      --speed X           times real time (default 1; 0 = as fast as it can be read)\n"
      "  -h, --help              show this text and exit\n"
      "\n"
      "On a terminal a status line on stderr shows, five times a second: recorded / requested\n"
      "seconds, samples, the measured rate, gap samples and the force on the left and right\n"
      "plates and in total. Elsewhere one line is printed at the end. Ctrl-C (SIGINT) or\n"
      "SIGTERM stops the recording and keeps what was recorded (a complete, shorter trial).\n"
      "\n"
      "Exit status: 0 recorded, 1 the source failed (no board, a board or file error, a fault\n"
      "while streaming: what was recorded until then is kept), the file or the store cannot be\n"
      "written (a full disk: what was committed is kept and the message says how much), no\n"
      "such athlete or session, or the analysis failed, 2 bad usage (unknown option, bad value,\n"
      "a rate the source does not support, neither --athlete nor -o), 130 interrupted (what was\n"
      "recorded until then is kept; nothing is written when nothing was).\n"
      "\n"
      "Examples:\n"
      "  stance-cli athlete add \"Ana Silva\" --involved left\n"
      "  stance-cli record --sim cmj --asymmetry 10 --duration 30 --athlete \"Ana Silva\"\n"
      "  stance-cli record --sim sl-cmj --side right --duration 30 --athlete 3 --session new\n"
      "  stance-cli record --sim cmj --rate 1000 --duration 3 -o cmj.stance\n"
      "  stance-cli record --sim split-squat --side left --asymmetry 12 --fast --duration 60 \\\n"
      "      -o split.stance\n"
      "  stance-cli record --device SN-0042 --rate 2000 --duration 30 --protocol imtp \\\n"
      "      --athlete \"Ana Silva\" -o imtp.stance\n"
      "  stance-cli record --replay cmj.stance --speed 0 -o copy.stance\n"
      "\n"
      "Protocols:\n",
      out);
  cli_print_protocols(out, 2);
}

/* ---- Options ---- */

typedef struct {
  const char *device; /* --device */
  bool device_given;
  const char *sim;    /* --sim protocol name */
  const char *replay; /* --replay path */
  double rate_hz;     /* 0 = the source's */
  double duration_s;  /* 0 = not given */
  const char *out_path;
  const char *protocol_name;
  const char *side_name;
  const char *athlete; /* --athlete: record into the store */
  const char *session; /* --session: "today", "new" or an id */
  const char *db;
  bool fast;
  double speed; /* -1 = not given */
  CliSettings sim_settings;
  const char *first_sim_option; /* for "only with --sim" */
} RecordOptions;

/* ---- The run ---- */

typedef struct {
  GMainLoop *loop;
  guint tick; /* the drain timer; 0 once it has removed itself */
  StanceSource *src;
  StanceRecorder *rec;
  const StanceSourceInfo *info;
  guint64 max_samples;
  double duration_s; /* 0: until the end of a replay */
  bool tty;
  bool status_shown; /* a status line is on the terminal, without its newline */
  gint64 last_status_us;
  bool interrupted, ended, faulted;
  int signal_no;
  GError *error; /* drain failure or fault */
  /* Into the store (--athlete); store NULL otherwise. */
  StanceStore *store;
  const StanceAthlete *athlete;
  gint64 session_id;          /* 0 until the session is added (--session new, or none today) */
  bool session_added;         /* this run added the session */
  const struct MetaCtx *mctx; /* how the recording's metadata is completed */
  StanceTrialWriter *writer;  /* begun with the first samples */
  GError *store_error;        /* a failed begin or append (FULL included): recording stops */
} Run;

static gboolean store_append(Run *run);

static void
status_line(Run *run, char *buf, size_t n)
{
  StanceRecorderStatus s;
  stance_recorder_get_status(run->rec, &s);
  char when[64];
  if (run->duration_s > 0)
    snprintf(when, sizeof when, "%s / %s s", cli_num(s.seconds, 1), cli_num(run->duration_s, 1));
  else
    snprintf(when, sizeof when, "%s s", cli_num(s.seconds, 1));
  if (s.samples == 0) {
    snprintf(buf, n, "%s  waiting for the first sample", when);
    return;
  }
  char force[128];
  if (run->info->layout == STANCE_LAYOUT_COMBINED)
    snprintf(force, sizeof force, "total %s N", cli_num(s.total_n, 1));
  else
    snprintf(force, sizeof force, "L %s N  R %s N  total %s N", cli_num(s.force_n[0], 1),
             cli_num(s.force_n[1], 1), cli_num(s.total_n, 1));
  snprintf(buf, n, "%s  %s samples  %s Hz  gaps %s  %s", when, cli_size((size_t)s.samples),
           cli_num(s.measured_hz, 0), cli_size((size_t)s.gap_samples), force);
}

/* Removes the status line from the terminal before a message is printed. */
static void
clear_status(Run *run)
{
  if (run->tty && run->status_shown) {
    fputs("\r\033[K", stderr);
    run->status_shown = false;
  }
}

static void
draw_status(Run *run)
{
  char line[256];
  status_line(run, line, sizeof line);
  fprintf(stderr, "\r%s\033[K", line);
  fflush(stderr);
  run->status_shown = true;
}

static gboolean
on_tick(gpointer data)
{
  Run *run = data;
  if (!stance_recorder_drain(run->rec, &run->error) || !store_append(run) ||
      stance_recorder_is_full(run->rec)) {
    g_main_loop_quit(run->loop);
    run->tick = 0;
    return G_SOURCE_REMOVE;
  }
  gint64 now = g_get_monotonic_time();
  if (run->tty && now - run->last_status_us >= 200000) {
    run->last_status_us = now;
    draw_status(run);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal(gpointer data)
{
  Run *run = data;
  run->interrupted = true;
  g_main_loop_quit(run->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigint(gpointer data)
{
  ((Run *)data)->signal_no = SIGINT;
  return on_signal(data);
}

static gboolean
on_sigterm(gpointer data)
{
  ((Run *)data)->signal_no = SIGTERM;
  return on_signal(data);
}

static void
on_event(StanceSource *src, int kind, const GError *error, gpointer data)
{
  Run *run = data;
  StanceRecorderStatus s;
  stance_recorder_get_status(run->rec, &s);
  const char *who = run->info->serial[0] ? run->info->serial : run->info->description;
  clear_status(run);
  switch ((StanceSourceEvent)kind) {
  case STANCE_SOURCE_EVENT_DISCONNECTED:
    cli_error(SUB,
              "board %s disconnected at %s s%s%s; keeping what was received and waiting for it "
              "to come back (the time it is away is recorded as a gap)",
              who, cli_num(s.seconds, 3), error ? ": " : "", error ? error->message : "");
    break;
  case STANCE_SOURCE_EVENT_RECONNECTED:
    cli_error(SUB, "board %s reconnected: recording again (gap marked)", who);
    break;
  case STANCE_SOURCE_EVENT_ENDED:
    run->ended = true;
    g_main_loop_quit(run->loop);
    break;
  case STANCE_SOURCE_EVENT_FAULT:
    run->faulted = true;
    if (!run->error)
      run->error =
          error ? g_error_copy(error)
                : g_error_new_literal(STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO, "the stream stopped");
    g_main_loop_quit(run->loop);
    break;
  }
  (void)src;
}

/* ---- Helpers ---- */

/* Reports a source error; returns the exit status it means. */
static int
report_source_error(const GError *e, const RecordOptions *o)
{
  /* No source named: the only board connected was meant. */
  const bool default_board = !o->device_given && !o->sim && !o->replay;
  if (default_board && e->domain == STANCE_DAQ_ERROR && e->code == STANCE_DAQ_ERROR_NOT_FOUND) {
    cli_error(SUB,
              "%s; to record from the simulated plates instead, pass --sim PROTOCOL, e.g. "
              "--sim cmj",
              e->message);
    return CLI_EXIT_INPUT;
  }
  if (e->domain == STANCE_DAQ_ERROR &&
      (e->code == STANCE_DAQ_ERROR_RATE || e->code == STANCE_DAQ_ERROR_INVALID))
    return cli_usage_error(SUB, "%s", e->message);
  cli_error(SUB, "%s", e->message);
  if (default_board)
    fputs("To record from the simulated plates instead, pass --sim PROTOCOL, e.g. --sim cmj.\n",
          stderr);
  return CLI_EXIT_INPUT;
}

/* Shortest decimal that reads back the same double, for the sim.* metadata. */
static void
meta_num(StanceMeta *m, const char *key, double v)
{
  char buf[40];
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  stance_meta_set(m, key, buf);
}

/* The simulator's parameters as "sim.<key>" pairs (the keys `simulate --params` reads), so the
 * first repetition of the stream can be made again with `stance-cli simulate`. */
static void
sim_meta(StanceMeta *m, const StanceSimParams *p)
{
  char buf[64];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)p->seed);
  stance_meta_set(m, "sim.seed", buf);
  stance_meta_set(m, "sim.protocol", stance_protocol_name(p->protocol));
  meta_num(m, "sim.rate", p->sample_rate_hz);
  meta_num(m, "sim.body-mass", p->body_mass_kg);
  meta_num(m, "sim.load", p->external_load_kg);
  stance_meta_set(m, "sim.side", stance_side_name(p->side));
  stance_meta_set(m, "sim.weaker", stance_side_name(p->weaker));
  meta_num(m, "sim.asym-force", p->asym_force_pct);
  meta_num(m, "sim.asym-rfd", p->asym_rfd_pct);
  meta_num(m, "sim.asym-impulse", p->asym_impulse_pct);
  snprintf(buf, sizeof buf, "%d", p->reps);
  stance_meta_set(m, "sim.reps", buf);
  snprintf(buf, sizeof buf, "%d", p->sets);
  stance_meta_set(m, "sim.sets", buf);
  meta_num(m, "sim.fatigue", p->fatigue_pct);
  meta_num(m, "sim.tempo", p->tempo_s);
  meta_num(m, "sim.adc-noise", p->adc_noise_counts);
  meta_num(m, "sim.cell-noise", p->cell_noise_n);
  meta_num(m, "sim.mains", p->mains_hz);
  meta_num(m, "sim.mains-amp", p->mains_amp_n);
  meta_num(m, "sim.drift", p->drift_n_per_min);
  stance_meta_set(m, "sim.no-still", p->no_still ? "true" : "false");
  stance_meta_set(m, "sim.warmup", p->include_warmup ? "true" : "false");
  meta_num(m, "sim.rest", p->rest_s);
  for (int k = 0; k < STANCE_N_PLATES; k++) {
    char x[40], y[40];
    snprintf(x, sizeof x, "%.17g", p->foot_x_mm[k]);
    snprintf(y, sizeof y, "%.17g", p->foot_y_mm[k]);
    snprintf(buf, sizeof buf, "%s,%s", x, y);
    stance_meta_set(m, k == 0 ? "sim.foot-left" : "sim.foot-right", buf);
  }
}

/* The metadata of the file being replayed: a replay describes the same session. False when the
 * file cannot be read again (the source read it a moment ago, so this is rare). */
static bool
replay_meta(const char *path, StanceMeta *out)
{
  StanceImportOptions opt;
  stance_import_options_default(&opt);
  CliLoaded ld;
  StanceError err;
  stance_error_clear(&err);
  bool ok = false;
  if (cli_load(path, &opt, &ld, &err) == STANCE_OK) {
    const StanceRecording *r = ld.is_stance ? ld.rec : (ld.imp.n_recs ? ld.imp.recs[0] : NULL);
    if (r) {
      *out = r->meta;
      ok = true;
    }
  }
  cli_unload(&ld);
  return ok;
}

/* What completes the recorder's metadata, for the store's trial header and the file alike. */
typedef struct MetaCtx {
  const StanceMeta *replay; /* the replayed file's metadata (a replay describes that session) */
  StanceProtocol protocol;
  StanceSide side;
  bool side_given;
  const StanceSimParams *sim; /* --sim: its parameters as sim.* pairs */
  const char *athlete;        /* the athlete's name */
} MetaCtx;

static void
final_meta(StanceMeta *m, const MetaCtx *c)
{
  if (c->replay) {
    /* The replayed session's metadata; what the command line says wins. */
    *m = *c->replay;
    if (c->protocol != STANCE_PROTO_UNKNOWN)
      m->protocol = c->protocol;
    if (c->side_given)
      m->side = c->side;
  }
  if (c->sim)
    sim_meta(m, c->sim);
  if (c->athlete)
    snprintf(m->athlete, sizeof m->athlete, "%s", c->athlete);
}

/* Starts the trial with the recording's first samples: the session (when new) and the writer. */
static gboolean
store_begin(Run *run, const StanceRecording *rec, GError **error)
{
  if (run->session_id == 0) {
    StanceSession s;
    stance_session_init(&s);
    s.athlete_id = run->athlete->id;
    s.started_unix_ms =
        rec->meta.start_unix_ms > 0 ? rec->meta.start_unix_ms : g_get_real_time() / 1000;
    gint64 id = stance_store_session_add(run->store, &s, error);
    stance_session_clear(&s);
    if (id <= 0)
      return FALSE;
    run->session_id = id;
    run->session_added = true;
  }
  /* The header: the recording's layout, rate and calibration with the final metadata. */
  StanceRecording *hdr =
      stance_recording_new(rec->layout, rec->sample_rate_hz, rec->cop_mm != NULL);
  if (!hdr) {
    g_set_error_literal(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_IO, "out of memory");
    return FALSE;
  }
  hdr->has_calibration = rec->has_calibration;
  hdr->calib = rec->calib;
  hdr->meta = rec->meta;
  final_meta(&hdr->meta, run->mctx);
  run->writer = stance_store_trial_begin(run->store, run->session_id, hdr, error);
  stance_recording_free(hdr);
  return run->writer != NULL;
}

/* Hands the samples drained since the last call to the trial writer (which commits a chunk when
 * its oldest sample has waited STANCE_STORE_FLUSH_MS). FALSE, with run->store_error set, when the
 * store refused: the recording then stops. */
static gboolean
store_append(Run *run)
{
  if (!run->store || run->store_error)
    return run->store_error == NULL;
  const StanceRecording *rec = stance_recorder_peek(run->rec);
  if (rec->n_samples == 0)
    return TRUE;
  if (!run->writer && !store_begin(run, rec, &run->store_error))
    return FALSE;
  guint64 from = stance_trial_writer_appended(run->writer);
  if (rec->n_samples > from &&
      !stance_trial_writer_append(run->writer, rec, (gsize)from, &run->store_error))
    return FALSE;
  return TRUE;
}

/* ---- Options ---- */

static int
parse_options(int argc, char **argv, RecordOptions *o)
{
  enum {
    OPT_DEVICE = 256,
    OPT_SIM,
    OPT_REPLAY,
    OPT_RATE,
    OPT_DURATION,
    OPT_PROTOCOL,
    OPT_SIDE,
    OPT_ATHLETE,
    OPT_FAST,
    OPT_SPEED,
    OPT_SESSION,
  };
  struct option longopts[CLI_N_SIM_OPTIONS + 16];
  size_t no = cli_sim_longopts(longopts, true);
  longopts[no++] = (struct option){"device", required_argument, NULL, OPT_DEVICE};
  longopts[no++] = (struct option){"sim", required_argument, NULL, OPT_SIM};
  longopts[no++] = (struct option){"replay", required_argument, NULL, OPT_REPLAY};
  longopts[no++] = (struct option){"rate", required_argument, NULL, OPT_RATE};
  longopts[no++] = (struct option){"duration", required_argument, NULL, OPT_DURATION};
  longopts[no++] = (struct option){"output", required_argument, NULL, 'o'};
  longopts[no++] = (struct option){"protocol", required_argument, NULL, OPT_PROTOCOL};
  longopts[no++] = (struct option){"side", required_argument, NULL, OPT_SIDE};
  longopts[no++] = (struct option){"athlete", required_argument, NULL, OPT_ATHLETE};
  longopts[no++] = (struct option){"fast", no_argument, NULL, OPT_FAST};
  longopts[no++] = (struct option){"speed", required_argument, NULL, OPT_SPEED};
  longopts[no++] = (struct option){"session", required_argument, NULL, OPT_SESSION};
  longopts[no++] = (struct option){"db", required_argument, NULL, CLI_OPT_DB};
  longopts[no++] = (struct option){"help", no_argument, NULL, 'h'};
  longopts[no++] = (struct option){NULL, 0, NULL, 0};

  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
    if (c >= CLI_SIM_OPT_BASE && c < CLI_SIM_OPT_BASE + CLI_N_SIM_OPTIONS) {
      if (!o->first_sim_option)
        o->first_sim_option = cli_sim_options[c - CLI_SIM_OPT_BASE].name;
      int r = cli_sim_collect(SUB, &o->sim_settings, c, optarg);
      if (r != CLI_EXIT_OK)
        return r;
      continue;
    }
    switch (c) {
    case 'h': cli_record_help(stdout); return -1;
    case OPT_DEVICE:
      if (!*optarg)
        return cli_usage_error(SUB, "--device: empty serial (expected e.g. --device SN-0042; "
                                    "stance-cli devices lists the boards)");
      o->device = optarg;
      o->device_given = true;
      break;
    case OPT_SIM: o->sim = optarg; break;
    case OPT_REPLAY:
      if (!*optarg)
        return cli_usage_error(SUB, "--replay: empty file name");
      o->replay = optarg;
      break;
    case OPT_RATE:
      if (!cli_parse_double(optarg, &o->rate_hz) || !(o->rate_hz > 0))
        return cli_usage_error(SUB,
                               "--rate: '%s' is not a sample rate (expected hertz: 500, 1000, "
                               "2000 or 4000)",
                               optarg);
      break;
    case OPT_DURATION:
      if (!cli_parse_double(optarg, &o->duration_s) || !(o->duration_s > 0) ||
          o->duration_s > MAX_DURATION_S)
        return cli_usage_error(SUB,
                               "--duration: '%s' is not a duration (expected seconds, more than "
                               "0 and at most %s, e.g. 30)",
                               optarg, cli_num(MAX_DURATION_S, 0));
      break;
    case 'o':
      if (!*optarg)
        return cli_usage_error(SUB, "-o: empty file name");
      o->out_path = optarg;
      break;
    case OPT_PROTOCOL: o->protocol_name = optarg; break;
    case OPT_SIDE: o->side_name = optarg; break;
    case OPT_ATHLETE:
      if (!*optarg)
        return cli_usage_error(SUB, "--athlete: empty (expected an athlete's id, uuid or name)");
      if (strlen(optarg) >= sizeof(((StanceMeta *)0)->athlete))
        return cli_usage_error(SUB, "--athlete: the name is %zu bytes long (expected at most %zu)",
                               strlen(optarg), sizeof(((StanceMeta *)0)->athlete) - 1);
      o->athlete = optarg;
      break;
    case OPT_SESSION: {
      long v;
      if (strcmp(optarg, "today") != 0 && strcmp(optarg, "new") != 0 &&
          !cli_parse_long(optarg, 1, G_MAXLONG, &v))
        return cli_usage_error(SUB,
                               "--session: '%s' is not a session (expected today, new or a "
                               "session id: stance-cli session list shows them)",
                               optarg);
      o->session = optarg;
      break;
    }
    case CLI_OPT_DB:
      if (!*optarg)
        return cli_usage_error(SUB, "--db: empty path (expected the database file)");
      o->db = optarg;
      break;
    case OPT_FAST: o->fast = true; break;
    case OPT_SPEED:
      if (!cli_parse_double(optarg, &o->speed) || o->speed < 0 || o->speed > 1000)
        return cli_usage_error(SUB,
                               "--speed: '%s' is not a replay speed (expected a factor of real "
                               "time from 0 to 1000; 0 = as fast as possible)",
                               optarg);
      break;
    default: return cli_getopt_error(SUB, c, argv);
    }
  }
  if (optind < argc)
    return cli_usage_error(SUB,
                           "unexpected argument '%s' (record takes options only; the output "
                           "file goes after -o)",
                           argv[optind]);
  int sources = (o->device_given ? 1 : 0) + (o->sim ? 1 : 0) + (o->replay ? 1 : 0);
  if (sources > 1)
    return cli_usage_error(
        SUB,
        "%s%s%s%s%s: these choose the source, give one (expected --device "
        "SERIAL, --sim PROTOCOL or --replay FILE)",
        o->device_given ? "--device" : "", o->device_given && (o->sim || o->replay) ? " and " : "",
        o->sim ? "--sim" : "", o->sim && o->replay ? " and " : "", o->replay ? "--replay" : "");
  if (!o->sim && o->first_sim_option)
    return cli_usage_error(SUB,
                           "--%s applies to the simulated plates only (expected --sim "
                           "PROTOCOL with it)",
                           o->first_sim_option);
  if (!o->sim && o->fast)
    return cli_usage_error(SUB, "--fast applies to the simulated plates only (expected --sim "
                                "PROTOCOL with it; a replay has --speed 0)");
  if (!o->replay && o->speed >= 0)
    return cli_usage_error(SUB, "--speed applies to --replay only");
  if (o->sim && o->protocol_name)
    return cli_usage_error(SUB, "--protocol: --sim %s already names the protocol", o->sim);
  if (o->duration_s == 0 && !o->replay)
    return cli_usage_error(SUB, "no duration given (expected --duration S, e.g. --duration 30)");
  if (!o->out_path && !o->athlete)
    return cli_usage_error(SUB, "no output file given (expected -o FILE.stance to write a file, "
                                "--athlete ATHLETE to record into the store, or both)");
  if (!o->athlete && (o->session || o->db))
    return cli_usage_error(SUB,
                           "%s applies to recording into the store (expected --athlete "
                           "ATHLETE with it)",
                           o->session ? "--session" : "--db");
  if (o->replay && o->out_path &&
      (strcmp(o->replay, o->out_path) == 0 || cli_same_file(o->replay, o->out_path)))
    return cli_usage_error(SUB,
                           "-o %s is the file being replayed (expected another name: the "
                           "recording would replace it)",
                           o->out_path);
  return CLI_EXIT_OK;
}

/* ---- main ---- */

/* Where the trial goes in the store (--athlete). */
typedef struct {
  StanceStore *store;
  StanceAthlete athlete;
  gint64 session_id; /* 0: a new session, added with the first samples */
} StoreTarget;

/* Opens the store and resolves --athlete and --session; prints the error and returns the exit
 * status when they do not resolve. */
static int
store_target_open(const RecordOptions *o, StoreTarget *t)
{
  t->store = cli_store_open(SUB, o->db, STANCE_STORE_DEFAULT);
  if (!t->store)
    return CLI_EXIT_INPUT;
  /* An unknown name is refused, not added: a typo must not start a second athlete. The message
   * says how to add one. */
  if (!cli_find_athlete(SUB, t->store, o->athlete, &t->athlete))
    return CLI_EXIT_INPUT;
  const char *which = o->session ? o->session : "today";
  GError *error = NULL;
  if (strcmp(which, "new") == 0) {
    t->session_id = 0;
  } else if (strcmp(which, "today") == 0) {
    t->session_id =
        stance_store_session_today(t->store, t->athlete.id, g_get_real_time() / 1000, &error);
    if (error)
      return cli_gerror(SUB, error);
  } else {
    gint64 id = cli_find_session(SUB, t->store, which);
    if (id <= 0)
      return CLI_EXIT_INPUT;
    StanceSession s;
    stance_session_init(&s);
    if (!stance_store_session_get(t->store, id, &s, &error))
      return cli_gerror(SUB, error);
    gint64 owner = s.athlete_id;
    stance_session_clear(&s);
    if (owner != t->athlete.id) {
      StanceAthlete other;
      stance_athlete_init(&other);
      bool named = stance_store_athlete_get(t->store, owner, &other, NULL);
      cli_error(SUB,
                "--session %s: that session is %s's, not %s's (expected a session of %s, today "
                "or new)",
                which, named ? other.name : "another athlete", t->athlete.name, t->athlete.name);
      stance_athlete_clear(&other);
      return CLI_EXIT_INPUT;
    }
    t->session_id = id;
  }
  return CLI_EXIT_OK;
}

/* The one-line summary of a stored trial's analysis: its key value and asymmetry, or for a
 * one-sided trial its value and, when the session has trials of the other side, left against
 * right. */
static void
print_store_summary(StanceStore *store, gint64 trial_id)
{
  StanceStoreTrial t;
  stance_store_trial_init(&t);
  CliTrialResults r;
  memset(&r, 0, sizeof r);
  GError *error = NULL;
  if (!stance_store_trial_get(store, trial_id, &t, &error) ||
      !cli_trial_results(store, &t, &r, &error)) {
    cli_error(SUB, "%s", error->message);
    g_error_free(error);
    stance_store_trial_clear(&t);
    return;
  }
  char side[48];
  printf("  %s, %s: %s", stance_protocol_name(t.protocol),
         stance_side_text(side, sizeof side, t.protocol, t.side), cli_reps_text(t.protocol, &r));
  const char *ids[5];
  size_t n = cli_key_metrics(t.protocol, &r, ids, G_N_ELEMENTS(ids));
  /* The first whole-body value (jump height, RSI) or a one-sided trial's headline, and the
   * first asymmetry. */
  const CliMetricMean *asym = NULL, *value = NULL;
  for (size_t k = 0; k < n; k++) {
    const CliMetricMean *m = cli_trial_results_find(&r, ids[k]);
    if (!value && !m->has_asym && m->has_total)
      value = m;
    if (!asym && m->has_asym)
      asym = m;
  }
  if (value) {
    const char *unit;
    const char *txt = cli_display_value(value->total, value->unit, &unit);
    printf("; %s %s %s", value->metric, txt, unit);
  }
  char buf[96];
  if (asym) {
    printf("; asymmetry of %s %s\n", asym->metric,
           cli_asym_value_text(buf, sizeof buf, asym->asym, asym->formula, asym->stronger));
  } else if (t.side != STANCE_SIDE_BOTH) {
    /* One-sided: against the other side's trials of the session, when there are. */
    GArray *cmp = cli_session_side_comparisons(store, t.session_id, NULL);
    const CliSideComparison *c = NULL;
    for (guint k = 0; cmp && k < cmp->len && !c; k++) {
      const CliSideComparison *q = &g_array_index(cmp, CliSideComparison, k);
      if (q->protocol == t.protocol && q->has_asym)
        c = q;
    }
    if (c)
      printf("; left against right in this session: %s %s\n", c->metric,
             cli_asym_value_text(buf, sizeof buf, c->asym, c->formula, c->stronger));
    else
      printf("; record the %s side too to compare the limbs\n",
             t.side == STANCE_SIDE_LEFT ? "right" : "left");
    if (cmp)
      g_array_unref(cmp);
  } else {
    printf("\n");
  }
  cli_trial_results_clear(&r);
  stance_store_trial_clear(&t);
}

static int record(RecordOptions *o_in, StoreTarget *target);

int
cli_record_main(int argc, char **argv)
{
  RecordOptions o;
  memset(&o, 0, sizeof o);
  o.speed = -1;
  int status = parse_options(argc, argv, &o);
  if (status != CLI_EXIT_OK) {
    cli_settings_free(&o.sim_settings);
    return status < 0 ? CLI_EXIT_OK : status; /* -1: --help */
  }
  StoreTarget target;
  memset(&target, 0, sizeof target);
  stance_athlete_init(&target.athlete);
  status = record(&o, &target);
  stance_athlete_clear(&target.athlete);
  if (target.store)
    stance_store_close(target.store);
  return status;
}

static int
record(RecordOptions *o_in, StoreTarget *target)
{
  RecordOptions o = *o_in;
  int status = CLI_EXIT_OK;

  /* Protocol and side for the metadata (and the simulator). */
  StanceProtocol protocol = STANCE_PROTO_UNKNOWN;
  const char *pname = o.sim ? o.sim : o.protocol_name;
  if (pname && !cli_parse_protocol(SUB, o.sim ? "--sim" : "--protocol", pname, &protocol)) {
    cli_settings_free(&o.sim_settings);
    return CLI_EXIT_USAGE;
  }
  StanceSide side = STANCE_SIDE_BOTH;
  bool side_given = o.side_name != NULL;
  if (side_given && !cli_parse_side(SUB, "--side", o.side_name, true, &side)) {
    cli_settings_free(&o.sim_settings);
    return CLI_EXIT_USAGE;
  }
  const StanceProtocolInfo *pi = stance_protocol_info(protocol);
  /* The simulator has a default side for one-sided protocols (left); a board or replay does not
   * know which leg was tested. */
  if (pi && (side_given || !o.sim)) {
    if (pi->needs_side && side == STANCE_SIDE_BOTH) {
      cli_settings_free(&o.sim_settings);
      return cli_usage_error(SUB,
                             "--side: %s is a one-sided protocol (expected --side left or "
                             "--side right)",
                             pi->name);
    }
    if (!pi->needs_side && !pi->allows_side && side != STANCE_SIDE_BOTH) {
      cli_settings_free(&o.sim_settings);
      return cli_usage_error(SUB, "--side: %s is bilateral (expected --side both, or no --side)",
                             pi->name);
    }
  }

  /* Fail before recording, not after, when the output folder is not writable. */
  if (o.out_path) {
    CliOut probe;
    StanceError err;
    stance_error_clear(&err);
    if (cli_out_open(&probe, o.out_path, &err) < 0) {
      cli_error(SUB, "%s", err.message);
      cli_settings_free(&o.sim_settings);
      return CLI_EXIT_INPUT;
    }
    cli_out_abort(&probe);
  }

  /* The source. */
  GError *gerr = NULL;
  StanceSource *src = NULL;
  StanceSimParams sp;
  if (o.sim) {
    stance_sim_params_default(&sp, protocol);
    sp.sample_rate_hz = o.rate_hz > 0 ? o.rate_hz : 1000.0;
    status = cli_sim_apply(SUB, &o.sim_settings, &sp);
    StanceError err;
    stance_error_clear(&err);
    if (status == CLI_EXIT_OK && side_given &&
        stance_sim_params_set(&sp, "side", o.side_name, &err) < 0) {
      cli_sim_print_error(SUB, "", &err, true);
      status = CLI_EXIT_USAGE;
    }
    if (status == CLI_EXIT_OK && stance_sim_params_validate(&sp, &err) < 0) {
      cli_sim_print_error(SUB, "", &err, true);
      fprintf(stderr, "Try 'stance-cli %s --help' for the options.\n", SUB);
      status = CLI_EXIT_USAGE;
    }
    cli_settings_free(&o.sim_settings);
    if (status != CLI_EXIT_OK)
      return status;
    side = sp.side;
    src = stance_sim_source_new(&sp, !o.fast, &gerr);
  } else if (o.replay) {
    cli_settings_free(&o.sim_settings);
    src = stance_replay_source_new(o.replay, o.speed >= 0 ? o.speed : 1.0, &gerr);
  } else {
    cli_settings_free(&o.sim_settings);
    src = stance_usb_source_new(o.device);
  }
  if (!src) {
    status = report_source_error(gerr, &o);
    g_error_free(gerr);
    return status;
  }
  /* The store, the athlete and the session: resolved before the source starts, so that an
   * unknown athlete costs nothing. */
  if (o.athlete && (status = store_target_open(&o, target)) != CLI_EXIT_OK) {
    g_object_unref(src);
    return status;
  }
  if (!stance_source_open(src, &gerr) ||
      (o.rate_hz > 0 && !o.sim && stance_source_get_info(src)->rate_hz != o.rate_hz &&
       !stance_source_set_rate(src, o.rate_hz, &gerr))) {
    status = report_source_error(gerr, &o);
    g_error_free(gerr);
    g_object_unref(src);
    return status;
  }
  const StanceSourceInfo *info = stance_source_get_info(src);

  /* How the metadata is completed (the store's header at the first samples, the file at the
   * end): the replayed file's, the simulator's parameters, the athlete. */
  StanceMeta *replayed = NULL;
  if (o.replay) {
    replayed = g_new0(StanceMeta, 1);
    if (!replay_meta(o.replay, replayed))
      g_clear_pointer(&replayed, g_free);
  }
  MetaCtx mctx = {
      .replay = replayed,
      .protocol = protocol,
      .side = side,
      .side_given = side_given,
      .sim = o.sim ? &sp : NULL,
      .athlete = target->store ? target->athlete.name : o.athlete,
  };

  Run run;
  memset(&run, 0, sizeof run);
  run.src = src;
  run.info = info;
  run.duration_s = o.duration_s;
  run.max_samples = o.duration_s > 0 ? (guint64)llround(o.duration_s * info->rate_hz) : 0;
  if (o.duration_s > 0 && run.max_samples == 0)
    run.max_samples = 1;
  run.tty = isatty(STDERR_FILENO) == 1;
  run.store = target->store;
  run.athlete = &target->athlete;
  run.session_id = target->session_id;
  run.mctx = &mctx;
  run.rec = stance_recorder_new(src, protocol, side, run.max_samples, &gerr);
  if (!run.rec) {
    status = report_source_error(gerr, &o);
    g_error_free(gerr);
    g_object_unref(src);
    g_free(replayed);
    return status;
  }
  run.loop = g_main_loop_new(NULL, FALSE);
  gulong handler = g_signal_connect(src, "event", G_CALLBACK(on_event), &run);
  guint sig_int = g_unix_signal_add(SIGINT, on_sigint, &run);
  guint sig_term = g_unix_signal_add(SIGTERM, on_sigterm, &run);

  if (!stance_source_start(src, &gerr)) {
    status = report_source_error(gerr, &o);
    g_error_free(gerr);
  } else {
    /* Drain often enough that the ring (4 s) never fills: 50 ms paced by the clock; 10 ms when
     * the source runs as fast as it can, so that it rarely waits for room. The store's writer
     * commits on the drains, so 50 ms also bounds how late a chunk reaches the disk. */
    bool unpaced = (o.sim && o.fast) || (o.replay && o.speed == 0);
    run.tick = g_timeout_add(unpaced ? 10 : 50, on_tick, &run);
    g_main_loop_run(run.loop);
    if (run.tick) /* stopped by a signal or an event */
      g_source_remove(run.tick);
    run.tick = 0;
    stance_source_stop(src);
    /* Everything the source delivered before it stopped. */
    if (!run.error && stance_recorder_drain(run.rec, &run.error))
      store_append(&run);
  }
  g_source_remove(sig_int);
  g_source_remove(sig_term);
  g_signal_handler_disconnect(src, handler);

  if (status == CLI_EXIT_OK) {
    StanceRecorderStatus s;
    stance_recorder_get_status(run.rec, &s);
    char line[256];
    status_line(&run, line, sizeof line);
    if (run.tty) {
      draw_status(&run);
      fputc('\n', stderr);
      run.status_shown = false;
    } else {
      fprintf(stderr, "%s\n", line);
    }
    StanceSourceStats st;
    stance_source_get_stats(src, &st);
    if (run.faulted)
      cli_error(SUB, "the stream stopped: %s", run.error ? run.error->message : "fault");
    else if (run.error)
      cli_error(SUB, "%s", run.error->message);
    if (run.interrupted)
      cli_error(SUB, "interrupted by %s after %s s of %s s: %s what was recorded",
                run.signal_no == SIGTERM ? "SIGTERM" : "SIGINT", cli_num(s.seconds, 3),
                run.duration_s > 0 ? cli_num(run.duration_s, 3) : "?",
                o.out_path ? "writing" : "keeping");

    /* The store: finish the trial (complete), or keep what was committed. */
    gint64 trial_id = 0;
    bool stored = false;
    if (run.store) {
      if (run.writer)
        trial_id = stance_trial_writer_id(run.writer);
      GError *e = NULL;
      if (run.store_error) {
        /* The message says what was kept (a full disk: how many seconds). */
        cli_error(SUB, "%s%s", run.store_error->message,
                  g_error_matches(run.store_error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_FULL)
                      ? " (the recording was stopped there)"
                      : "");
        status = CLI_EXIT_INPUT;
      } else if (run.writer && (run.faulted || run.error)) {
        /* The stream failed: keep what came as an interrupted trial. */
        if (!stance_trial_writer_flush(run.writer, &e)) {
          cli_error(SUB, "%s", e->message);
          g_clear_error(&e);
        }
      } else if (run.writer) {
        if (stance_trial_writer_finish(run.writer, &e)) {
          stored = true;
        } else {
          cli_error(SUB, "%s", e->message);
          g_clear_error(&e);
          status = CLI_EXIT_INPUT;
        }
      }
      if (run.writer) {
        guint64 kept = stance_trial_writer_committed(run.writer);
        stance_trial_writer_free(run.writer); /* unfinished: marked interrupted */
        run.writer = NULL;
        StanceStoreTrial t;
        stance_store_trial_init(&t);
        if (trial_id > 0 && stance_store_trial_get(run.store, trial_id, &t, NULL)) {
          printf("Stored trial %d of session %" G_GINT64_FORMAT " (%s, %s%s): %s samples (%s s "
                 "at %s Hz), %s; trial id %" G_GINT64_FORMAT "\n",
                 t.number, run.session_id, target->athlete.name,
                 run.session_added ? "new session " : "", cli_time_text(t.started_unix_ms),
                 cli_size((size_t)t.n_samples), cli_num((double)t.n_samples / info->rate_hz, 3),
                 cli_num_trim(info->rate_hz, 3), stance_trial_state_name(t.state), trial_id);
        } else {
          printf("Stored trial %" G_GINT64_FORMAT " of session %" G_GINT64_FORMAT ": %s samples\n",
                 trial_id, run.session_id, cli_size((size_t)kept));
        }
        stance_store_trial_clear(&t);
      } else if (!run.store_error) {
        cli_error(SUB, "nothing was recorded; nothing was stored");
        if (!o.out_path)
          status = CLI_EXIT_INPUT;
      }
      /* Analyse the complete trial, as the session's other trials are. */
      if (stored && status == CLI_EXIT_OK) {
        if (stance_session_analyse_trial(run.store, trial_id, NULL, NULL, &e) > 0) {
          print_store_summary(run.store, trial_id);
        } else {
          cli_error(SUB, "trial %" G_GINT64_FORMAT " is stored, but its analysis failed: %s",
                    trial_id, e ? e->message : "no reason given");
          g_clear_error(&e);
          status = CLI_EXIT_INPUT;
        }
      }
    }

    StanceRecording *rec = o.out_path ? stance_recorder_steal(run.rec) : NULL;
    if (!o.out_path) {
      /* Store only: nothing more to write. */
    } else if (!rec) {
      cli_error(SUB, "out of memory");
      status = CLI_EXIT_INPUT;
    } else if (rec->n_samples == 0) {
      cli_error(SUB, "nothing was recorded; %s was not written", o.out_path);
      status = CLI_EXIT_INPUT;
      stance_recording_free(rec);
    } else {
      final_meta(&rec->meta, &mctx);
      StanceError err;
      stance_error_clear(&err);
      if (stance_file_write(rec, o.out_path, &err) < 0) {
        cli_error(SUB, "%s", err.message[0] ? err.message : stance_strerror(err.code));
        status = CLI_EXIT_INPUT;
      } else {
        size_t gaps = stance_recording_count_gaps(rec);
        printf("Recorded %s: %s samples (%s s at %s Hz) from %s\n", o.out_path,
               cli_size(rec->n_samples), cli_num(stance_recording_duration(rec), 3),
               cli_num_trim(rec->sample_rate_hz, 3), info->description);
        if (gaps == 0)
          printf("  gaps: none\n");
        else
          printf("  gaps: %s samples missing (%s ms), kept as gaps, never interpolated\n",
                 cli_size(gaps), cli_num((double)gaps / rec->sample_rate_hz * 1000.0, 1));
        if (st.frames_lost || st.crc_errors || st.board_overflows || st.ring_overflows ||
            st.disconnects)
          printf("  stream: %s frames lost, %s refused (CRC or format), %s samples dropped by "
                 "the board, %s by a full ring, %s disconnections\n",
                 cli_size((size_t)st.frames_lost), cli_size((size_t)st.crc_errors),
                 cli_size((size_t)st.board_overflows), cli_size((size_t)st.ring_overflows),
                 cli_size((size_t)st.disconnects));
      }
      stance_recording_free(rec);
    }
    if (status == CLI_EXIT_OK && (run.faulted || run.error))
      status = CLI_EXIT_INPUT;
    /* Interrupted: 130 whether or not there was anything to write (the messages say which). */
    if (run.interrupted && (status == CLI_EXIT_OK || !(run.error || run.store_error)))
      status = CLI_EXIT_INTERRUPTED;
  }
  if (run.writer)
    stance_trial_writer_free(run.writer);
  g_clear_error(&run.error);
  g_clear_error(&run.store_error);
  stance_recorder_free(run.rec);
  g_main_loop_unref(run.loop);
  g_object_unref(src);
  g_free(replayed);
  return status;
}
