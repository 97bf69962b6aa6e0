/* test-analysis-output.c: analysis options (defaults, the CLI's onset and filter spellings) and
 * the JSON, CSV and table writers on hand-built analyses, where every expected byte is known.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The writers are also run end to end on real and simulated recordings by
 * tests/test-cli-analyse.sh; here the inputs are fixed so that the exact output can be compared:
 * key names and order, absence rules (one plate, unilateral, reasons), number forms, CSV quoting,
 * UTF-8 repair, and the table's display units.
 */
#include "stance-analysis.h"
#include "stance-config.h"
#include "stance-test.h"

#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Options ---- */

START_TEST(test_defaults)
{
  StanceAnalysisOptions o;
  memset(&o, 0x5a, sizeof o);
  stance_analysis_options_default(&o);
  ck_assert_int_eq(o.protocol, STANCE_PROTO_UNKNOWN);
  ck_assert_int_eq(o.side, STANCE_SIDE_BOTH);
  ck_assert_int_eq(o.involved, STANCE_SIDE_BOTH);
  ck_assert_int_eq(o.formula, STANCE_ASYM_DEFAULT);
  ck_assert_int_eq(o.onset, STANCE_ONSET_DEFAULT);
  ck_assert(o.onset_sd == 5.0);
  ck_assert(o.onset_step_back_s < 0.0); /* "the protocol's default" */
  ck_assert(o.onset_n == 20.0);
  ck_assert(o.onset_pct_bw == 5.0);
  ck_assert(o.takeoff_n == 20.0);
  ck_assert(o.peak_rfd_window_s == 0.020);
  ck_assert_int_eq(o.filter, STANCE_FILTER_DEFAULT);
  ck_assert_int_eq(o.filter_order, 4);
  ck_assert(o.filter_cutoff_hz == 0.0);
  ck_assert_int_eq(o.weigh, STANCE_WEIGH_AUTO); /* the first second when still, else stillest */
  ck_assert(o.weigh_window_s == 1.0);
  ck_assert(o.external_load_kg < 0.0); /* "take the recording's" */
}
END_TEST

START_TEST(test_parse_onset)
{
  static const struct {
    const char *spec;
    StanceOnsetRule rule;
    double sd, back_s, n, pct;
  } ok[] = {
      /* Without a step-back part there is none, also for jumps (Owen 2014's two variants). */
      {"bw-5sd", STANCE_ONSET_BW_5SD, 5, 0, 20, 5},
      {"bw-5sd-30ms", STANCE_ONSET_BW_5SD, 5, 0.030, 20, 5},
      {"BW_3SD", STANCE_ONSET_BW_5SD, 3, 0, 20, 5},
      {"bw-2.5sd-15ms", STANCE_ONSET_BW_5SD, 2.5, 0.015, 20, 5},
      {"fixed-20n", STANCE_ONSET_FIXED_N, 5, -1, 20, 5},
      {"fixed-12.5N", STANCE_ONSET_FIXED_N, 5, -1, 12.5, 5},
      {"pct-5bw", STANCE_ONSET_PCT_BW, 5, -1, 20, 5},
      {" pct-10bw ", STANCE_ONSET_PCT_BW, 5, -1, 20, 10},
      {"default", STANCE_ONSET_DEFAULT, 5, -1, 20, 5},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    StanceAnalysisOptions o;
    stance_analysis_options_default(&o);
    StanceError err;
    stance_error_clear(&err);
    ck_assert_msg(stance_analysis_options_parse_onset(&o, ok[i].spec, &err) == STANCE_OK, "%s: %s",
                  ok[i].spec, err.message);
    ck_assert_int_eq(o.onset, ok[i].rule);
    /* The decimals are exact: 30 / 1000 and 0.1 * 3 would differ in the last bit. */
    ck_assert_msg(o.onset_sd == ok[i].sd && o.onset_step_back_s == ok[i].back_s &&
                      o.onset_n == ok[i].n && o.onset_pct_bw == ok[i].pct,
                  "%s: sd %.17g back %.17g n %.17g pct %.17g", ok[i].spec, o.onset_sd,
                  o.onset_step_back_s, o.onset_n, o.onset_pct_bw);
  }
  /* "default" puts back every onset field a previous spelling changed. */
  StanceAnalysisOptions o;
  stance_analysis_options_default(&o);
  ck_assert_int_eq(stance_analysis_options_parse_onset(&o, "bw-3sd-10ms", NULL), STANCE_OK);
  ck_assert_int_eq(stance_analysis_options_parse_onset(&o, "default", NULL), STANCE_OK);
  ck_assert(o.onset == STANCE_ONSET_DEFAULT && o.onset_sd == 5 && o.onset_step_back_s < 0);

  static const char *const bad[] = {
      "",         "bw-sd",       "bw-0sd", "bw-60sd", "bw-5sd-30", "bw-5sd-2000ms", "fixed--3n",
      "fixed-0n", "fixed-2000n", "pct-5",  "pct-0bw", "xyz",       "bw-1e1sd",      "fixed-20,5n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    stance_analysis_options_default(&o);
    StanceAnalysisOptions before = o;
    StanceError err;
    stance_error_clear(&err);
    int r = stance_analysis_options_parse_onset(&o, bad[i], &err);
    ck_assert_msg(r == STANCE_EINVAL || r == STANCE_ERANGE, "'%s' accepted", bad[i]);
    ck_assert_msg(memcmp(&o, &before, sizeof o) == 0, "'%s' changed the options", bad[i]);
    /* The message quotes the value and shows what is accepted. */
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
    ck_assert_msg(strstr(err.message, quoted) != NULL, "%s", err.message);
    ck_assert_msg(strstr(err.message, "expected") != NULL, "%s", err.message);
  }
}
END_TEST

START_TEST(test_parse_filter)
{
  static const struct {
    const char *spec;
    StanceFilterKind kind;
    int order;
    double cutoff;
  } ok[] = {
      {"raw", STANCE_FILTER_RAW, 4, 0},
      {"none", STANCE_FILTER_RAW, 4, 0},
      {"auto", STANCE_FILTER_AUTO, 4, 0},
      {"butter:12", STANCE_FILTER_BUTTERWORTH, 4, 12},
      {"butter:12hz", STANCE_FILTER_BUTTERWORTH, 4, 12},
      {"Butter:8:10.5", STANCE_FILTER_BUTTERWORTH, 8, 10.5},
      {"butterworth:2:50", STANCE_FILTER_BUTTERWORTH, 2, 50},
      {"default", STANCE_FILTER_DEFAULT, 4, 0},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    StanceAnalysisOptions o;
    stance_analysis_options_default(&o);
    StanceError err;
    stance_error_clear(&err);
    ck_assert_msg(stance_analysis_options_parse_filter(&o, ok[i].spec, &err) == STANCE_OK, "%s: %s",
                  ok[i].spec, err.message);
    ck_assert_int_eq(o.filter, ok[i].kind);
    ck_assert_int_eq(o.filter_order, ok[i].order);
    ck_assert_msg(o.filter_cutoff_hz == ok[i].cutoff, "%s: %.17g", ok[i].spec, o.filter_cutoff_hz);
  }
  static const char *const bad[] = {"butter:3:10",  "butter:0", "butter:4:",   "butter",
                                    "butter:12khz", "lowpass",  "butter:10:5", "butter:-5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    StanceAnalysisOptions o;
    stance_analysis_options_default(&o);
    StanceAnalysisOptions before = o;
    StanceError err;
    stance_error_clear(&err);
    int r = stance_analysis_options_parse_filter(&o, bad[i], &err);
    ck_assert_msg(r == STANCE_EINVAL || r == STANCE_ERANGE, "'%s' accepted", bad[i]);
    ck_assert_msg(memcmp(&o, &before, sizeof o) == 0, "'%s' changed the options", bad[i]);
    char quoted[64];
    snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
    ck_assert_msg(strstr(err.message, quoted) != NULL, "%s", err.message);
  }
}
END_TEST

/* ---- Writers ---- */

/* A bilateral CMJ on two plates with one trial and everything set by hand (no pipeline). */
static StanceAnalysis *
two_plate(void)
{
  StanceAnalysis *a = stance_analysis_new();
  ck_assert_ptr_nonnull(a);
  snprintf(a->input, sizeof a->input, "%s", "a,\"b\".csv");
  a->protocol = STANCE_PROTO_CMJ;
  a->formula = STANCE_ASYM_LR_SUM;
  a->layout = STANCE_LAYOUT_PLATES;
  a->sample_rate_hz = 1000;
  a->duration_s = 5.5;
  a->cond.has_body_weight = true;
  a->cond.body_weight_n = 800;
  a->cond.body_weight_sd_n = 2;
  a->cond.body_mass_kg = 81.5;
  a->cond.system_mass_kg = 81.5;
  a->cond.bw_window_start_s = 0;
  a->cond.bw_window_end_s = 1;
  a->cond.still_share_left = 0.5;
  stance_method_set(&a->onset_method, "onset.bw_5sd");
  stance_method_param_num(&a->onset_method, "k", 5);
  stance_analysis_flag(a, STANCE_FLAG_RATE_ASSUMED, STANCE_SEVERITY_WARNING, "bad \xff byte");
  StanceTrial *t = stance_analysis_add_trial(a, "jump", 2, 4.5);
  ck_assert_ptr_nonnull(t);
  stance_trial_add_event(t, "takeoff", 3.5, STANCE_SEL_TOTAL);
  stance_trial_add_event(t, "onset", 2.25, STANCE_SEL_TOTAL);
  stance_trial_add_event(t, "peak", 3.25, STANCE_SEL_LEFT);
  StanceMetric *m = stance_trial_add_metric(t, "peak_force", "N", "peak.max");
  stance_method_param_str(&m->method, "series", "unfiltered");
  stance_metric_set(m, STANCE_SEL_LEFT, 1000);
  stance_metric_set(m, STANCE_SEL_RIGHT, 1000.5);
  stance_metric_set(m, STANCE_SEL_TOTAL, 2000.5);
  m->has_asym = true;
  snprintf(m->asym.formula_id, sizeof m->asym.formula_id, "lr_sum");
  m->asym.value = -0.025;
  m->asym.stronger = STANCE_SIDE_RIGHT;
  m->asym.involved = STANCE_SIDE_BOTH;
  m = stance_trial_add_metric(t, "jump_height_impulse", "m", "jump_height.impulse_momentum");
  stance_metric_set(m, STANCE_SEL_TOTAL, 0.3125);
  m = stance_trial_add_metric(t, "rfd_0_250", "N/s", "rfd.epoch");
  stance_metric_set(m, STANCE_SEL_LEFT, 4000);
  stance_metric_absent(m, STANCE_SEL_RIGHT, "epoch runs past takeoff");
  stance_metric_set(m, STANCE_SEL_TOTAL, NAN); /* the model makes it absent: "not finite" */
  m = stance_analysis_add_metric(a, "jump_count", "count", "jump.flights");
  stance_metric_set(m, STANCE_SEL_TOTAL, 1);
  return a;
}

/* The writer's output as a string (caller frees). */
typedef enum { OUT_JSON, OUT_JSON_COMPACT, OUT_CSV, OUT_TABLE } OutKind;

static char *
render(const StanceAnalysis *a, OutKind kind)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  StanceError err;
  stance_error_clear(&err);
  int r = kind == OUT_JSON           ? stance_analysis_write_json(a, f, true, &err)
          : kind == OUT_JSON_COMPACT ? stance_analysis_write_json(a, f, false, &err)
          : kind == OUT_CSV          ? stance_analysis_write_csv(a, f, true, &err)
                                     : stance_analysis_write_table(a, f, &err);
  ck_assert_msg(r == STANCE_OK, "writer failed: %s", err.message);
  fclose(f);
  return buf;
}

START_TEST(test_json_exact)
{
  StanceAnalysis *a = two_plate();
  char *s = render(a, OUT_JSON_COMPACT);
  /* Every byte: key order, omitted absent values with their reasons, U+FFFD for the bad byte,
   * events in time order with the left-plate event suffixed, the "not finite" total absent. */
  const char *want =
      "{\"stance_version\":\"" STANCE_VERSION "\",\"format\":\"stance-analysis\","
      "\"format_version\":1,\"input\":\"a,\\\"b\\\".csv\",\"protocol\":\"cmj\",\"side\":\"both\","
      "\"layout\":\"plates\",\"asymmetry_formula\":{\"id\":\"lr_sum\",\"text\":\"(L - R) / (L + R) "
      "* 100\"},\"sample_rate_hz\":1000,\"duration_s\":5.5,\"body_weight_n\":800,"
      "\"body_weight_sd_n\":2,\"body_mass_kg\":81.5,\"gravity_m_s2\":9.81,"
      "\"system_mass_kg\":81.5,\"conditioning\":{\"body_weight_found\":true,"
      "\"body_weight_window_start_s\":0,\"body_weight_window_end_s\":1,\"still_share_left\":0.5,"
      "\"zeroed\":false,\"filter\":{\"id\":\"filter.raw\",\"params\":{}},\"spikes\":0},"
      "\"onset_method\":{\"id\":\"onset.bw_5sd\",\"params\":{\"k\":5}},\"flags\":[{\"id\":"
      "\"rate_assumed\",\"severity\":\"warning\",\"message\":\"bad \xef\xbf\xbd byte\"}],"
      "\"trials\":[{\"index\":1,\"kind\":\"jump\",\"side\":\"both\",\"start_s\":2,\"end_s\":4.5,"
      "\"events\":{\"onset\":2.25,\"peak_left\":3.25,\"takeoff\":3.5},\"flags\":[],\"metrics\":{"
      "\"peak_force\":{\"unit\":\"N\",\"method\":{\"id\":\"peak.max\",\"params\":{\"series\":"
      "\"unfiltered\"}},\"left\":1000,\"right\":1000.5,\"total\":2000.5,\"asymmetry\":{"
      "\"formula\":\"lr_sum\",\"value\":-0.025,\"stronger\":\"right\"}},\"jump_height_impulse\":{"
      "\"unit\":\"m\",\"method\":{\"id\":\"jump_height.impulse_momentum\",\"params\":{}},"
      "\"total\":0.3125},\"rfd_0_250\":{\"unit\":\"N/s\",\"method\":{\"id\":\"rfd.epoch\","
      "\"params\":{}},\"left\":4000,\"absent\":{\"right\":\"epoch runs past takeoff\",\"total\":"
      "\"not finite\"}}}}],\"metrics\":{\"jump_count\":{\"unit\":\"count\",\"method\":{\"id\":"
      "\"jump.flights\",\"params\":{}},\"total\":1}},\"summary\":{}}";
  ck_assert_str_eq(s, want);
  free(s);

  /* One plate: the same analysis with a COMBINED layout loses every left/right key, the
   * asymmetry, the left-plate event and the load share. */
  a->layout = STANCE_LAYOUT_COMBINED;
  s = render(a, OUT_JSON);
  ck_assert_ptr_null(strstr(s, "\"left\""));
  ck_assert_ptr_null(strstr(s, "\"right\""));
  ck_assert_ptr_null(strstr(s, "asymmetry\": {"));
  ck_assert_ptr_null(strstr(s, "peak_left"));
  ck_assert_ptr_null(strstr(s, "still_share_left"));
  ck_assert_ptr_nonnull(strstr(s, "\"total\": \"not finite\""));
  ck_assert_ptr_nonnull(strstr(s, "\"total\": 2000.5"));
  free(s);
  stance_analysis_free(a);
}
END_TEST

START_TEST(test_json_summary)
{
  StanceAnalysis *a = two_plate();
  /* A summary entry by hand: total stats with SD and CV, a left-only entry (unilateral), and an
   * entry whose stats are unusable (n = 0), which must not produce numbers. */
  a->summary = calloc(3, sizeof *a->summary);
  a->n_summary = a->cap_summary = 3;
  StanceSummaryMetric *sm = &a->summary[0];
  snprintf(sm->id, sizeof sm->id, "peak_force");
  snprintf(sm->unit, sizeof sm->unit, "N");
  sm->has = STANCE_HAS_LEFT | STANCE_HAS_RIGHT | STANCE_HAS_TOTAL;
  sm->total =
      (StanceStats){.n = 3, .mean = 2000, .sd = 20, .cv_pct = 1, .has_sd = true, .has_cv = true};
  sm->left =
      (StanceStats){.n = 3, .mean = 1000, .sd = 10, .cv_pct = 1, .has_sd = true, .has_cv = true};
  sm->right = sm->left;
  sm->has_asym = true;
  snprintf(sm->asym.formula_id, sizeof sm->asym.formula_id, "lr_sum");
  sm->asym.value = 0;
  sm->asym.stronger = STANCE_SIDE_BOTH;
  sm->asym_stats = (StanceStats){.n = 3, .mean = 0.25, .sd = 0.5, .has_sd = true};
  sm->has_direction = true;
  sm->direction_consistency_pct = 66.66666666666667;
  sm = &a->summary[1];
  snprintf(sm->id, sizeof sm->id, "contact_time");
  snprintf(sm->unit, sizeof sm->unit, "s");
  sm->has = STANCE_HAS_LEFT;
  sm->left = (StanceStats){.n = 1, .mean = 0.25};
  sm = &a->summary[2];
  snprintf(sm->id, sizeof sm->id, "rsi");
  snprintf(sm->unit, sizeof sm->unit, "ratio");
  sm->has = STANCE_HAS_TOTAL;
  sm->total = (StanceStats){.n = 0, .mean = NAN};
  char *s = render(a, OUT_JSON_COMPACT);
  const char *want =
      "\"summary\":{\"peak_force\":{\"unit\":\"N\",\"n\":3,\"mean\":2000,\"sd\":20,\"cv_pct\":1,"
      "\"left\":{\"n\":3,\"mean\":1000,\"sd\":10,\"cv_pct\":1},\"right\":{\"n\":3,\"mean\":1000,"
      "\"sd\":10,\"cv_pct\":1},\"total\":{\"n\":3,\"mean\":2000,\"sd\":20,\"cv_pct\":1},"
      "\"asymmetry\":{\"formula\":\"lr_sum\",\"value\":0,\"stronger\":\"even\",\"n\":3,\"mean\":"
      "0.25,\"sd\":0.5,\"direction_consistency_pct\":66.66666666666667}},\"contact_time\":{"
      "\"unit\":\"s\",\"n\":1,\"mean\":0.25,\"left\":{\"n\":1,\"mean\":0.25}},\"rsi\":{\"unit\":"
      "\"ratio\"}}}";
  const char *at = strstr(s, "\"summary\":");
  ck_assert_ptr_nonnull(at);
  ck_assert_str_eq(at, want);
  ck_assert_ptr_null(strstr(s, "nan"));
  free(s);
  stance_analysis_free(a);
}
END_TEST

START_TEST(test_json_many)
{
  StanceAnalysis *a = two_plate(), *b = two_plate(), *c = two_plate();
  snprintf(b->input, sizeof b->input, "b.stance");
  snprintf(c->input, sizeof c->input, "c.stance");
  c->protocol = STANCE_PROTO_SJ;
  StanceAnalysis *v[3] = {a, c, b};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  StanceError err;
  stance_error_clear(&err);
  ck_assert_int_eq(stance_analysis_write_json_many(v, 3, f, false, &err), STANCE_OK);
  fclose(f);
  /* Three analyses; two groups in order of first appearance: cmj (a and b, 2 trials re-indexed
   * 1-2), then sj (c). */
  ck_assert_ptr_nonnull(strstr(buf, "{\"stance_version\":"));
  ck_assert_ptr_nonnull(strstr(buf, "\"format\":\"stance-analysis\",\"format_version\":1,"
                                    "\"analyses\":[{\"input\":\"a,\\\"b\\\".csv\""));
  const char *comb = strstr(buf, "\"combined\":[");
  ck_assert_ptr_nonnull(comb);
  ck_assert_ptr_nonnull(strstr(comb, "{\"protocol\":\"cmj\",\"inputs\":[\"a,\\\"b\\\".csv\","
                                     "\"b.stance\"],"));
  ck_assert_ptr_nonnull(strstr(comb, "\"trials\":[{\"index\":1,\"input\":\"a,\\\"b\\\".csv\","
                                     "\"trial\":1,\"side\":\"both\"},{\"index\":2,\"input\":"
                                     "\"b.stance\",\"trial\":1,\"side\":\"both\"}]"));
  const char *sj = strstr(comb, "{\"protocol\":\"sj\",\"inputs\":[\"c.stance\"]");
  ck_assert_ptr_nonnull(sj);
  ck_assert(sj > strstr(comb, "\"protocol\":\"cmj\""));
  ck_assert_ptr_null(strstr(sj, "\"protocol\":\"cmj\"")); /* one group per protocol */
  free(buf);
  stance_analysis_free(a);
  stance_analysis_free(b);
  stance_analysis_free(c);
}
END_TEST

START_TEST(test_csv_exact)
{
  StanceAnalysis *a = two_plate();
  char *s = render(a, OUT_CSV);
  const char *want =
      "input,trial,kind,side,start_s,end_s,metric,unit,method,left,right,total,asym_formula,"
      "asym_value,stronger\n"
      "\"a,\"\"b\"\".csv\",1,jump,both,2,4.5,peak_force,N,peak.max(series=unfiltered),1000,1000.5,"
      "2000.5,lr_sum,-0.025,right\n"
      "\"a,\"\"b\"\".csv\",1,jump,both,2,4.5,jump_height_impulse,m,jump_height.impulse_momentum,,,"
      "0.3125,,,\n"
      "\"a,\"\"b\"\".csv\",1,jump,both,2,4.5,rfd_0_250,N/s,rfd.epoch,4000,,,,,\n"
      "\"a,\"\"b\"\".csv\",,session,both,,,jump_count,count,jump.flights,,,1,,,\n";
  ck_assert_str_eq(s, want);
  free(s);

  /* The shortest form that reads back: 0.1 + 0.2 needs 17 digits, 1/3 16. */
  StanceMetric *m = &a->trials[0].metrics[1];
  stance_metric_set(m, STANCE_SEL_TOTAL, 0.1 + 0.2);
  s = render(a, OUT_CSV);
  ck_assert_ptr_nonnull(strstr(s, ",0.30000000000000004,"));
  free(s);

  /* A decimal-comma locale in the calling thread changes nothing: a GUI may run with one. When
   * none is installed, one is generated with localedef into a temporary folder (LOCPATH). */
  char *c_csv = render(a, OUT_CSV);
  char *saved = strdup(setlocale(LC_NUMERIC, NULL));
  bool have = setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "de_DE.utf8") ||
              setlocale(LC_NUMERIC, "fr_FR.UTF-8");
  if (!have) {
    char *dir = stance_test_tmpdir();
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1", dir);
    if (system(cmd) == 0) {
      setenv("LOCPATH", dir, 1);
      have = setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL;
    }
    /* The locale data is loaded (mapped) now; the files can go. */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      fprintf(stderr, "test_csv_exact: could not remove %s\n", dir);
    free(dir);
  }
  if (have) {
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    ck_assert_str_eq(probe, "1,5"); /* the locale is really in effect */
    s = render(a, OUT_CSV);
    char *t = render(a, OUT_TABLE);
    setlocale(LC_NUMERIC, saved);
    ck_assert_str_eq(s, c_csv);
    ck_assert_msg(strstr(t, "2000.5") != NULL && strstr(t, "2000,5") == NULL, "%s", t);
    free(s);
    free(t);
  } else {
    fprintf(stderr, "test_csv_exact: no decimal-comma locale available, locale part skipped\n");
  }
  setlocale(LC_NUMERIC, saved);
  free(saved);
  free(c_csv);
  stance_analysis_free(a);
}
END_TEST

START_TEST(test_table)
{
  StanceAnalysis *a = two_plate();
  char *s = render(a, OUT_TABLE);
  /* Display units: 0.3125 m is 31.25 cm, exactly representable, which "%.1f" rounds to even:
   * 31.2. Each row is "    id unit left right total asymmetry  stronger" in fixed columns. */
  char row[256];
  snprintf(row, sizeof row, "    %-24s %-6s %10s %10s %10s\n", "jump_height_impulse", "cm", "-",
           "-", "31.2");
  /* The row has a "-" asymmetry column too; compare up to the total. */
  row[strlen(row) - 1] = '\0';
  ck_assert_msg(strstr(s, row) != NULL, "no '%s' in\n%s", row, s);
  ck_assert_ptr_nonnull(strstr(s, "  protocol          cmj (Countermovement jump), bilateral\n"));
  ck_assert_ptr_nonnull(strstr(s, "  asymmetry         lr_sum = (L - R) / (L + R) * 100\n"));
  /* peak_force: L, R, total, the asymmetry (-0.025 % shows as 0.0 %, never "-0.0") and the
   * stronger limb. */
  snprintf(row, sizeof row, "    %-24s %-6s %10s %10s %10s %14s  %s\n", "peak_force", "N", "1000.0",
           "1000.5", "2000.5", "0.0 %", "right");
  ck_assert_msg(strstr(s, row) != NULL, "no '%s' in\n%s", row, s);
  ck_assert_ptr_nonnull(strstr(s, "heights and distances in cm, durations in ms"));
  ck_assert_ptr_nonnull(strstr(s, "warning  rate_assumed: bad"));
  ck_assert_ptr_nonnull(
      strstr(s, "events (s)        onset 2.250, peak (left) 3.250, takeoff 3.500"));
  /* No line ends in a blank. */
  for (const char *p = s; *p;) {
    const char *e = strchr(p, '\n');
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(e == p || e[-1] != ' ', "trailing blank: %.*s", (int)(e - p), p);
    p = e + 1;
  }
  free(s);
  stance_analysis_free(a);
}
END_TEST

static Suite *
output_suite(void)
{
  Suite *s = suite_create("analysis-output");
  TCase *tc = tcase_create("options");
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_parse_onset);
  tcase_add_test(tc, test_parse_filter);
  suite_add_tcase(s, tc);
  tc = tcase_create("writers");
  tcase_add_test(tc, test_json_exact);
  tcase_add_test(tc, test_json_summary);
  tcase_add_test(tc, test_json_many);
  tcase_add_test(tc, test_csv_exact);
  tcase_add_test(tc, test_table);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  return stance_test_run(output_suite());
}
