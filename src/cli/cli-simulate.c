/* cli-simulate.c: `stance-cli simulate`: the simulated plates -> a recording and its ground truth.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Options are handed to stance_sim_params_set() in the order given (after the protocol's defaults
 * and any --params file), so a later option wins. The recording is written as .stance (raw counts
 * with calibration) or CSV; the ground truth as JSON beside it.
 */
#include "cli-common.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "stance-config.h"
#include "stance-file.h"
#include "stance-sim.h"

static const char *const SUB = "simulate";

/* The simulator's messages use its keys ("adc-noise: ..."); show the CLI's option names. */
static void
print_sim_error(const char *where, const StanceError *err, bool dashes)
{
  cli_sim_print_error(SUB, where, err, dashes);
}

void
cli_simulate_help(FILE *out)
{
  StanceSimParams d;
  stance_sim_params_default(&d, STANCE_PROTO_CMJ);
  fputs(
      "Usage: stance-cli simulate --protocol P [options] -o FILE\n"
      "\n"
      "Simulates an athlete doing protocol P on the twin plates (a deterministic physical model:\n"
      "point mass, impulse-momentum, four load cells per plate, ADC noise) and writes the raw\n"
      "counts with their calibration to FILE, and the noise-free ground truth (events and\n"
      "per-limb metrics of every trial) to a JSON file beside it. The same options and seed\n"
      "always give the same bytes. docs/simulator.md describes the model.\n"
      "\n"
      "Protocol and athlete:\n"
      "      --protocol P        test protocol (required); one of the ids listed below\n"
      "      --side S            left, right or both: stance leg / stepping leg (default: left\n"
      "                          for one-sided protocols, both otherwise)\n"
      "      --front S           front foot of a split squat or lunge (same as --side)\n",
      out);
  fprintf(out,
          "      --reps N            reps, jumps or hops per set (default: per protocol, below)\n"
          "      --sets N            working sets of back squat and deadlift (default: below)\n"
          "      --body-mass KG      body mass (default %s kg)\n"
          "      --load KG           external load: bar or vest (default: below)\n"
          "      --fatigue PCT       peak force drop from the first to the last rep, %% (default "
          "%s)\n"
          "      --tempo S           one rep's duration, eccentric + concentric (default: below)\n"
          "      --duration S        hold / standing / balance length (default: below)\n"
          "      --rest S            rest between sets (default %s s)\n"
          "      --no-warmup         barbell protocols: no 8-6-4-2 warm-up ladder before the\n"
          "                          working sets (default: warm-up included)\n"
          "      --no-still          start moving at once, no still period for weighing (default: "
          "still)\n"
          "Asymmetry (percent difference (stronger - weaker) / stronger x 100):\n"
          "      --asymmetry PCT     sets the three deficits below at once (default %s)\n"
          "      --asym-force PCT    weaker limb's peak force deficit (default %s)\n"
          "      --asym-rfd PCT      weaker limb's RFD deficit (default: = force deficit)\n"
          "      --asym-impulse PCT  weaker limb's impulse deficit (default: = force deficit)\n"
          "      --weaker S          which limb is weaker, left or right (default %s)\n"
          "Plates and sensors:\n"
          "      --rate HZ           sample rate (default %s Hz)\n"
          "      --noise COUNTS      ADC noise, RMS counts per channel (default %s)\n"
          "      --cell-noise N      mechanical noise, RMS newtons per cell (default %s)\n"
          "      --mains 0|50|60     mains hum frequency, 0 = off (default %s)\n"
          "      --hum N             hum amplitude per cell, N (default 0; 2 when --mains is set)\n"
          "      --drift N_PER_MIN   slow drift per cell, N per minute (default %s)\n"
          "      --saturate          drive one cell into the ADC rail during the peak (default: "
          "no)\n"
          "      --foot-left X,Y     centre of pressure of the left foot on its plate, mm (plate\n"
          "                          frame: x to the right, y forward; default %s,%s)\n"
          "      --foot-right X,Y    same for the right foot (default %s,%s)\n"
          "      --seed N            random seed, 0-18446744073709551615 (default %s)\n"
          "      --params FILE       read options from FILE first: one \"option value\" or\n"
          "                          \"option = value\" per line (names without dashes, or the\n"
          "                          simulator's sim.* keys; '#' comments); the command line\n"
          "                          overrides it\n",
          cli_num(d.body_mass_kg, 0), cli_num(d.fatigue_pct, 0), cli_num(d.rest_s, 0),
          cli_num(d.asym_force_pct, 0), cli_num(d.asym_force_pct, 0), stance_side_name(d.weaker),
          cli_num(d.sample_rate_hz, 0), cli_num(d.adc_noise_counts, 0), cli_num(d.cell_noise_n, 1),
          cli_num(d.mains_hz, 0), cli_num(d.drift_n_per_min, 0), cli_num(d.foot_x_mm[0], 0),
          cli_num(d.foot_y_mm[0], 0), cli_num(d.foot_x_mm[1], 0), cli_num(d.foot_y_mm[1], 0),
          cli_size((size_t)d.seed));
  fputs("Output:\n"
        "  -o, --output FILE       the recording (required); replaced if it exists\n"
        "      --format F          stance (raw counts + calibration, docs/formats.md) or csv\n"
        "                          ('#' metadata lines, then time_s, l1..l4, r1..r4 counts,\n"
        "                          left_n, right_n, total_n; dot decimals in every locale)\n"
        "                          (default: csv when FILE ends in .csv, else stance)\n"
        "      --truth FILE.json   ground truth JSON (default: FILE with its extension replaced\n"
        "                          by .truth.json)\n"
        "  -h, --help              show this text and exit\n"
        "\n"
        "Protocols and their defaults:\n"
        "  protocol         side         reps  sets  tempo s  duration s  load kg\n",
        out);
  for (int p = 1; p < STANCE_PROTO_COUNT; p++) {
    const StanceProtocolInfo *pi = stance_protocol_info((StanceProtocol)p);
    if (!pi)
      continue;
    StanceSimParams q;
    stance_sim_params_default(&q, (StanceProtocol)p);
    const char *side = pi->needs_side ? "left|right" : pi->allows_side ? "both|l|r" : "both";
    fprintf(out, "  %-16s %-11s %5s %5s %8s %11s %8s\n", pi->name, side,
            q.reps > 0 ? cli_size((size_t)q.reps) : "-",
            pi->uses_bar ? cli_size((size_t)q.sets) : "-",
            q.tempo_s > 0 ? cli_num(q.tempo_s, 1) : "-",
            q.duration_s > 0 ? cli_num(q.duration_s, 1) : "-", cli_num(q.external_load_kg, 0));
  }
  fputs("\n"
        "Exit status: 0 written, 1 a --params file cannot be read or parsed, the simulation\n"
        "failed, or an output cannot be written, 2 bad usage (unknown option, bad or out-of-range\n"
        "value).\n"
        "\n"
        "Examples:\n"
        "  stance-cli simulate --protocol split-squat --front left --reps 8 --asymmetry 15 \\\n"
        "      --seed 1 -o split-squat.stance\n"
        "  stance-cli simulate --protocol cmj --asym-force 10 --weaker left --mains 50 \\\n"
        "      -o cmj.csv --truth cmj-truth.json\n"
        "  stance-cli simulate --protocol back-squat --load 120 --sets 3 --reps 5 --no-warmup \\\n"
        "      --fatigue 8 -o squat.stance\n"
        "  stance-cli simulate --protocol quiet-standing --duration 60 --drift 2 -o stand.stance\n",
        out);
}

/* ---- Collected option values, applied once the protocol is known (CliSettings) ---- */

/* Options a --params file may contain: the simulator options of the command line. */
static const char *const file_options[] = {
    "protocol",   "side",     "front",        "reps",     "sets",      "body-mass",  "load",
    "fatigue",    "tempo",    "duration",     "rest",     "no-warmup", "no-still",   "asymmetry",
    "asym-force", "asym-rfd", "asym-impulse", "weaker",   "rate",      "noise",      "cell-noise",
    "mains",      "hum",      "drift",        "saturate", "foot-left", "foot-right", "seed",
};

static char *
trim(char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
    *--e = '\0';
  return s;
}

/* Reads "option value" / "option = value" lines. Returns CLI_EXIT_* and reports its errors. */
static int
read_params_file(const char *path, CliSettings *s, char **protocol_out)
{
  FILE *fp = fopen(path, "r");
  if (!fp) {
    cli_error(SUB, "--params: cannot open %s: %s", path, strerror(errno));
    return CLI_EXIT_INPUT;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int lineno = 0, status = CLI_EXIT_OK;
  while (status == CLI_EXIT_OK && (len = getline(&line, &cap, fp)) >= 0) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash)
      *hash = '\0';
    char *t = trim(line);
    if (!*t)
      continue;
    /* name, then '=' or blanks, then the value (which may be empty for flags). */
    size_t nlen = strcspn(t, " \t=");
    char name[64];
    if (nlen >= sizeof name) {
      cli_error(SUB, "%s:%d: '%.20s...' is not an option name (expected e.g. reps = 8)", path,
                lineno, t);
      status = CLI_EXIT_INPUT;
      break;
    }
    memcpy(name, t, nlen);
    name[nlen] = '\0';
    char *v = t + nlen;
    while (*v == ' ' || *v == '\t')
      v++;
    if (*v == '=')
      v++;
    v = trim(v);
    if (name[0] == '-' && name[1] == '-')
      memmove(name, name + 2, strlen(name + 2) + 1);
    /* The simulator's own keys are accepted too, with or without the "sim." prefix a recording's
     * metadata carries, so a recording's parameters can be pasted into a plan. */
    if (strncmp(name, "sim.", 4) == 0)
      memmove(name, name + 4, strlen(name + 4) + 1);
    bool known = false;
    for (size_t k = 0; k < sizeof file_options / sizeof file_options[0]; k++)
      if (strcmp(file_options[k], name) == 0)
        known = true;
    static const char *const sim_only[] = {"adc-noise", "mains-amp",   "warmup",
                                           "mass",      "sample-rate", "external-load"};
    bool sim_key_only = false;
    for (size_t k = 0; k < sizeof sim_only / sizeof sim_only[0]; k++)
      if (strcmp(sim_only[k], name) == 0)
        sim_key_only = true;
    if (!known && !sim_key_only) {
      cli_error(SUB,
                "%s:%d: '%s' is not a simulate option (expected one of protocol, side, front, "
                "reps, sets, body-mass, load, fatigue, tempo, duration, rest, no-warmup, "
                "no-still, asymmetry, asym-force, asym-rfd, asym-impulse, weaker, rate, noise, "
                "cell-noise, mains, hum, drift, saturate, foot-left, foot-right, seed, or a "
                "simulator key such as adc-noise, mains-amp, warmup)",
                path, lineno, name);
      status = CLI_EXIT_INPUT;
      break;
    }
    if (sim_key_only) {
      char where[512];
      snprintf(where, sizeof where, "%s:%d: ", path, lineno);
      if (cli_settings_add(s, name, *v ? v : NULL, where) < 0) {
        cli_error(SUB, "out of memory");
        status = CLI_EXIT_INPUT;
      }
      continue;
    }
    if (!cli_sim_is_flag(name) && !*v) {
      cli_error(SUB, "%s:%d: %s has no value (expected \"%s VALUE\")", path, lineno, name, name);
      status = CLI_EXIT_INPUT;
      break;
    }
    char where[512];
    snprintf(where, sizeof where, "%s:%d: ", path, lineno);
    if (strcmp(name, "protocol") == 0) {
      free(*protocol_out);
      *protocol_out = strdup(v);
      if (!*protocol_out)
        status = CLI_EXIT_INPUT;
      continue;
    }
    const char *value = v;
    if (strcmp(name, "no-warmup") == 0) {
      /* "no-warmup" (or "no-warmup yes") means warmup = false; "no-warmup no" keeps it. */
      bool off = true;
      if (*v && (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
                 !strcasecmp(v, "off")))
        off = false;
      value = off ? "false" : "true";
    }
    if (cli_settings_add(s, cli_sim_key(name), *value ? value : NULL, where) < 0) {
      cli_error(SUB, "out of memory");
      status = CLI_EXIT_INPUT;
    }
  }
  if (status == CLI_EXIT_OK && ferror(fp)) {
    cli_error(SUB, "--params: cannot read %s", path);
    status = CLI_EXIT_INPUT;
  }
  free(line);
  fclose(fp);
  return status;
}

/* ---- CSV ---- */

/* Decimals that show every sample time exactly: 3 at 1000 Hz, 4 at 2000 Hz... up to 7. */
static int
time_decimals(double rate)
{
  double dt = 1.0 / rate;
  for (int d = 0; d <= 7; d++) {
    double s = dt * pow(10.0, d);
    if (fabs(s - nearbyint(s)) < 1e-9 * fmax(1.0, s))
      return d;
  }
  return 7;
}

/* Appends the string s at *p (no NUL). */
static inline char *
put(char *p, const char *s, size_t len)
{
  memcpy(p, s, len);
  return p + len;
}

static int
write_csv(const StanceRecording *rec, FILE *fp, StanceError *err)
{
  if (rec->layout != STANCE_LAYOUT_CELLS)
    return stance_error_set(err, STANCE_EINVAL,
                            "CSV export needs load-cell counts (this recording is %s)",
                            stance_layout_name(rec->layout));
  const StanceMeta *m = &rec->meta;
  const StanceCalibration *cal = &rec->calib;
  char side[64];
  stance_side_text(side, sizeof side, m->protocol, m->side);
  const char *seed = stance_meta_get(m, "sim.seed");
  size_t gaps = stance_recording_count_gaps(rec), sat = stance_recording_count_saturated(rec);

  fprintf(fp, "# Stance recording exported by stance-cli %s\n", STANCE_VERSION);
  fprintf(fp, "# source: %s\n", m->source[0] ? m->source : "unknown");
  fprintf(fp, "# protocol: %s (%s)\n", stance_protocol_name(m->protocol), side);
  if (seed)
    fprintf(fp, "# seed: %s\n", seed);
  fprintf(fp, "# sample rate: %s Hz\n", cli_num_trim(rec->sample_rate_hz, 3));
  fprintf(fp, "# samples: %s\n", cli_size(rec->n_samples));
  fprintf(fp, "# calibration id: %s\n",
          m->calibration_id[0] ? m->calibration_id : (cal->id[0] ? cal->id : "none"));
  fputs("# calibration: force of a cell = (counts - offset) * gain; plate force = sum of its 4 "
        "cells\n",
        fp);
  fputs("# offset (counts):", fp);
  for (int c = 0; c < STANCE_N_CELLS; c++)
    fprintf(fp, " %s=%s", cli_channel_name(rec, c), cli_num_trim(cal->offset_counts[c], 3));
  fputs("\n# gain (N/count):", fp);
  for (int c = 0; c < STANCE_N_CELLS; c++)
    fprintf(fp, " %s=%s", cli_channel_name(rec, c), cli_num_trim(cal->gain_n_per_count[c], 15));
  fputs("\n", fp);
  fputs("# cells: 1 front-left, 2 front-right, 3 rear-right, 4 rear-left of each plate (seen "
        "from above)\n",
        fp);
  fputs("# units: time_s in s; l1..l4, r1..r4 in raw 24-bit ADC counts; left_n, right_n, total_n "
        "in N\n",
        fp);
  fprintf(fp, "# gaps: %s samples (empty cells: not received, never interpolated)\n",
          cli_size(gaps));
  fprintf(fp, "# saturated samples: %s (a channel at an ADC rail: its force is clipped)\n",
          cli_size(sat));
  fputs("time_s,l1,l2,l3,l4,r1,r2,r3,r4,left_n,right_n,total_n\n", fp);

  const int td = time_decimals(rec->sample_rate_hz);
  char line[512];
  for (size_t i = 0; i < rec->n_samples; i++) {
    char *p = line;
    p += cli_fmt(p, 32, (double)i / rec->sample_rate_hz, td);
    if (rec->status[i] & STANCE_STATUS_GAP) {
      p = put(p, ",,,,,,,,,,,", 11);
    } else {
      const int32_t *cnt = rec->counts + i * STANCE_N_CELLS;
      for (int c = 0; c < STANCE_N_CELLS; c++) {
        *p++ = ',';
        p += cli_fmt(p, 16, (double)cnt[c], 0);
      }
      double l = stance_recording_force_at(rec, i, STANCE_SEL_LEFT);
      double r = stance_recording_force_at(rec, i, STANCE_SEL_RIGHT);
      *p++ = ',';
      p += cli_fmt(p, 32, l, 4);
      *p++ = ',';
      p += cli_fmt(p, 32, r, 4);
      *p++ = ',';
      p += cli_fmt(p, 32, l + r, 4);
    }
    *p++ = '\n';
    if (fwrite(line, 1, (size_t)(p - line), fp) != (size_t)(p - line))
      return stance_error_set(err, STANCE_EIO, "write failed at sample %zu", i);
  }
  return STANCE_OK;
}

/* ---- The summary ---- */

static int
unit_decimals(const char *unit)
{
  if (!strcmp(unit, "N") || !strcmp(unit, "%") || !strcmp(unit, "mm") || !strcmp(unit, "mm/s"))
    return 1;
  if (!strcmp(unit, "N.s") || !strcmp(unit, "m/s"))
    return 2;
  if (!strcmp(unit, "m") || !strcmp(unit, "s"))
    return 3;
  return 0; /* N/s, count, mm2 */
}

/* Metrics where more is stronger, so that an asymmetry naming the stronger limb makes sense. */
static bool
is_strength_metric(const char *id)
{
  return !strcmp(id, "peak_force") || !strcmp(id, "peak_rfd") || !strncmp(id, "rfd_", 4) ||
         !strcmp(id, "impulse") || !strcmp(id, "net_impulse") || !strncmp(id, "force_at_", 9) ||
         !strcmp(id, "mean_force") || !strcmp(id, "concentric_impulse") ||
         !strcmp(id, "braking_impulse") || !strcmp(id, "propulsive_impulse") ||
         !strcmp(id, "peak_power");
}

/* The metrics the summary shows when the trials have them, in this order. */
static const char *const key_metrics[] = {
    "peak_force",          "peak_rfd",         "rfd_0_100",
    "net_impulse",         "impulse",          "jump_height_impulse",
    "jump_height_flight",  "takeoff_velocity", "flight_time",
    "contact_time",        "rsi_mod",          "peak_power",
    "weight_bearing_pct",  "mean_force",       "cop_mean_velocity",
    "cop_ellipse_area_95",
};

static void
value_cell(char *buf, size_t n, bool has, double v, const char *unit)
{
  if (!has)
    snprintf(buf, n, "-");
  else
    snprintf(buf, n, "%s %s", cli_num(v, unit_decimals(unit)), unit);
}

/* Roles of the two limbs in a one-sided test ("front"/"rear"); NULL for bilateral tests. */
static const char *
side_role(StanceProtocol proto, bool other)
{
  switch (proto) {
  case STANCE_PROTO_SPLIT_SQUAT:
  case STANCE_PROTO_LUNGE: return other ? "rear" : "front";
  case STANCE_PROTO_STEP_UP: return other ? "trailing" : "stepping";
  default: return other ? "free" : "stance";
  }
}

/* asym: true for bilateral tests, where left and right do the same job and their difference is
 * the asymmetry; one-sided tests compare limbs in different roles, so no asymmetry is shown. */
static void
print_metric_row(const char *label, const StanceTruthMetric *m, bool asym)
{
  char l[48], r[48], t[48], a[64];
  value_cell(l, sizeof l, m->has & STANCE_TRUTH_LEFT, m->left, m->unit);
  value_cell(r, sizeof r, m->has & STANCE_TRUTH_RIGHT, m->right, m->unit);
  value_cell(t, sizeof t, m->has & STANCE_TRUTH_TOTAL, m->total, m->unit);
  if (asym && (m->has & STANCE_TRUTH_LEFT) && (m->has & STANCE_TRUTH_RIGHT) &&
      is_strength_metric(m->id))
    cli_asym_text(a, sizeof a, m->left, m->right);
  else
    snprintf(a, sizeof a, "-");
  if (asym)
    printf("  %-26s %13s %13s %13s   %s\n", label, l, r, t, a);
  else
    printf("  %-26s %13s %13s %13s\n", label, l, r, t);
}

static void
print_summary(const StanceSimParams *p, const StanceRecording *rec, const StanceSimTruth *truth,
              const char *out_path, const char *format, const char *truth_path)
{
  const StanceProtocolInfo *pi = stance_protocol_info(p->protocol);
  const bool bilateral = p->side == STANCE_SIDE_BOTH;
  char side[64];
  stance_side_text(side, sizeof side, p->protocol, p->side);
  printf("Simulated %s (%s), %s, seed %s\n", pi ? pi->name : "?", pi ? pi->title : "?", side,
         cli_size((size_t)p->seed));
  printf("  %-16s%s (%s, %zu channels of raw counts)\n", "recording", out_path, format,
         rec->n_channels);
  printf("  %-16s%s\n", "ground truth", truth_path);
  printf("  %-16s%s s\n", "duration", cli_num(stance_recording_duration(rec), 3));
  printf("  %-16s%s at %s Hz\n", "samples", cli_size(rec->n_samples),
         cli_num_trim(rec->sample_rate_hz, 3));

  /* Trials by kind: "8 (8 reps)" or "23 (20 reps, 3 sets)". */
  char kinds[256] = "";
  {
    const char *seen[16];
    size_t count[16], nk = 0;
    for (size_t k = 0; k < truth->n_trials; k++) {
      size_t j = 0;
      while (j < nk && strcmp(seen[j], truth->trials[k].kind) != 0)
        j++;
      if (j == nk && nk < 16) {
        seen[nk] = truth->trials[k].kind;
        count[nk++] = 0;
      }
      if (j < nk)
        count[j]++;
    }
    size_t used = 0;
    for (size_t j = 0; j < nk && used < sizeof kinds; j++)
      used += (size_t)snprintf(kinds + used, sizeof kinds - used, "%s%zu %s%s", j ? ", " : "",
                               count[j], seen[j], count[j] == 1 ? "" : "s");
  }
  printf("  %-16s%zu%s%s%s\n", "trials", truth->n_trials, kinds[0] ? " (" : "", kinds,
         kinds[0] ? ")" : "");
  printf("  %-16s%s N (%s kg)", "body weight", cli_num(truth->body_weight_n, 1),
         cli_num(p->body_mass_kg, 1));
  if (p->external_load_kg > 0)
    printf(", system %s N with %s kg load", cli_num(truth->system_weight_n, 1),
           cli_num(p->external_load_kg, 1));
  printf("\n");
  if (p->asym_force_pct > 0 || p->asym_rfd_pct > 0 || p->asym_impulse_pct > 0)
    printf("  %-16s%s weaker by %s %% force, %s %% RFD, %s %% impulse\n", "deficit set",
           stance_side_name(p->weaker), cli_num(p->asym_force_pct, 1), cli_num(p->asym_rfd_pct, 1),
           cli_num(p->asym_impulse_pct, 1));
  else
    printf("  %-16s%s\n", "deficit set", "none (both limbs equal)");

  printf("\nGround truth (from the noise-free simulated signal, not a measurement)\n");
  bool any_peak = false, printed = false;
  for (size_t k = 0; k < truth->n_trials; k++)
    if (stance_sim_truth_metric(&truth->trials[k], "peak_force"))
      any_peak = true;
  const char *role_l = NULL, *role_r = NULL;
  if (!bilateral) {
    bool left_is_side = p->side == STANCE_SIDE_LEFT;
    role_l = side_role(p->protocol, !left_is_side);
    role_r = side_role(p->protocol, left_is_side);
  }
  if (any_peak) {
    char hl[48], hr[48], ha[48];
    if (bilateral) {
      snprintf(hl, sizeof hl, "peak L");
      snprintf(hr, sizeof hr, "peak R");
      snprintf(ha, sizeof ha, "asymmetry (peak force)");
    } else {
      snprintf(hl, sizeof hl, "peak L %s", role_l);
      snprintf(hr, sizeof hr, "peak R %s", role_r);
      snprintf(ha, sizeof ha, "%s share", side_role(p->protocol, false));
    }
    printf("  %5s  %-6s %3s %10s %16s %16s   %s\n", "trial", "kind", "set", "start", hl, hr, ha);
    for (size_t k = 0; k < truth->n_trials; k++) {
      const StanceTruthTrial *tr = &truth->trials[k];
      const StanceTruthMetric *pf = stance_sim_truth_metric(tr, "peak_force");
      bool hl_ok = pf && (pf->has & STANCE_TRUTH_LEFT),
           hr_ok = pf && (pf->has & STANCE_TRUTH_RIGHT);
      char l[48], r[48], a[64], st[48];
      value_cell(l, sizeof l, hl_ok, pf ? pf->left : 0, "N");
      value_cell(r, sizeof r, hr_ok, pf ? pf->right : 0, "N");
      if (hl_ok && hr_ok && bilateral) {
        cli_asym_text(a, sizeof a, pf->left, pf->right);
      } else if (hl_ok && hr_ok && pf->left + pf->right > 0) {
        /* One-sided: how much of the summed peaks the working limb carries. */
        double mine = p->side == STANCE_SIDE_LEFT ? pf->left : pf->right;
        snprintf(a, sizeof a, "%s %%", cli_num(mine / (pf->left + pf->right) * 100.0, 1));
      } else {
        snprintf(a, sizeof a, "-");
      }
      snprintf(st, sizeof st, "%s s", cli_num(tr->start_s, 3));
      printf("  %5d  %-6s %3s %10s %16s %16s   %s\n", tr->index, tr->kind,
             tr->set > 0 ? cli_size((size_t)tr->set) : "-", st, l, r, a);
    }
    printed = true;
  }
  /* Means over the trials that carry each key metric (per limb and total separately); a single
   * trial's values are the session's when the simulator reports session metrics. */
  if (truth->n_trials > 1 || (truth->n_trials == 1 && truth->n_metrics == 0)) {
    bool header = false;
    for (size_t km = 0; km < sizeof key_metrics / sizeof key_metrics[0]; km++) {
      StanceTruthMetric mean;
      memset(&mean, 0, sizeof mean);
      snprintf(mean.id, sizeof mean.id, "%s", key_metrics[km]);
      double sum[3] = {0, 0, 0};
      size_t cnt[3] = {0, 0, 0};
      for (size_t k = 0; k < truth->n_trials; k++) {
        const StanceTruthMetric *m = stance_sim_truth_metric(&truth->trials[k], key_metrics[km]);
        if (!m)
          continue;
        snprintf(mean.unit, sizeof mean.unit, "%s", m->unit);
        if (m->has & STANCE_TRUTH_LEFT) {
          sum[0] += m->left;
          cnt[0]++;
        }
        if (m->has & STANCE_TRUTH_RIGHT) {
          sum[1] += m->right;
          cnt[1]++;
        }
        if (m->has & STANCE_TRUTH_TOTAL) {
          sum[2] += m->total;
          cnt[2]++;
        }
      }
      if (!cnt[0] && !cnt[1] && !cnt[2])
        continue;
      if (cnt[0]) {
        mean.left = sum[0] / (double)cnt[0];
        mean.has |= STANCE_TRUTH_LEFT;
      }
      if (cnt[1]) {
        mean.right = sum[1] / (double)cnt[1];
        mean.has |= STANCE_TRUTH_RIGHT;
      }
      if (cnt[2]) {
        mean.total = sum[2] / (double)cnt[2];
        mean.has |= STANCE_TRUTH_TOTAL;
      }
      if (!header) {
        char h[64];
        if (truth->n_trials == 1)
          snprintf(h, sizeof h, "trial 1");
        else
          snprintf(h, sizeof h, "mean of %zu trials", truth->n_trials);
        printf("%s  %-26s %13s %13s %13s%s\n", printed ? "\n" : "", h, "left", "right", "total",
               bilateral ? "   asymmetry" : "");
        header = printed = true;
      }
      print_metric_row(key_metrics[km], &mean, bilateral);
    }
  }
  if (truth->n_metrics > 0) {
    printf("%s  %-26s %13s %13s %13s%s\n", printed ? "\n" : "", "session", "left", "right", "total",
           bilateral ? "   asymmetry" : "");
    for (int k = 0; k < truth->n_metrics; k++)
      print_metric_row(truth->metrics[k].id, &truth->metrics[k], bilateral);
    printed = true;
  }
  if (bilateral) {
    printf("\n  Asymmetry = (stronger - weaker) / stronger x 100, naming the stronger limb.\n");
  } else {
    printf("\n  One-sided test (%s): the left and right columns are limbs in different roles\n"
           "  (%s and %s), so they are not compared as an asymmetry. The limb asymmetry comes\n"
           "  from a session on each side: run it again with the other side and compare.\n",
           side, side_role(p->protocol, false), side_role(p->protocol, true));
  }
}

/* ---- main ---- */

int
cli_simulate_main(int argc, char **argv)
{
  enum {
    OPT_BASE = 256,
    OPT_TRUTH,
    OPT_FORMAT,
    OPT_PARAMS,
    OPT_PROTOCOL,
  };
  /* Simulator options carry CLI_SIM_OPT_BASE + their index in cli_sim_options as getopt value. */
  struct option longopts[CLI_N_SIM_OPTIONS + 8];
  size_t no = cli_sim_longopts(longopts, false);
  longopts[no++] = (struct option){"protocol", required_argument, NULL, OPT_PROTOCOL};
  longopts[no++] = (struct option){"output", required_argument, NULL, 'o'};
  longopts[no++] = (struct option){"truth", required_argument, NULL, OPT_TRUTH};
  longopts[no++] = (struct option){"format", required_argument, NULL, OPT_FORMAT};
  longopts[no++] = (struct option){"params", required_argument, NULL, OPT_PARAMS};
  longopts[no++] = (struct option){"help", no_argument, NULL, 'h'};
  longopts[no++] = (struct option){NULL, 0, NULL, 0};

  CliSettings cmd = {0}, file = {0};
  const char *out_path = NULL, *truth_opt = NULL, *format_opt = NULL, *params_path = NULL;
  char *protocol_name = NULL;
  int status = CLI_EXIT_OK;
  opterr = 0;
  int c;
  while (status == CLI_EXIT_OK && (c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
    if (c >= CLI_SIM_OPT_BASE && c < CLI_SIM_OPT_BASE + (int)CLI_N_SIM_OPTIONS) {
      status = cli_sim_collect(SUB, &cmd, c, optarg);
      continue;
    }
    switch (c) {
    case 'h':
      cli_simulate_help(stdout);
      cli_settings_free(&cmd);
      free(protocol_name);
      return CLI_EXIT_OK;
    case 'o':
      if (!*optarg)
        status = cli_usage_error(SUB, "-o: empty file name");
      out_path = optarg;
      break;
    case OPT_TRUTH:
      if (!*optarg)
        status = cli_usage_error(SUB, "--truth: empty file name");
      truth_opt = optarg;
      break;
    case OPT_FORMAT:
      if (strcmp(optarg, "stance") != 0 && strcmp(optarg, "csv") != 0)
        status =
            cli_usage_error(SUB, "--format: '%s' is not a format (expected stance or csv)", optarg);
      format_opt = optarg;
      break;
    case OPT_PARAMS: params_path = optarg; break;
    case OPT_PROTOCOL:
      free(protocol_name);
      protocol_name = strdup(optarg);
      break;
    default: status = cli_getopt_error(SUB, c, argv); break;
    }
  }
  if (status == CLI_EXIT_OK && optind < argc)
    status = cli_usage_error(SUB,
                             "unexpected argument '%s' (simulate takes options only; the "
                             "output file goes after -o)",
                             argv[optind]);
  if (status == CLI_EXIT_OK && params_path) {
    char *file_protocol = NULL;
    status = read_params_file(params_path, &file, &file_protocol);
    if (file_protocol && !protocol_name)
      protocol_name = file_protocol;
    else
      free(file_protocol);
  }
  if (status == CLI_EXIT_OK && !protocol_name)
    status = cli_usage_error(SUB, "no protocol given (expected --protocol, e.g. --protocol cmj)");
  if (status == CLI_EXIT_OK && !out_path)
    status = cli_usage_error(SUB, "no output file given (expected -o FILE.stance or FILE.csv)");

  StanceProtocol protocol = STANCE_PROTO_UNKNOWN;
  if (status == CLI_EXIT_OK && !cli_parse_protocol(SUB, "--protocol", protocol_name, &protocol))
    status = CLI_EXIT_USAGE;
  free(protocol_name);
  protocol_name = NULL;

  StanceSimParams p;
  StanceError err;
  stance_error_clear(&err);
  if (status == CLI_EXIT_OK) {
    stance_sim_params_default(&p, protocol);
    /* The file first, then the command line: a later setting wins. */
    for (size_t k = 0; k < file.n && status == CLI_EXIT_OK; k++)
      if (stance_sim_params_set(&p, file.v[k].key, file.v[k].value, &err) < 0) {
        print_sim_error(file.v[k].where, &err, false);
        status = CLI_EXIT_INPUT;
      }
    if (status == CLI_EXIT_OK)
      status = cli_sim_apply(SUB, &cmd, &p);
  }
  if (status == CLI_EXIT_OK && stance_sim_params_validate(&p, &err) < 0) {
    print_sim_error("", &err, true);
    /* Out-of-range values come from the command line (usage) or from a --params file (input). */
    status = file.n > 0 ? CLI_EXIT_INPUT : CLI_EXIT_USAGE;
    if (status == CLI_EXIT_USAGE)
      fprintf(stderr, "Try 'stance-cli %s --help' for the options.\n", SUB);
  }
  cli_settings_free(&cmd);
  cli_settings_free(&file);
  if (status != CLI_EXIT_OK)
    return status;

  bool csv = format_opt ? strcmp(format_opt, "csv") == 0 : cli_has_suffix(out_path, ".csv");
  char *truth_path = truth_opt ? strdup(truth_opt) : cli_replace_ext(out_path, ".truth.json");
  if (!truth_path) {
    cli_error(SUB, "out of memory");
    return CLI_EXIT_INPUT;
  }
  if (strcmp(truth_path, out_path) == 0 || cli_same_file(truth_path, out_path)) {
    free(truth_path);
    return cli_usage_error(SUB,
                           "the recording and the ground truth would both be written to %s "
                           "(expected different names; see --truth)",
                           out_path);
  }

  StanceRecording *rec = NULL;
  StanceSimTruth *truth = NULL;
  if (stance_sim_run(&p, &rec, &truth, &err) < 0) {
    cli_error(SUB, "simulation failed: %s", err.message);
    free(truth_path);
    return CLI_EXIT_INPUT;
  }

  int r;
  if (csv) {
    CliOut o;
    r = cli_out_open(&o, out_path, &err);
    if (r == STANCE_OK) {
      r = write_csv(rec, o.fp, &err);
      if (r == STANCE_OK)
        r = cli_out_commit(&o, &err);
      else
        cli_out_abort(&o);
    }
  } else {
    r = stance_file_write(rec, out_path, &err);
  }
  if (r == STANCE_OK) {
    CliOut o;
    r = cli_out_open(&o, truth_path, &err);
    if (r == STANCE_OK) {
      r = stance_sim_truth_write_json(truth, o.fp, &err);
      if (r == STANCE_OK)
        r = cli_out_commit(&o, &err);
      else
        cli_out_abort(&o);
    }
  }
  if (r < 0) {
    cli_error(SUB, "%s", err.message[0] ? err.message : stance_strerror(r));
    status = CLI_EXIT_INPUT;
  } else {
    print_summary(&p, rec, truth, out_path, csv ? "CSV" : ".stance", truth_path);
  }
  stance_recording_free(rec);
  stance_sim_truth_free(truth);
  free(truth_path);
  return status;
}
