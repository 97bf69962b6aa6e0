/* cli-athlete.c: `stance-cli athlete add|list|show|edit`: the athletes of the session store.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Option values are checked (dates, sex, limbs, mass) before the store is opened, so a usage error
 * never creates or touches a database. The store's own validation (a date in the future, an
 * injury before birth) is a usage error too: the value came from the command line.
 */
#include "cli-store.h"

#include <getopt.h>
#include <string.h>
#include <time.h>

static const char *const SUB = "athlete";

/* Version of the `athlete list|show --format json` documents. */
#define ATHLETE_JSON_VERSION 1

void
cli_athlete_help(FILE *out)
{
  fputs("Usage: stance-cli athlete add NAME [options]\n"
        "       stance-cli athlete list [--format table|json]\n"
        "       stance-cli athlete show ATHLETE [--format table|json]\n"
        "       stance-cli athlete edit ATHLETE [options] [--name NEW] [--no-involved]\n"
        "\n"
        "The athletes of the session store: name, date of birth, sex, dominant limb, the involved\n"
        "(injured or operated) limb with the injury's date and notes, and the body-mass history.\n"
        "ATHLETE is an id, a uuid or a name (exact, any case; a name two athletes share needs the\n"
        "id). `record --athlete` records into the store for an athlete added here.\n"
        "\n"
        "Athlete details (add, edit):\n"
        "      --birth YYYY-MM-DD    date of birth (not in the future)\n"
        "      --sex S               f, m or other (also female, male)\n"
        "      --dominant S          dominant limb: left or right\n"
        "      --involved S          injured or operated limb: left or right; analyses then give\n"
        "                            asymmetries as the limb symmetry index (LSI)\n"
        "      --injury-date YYYY-MM-DD  date of the injury or operation (not before birth)\n"
        "      --injury-notes TEXT   what it was (e.g. \"ACL reconstruction, hamstring graft\")\n"
        "      --mass KG             body mass, 20-300 kg: adds an entry to the mass history\n"
        "                            (dated now)\n"
        "Edit only:\n"
        "      --name NEW            rename\n"
        "      --no-involved         no involved limb any more (clears the injury date and notes)\n"
        "      An empty value clears a field: --birth \"\", --injury-date \"\", --injury-notes "
        "\"\".\n"
        "Common:\n"
        "      --db PATH             the store (default: $STANCE_DB, else\n"
        "                            ~/.local/share/stance/stance.db)\n"
        "      --format F            list and show: table (default) or json\n"
        "  -h, --help                show this text and exit\n"
        "\n"
        "Exit status: 0 done, 1 the store cannot be opened or written, or no such athlete,\n"
        "2 bad usage (unknown option, a bad value such as --birth 1998-02-30 or --sex x).\n"
        "\n"
        "Examples:\n"
        "  stance-cli athlete add \"Ana Silva\" --birth 1998-04-17 --sex f --dominant right \\\n"
        "      --involved left --injury-date 2026-05-02 --injury-notes \"ACL reconstruction\" \\\n"
        "      --mass 62.5\n"
        "  stance-cli athlete list\n"
        "  stance-cli athlete show \"Ana Silva\"\n"
        "  stance-cli athlete edit 3 --mass 63.1\n"
        "  stance-cli athlete edit \"Ana Silva\" --no-involved\n",
        out);
}

/* ---- Options ---- */

typedef enum {
  ACT_ADD,
  ACT_LIST,
  ACT_SHOW,
  ACT_EDIT,
} Action;

typedef struct {
  Action act;
  const char *db;
  bool json;
  const char *name;
  const char *birth;
  const char *sex;
  const char *dominant;
  const char *involved;
  const char *injury_date;
  const char *injury_notes;
  bool no_involved;
  bool has_mass;
  double mass_kg;
  const char *first_detail; /* the first detail option given, for "only with add/edit" */
} AthleteOptions;

/* A date option: "" (clear, when allowed) or a real "YYYY-MM-DD". */
static bool
check_date(const char *opt, const char *s, bool allow_empty)
{
  if (allow_empty && *s == '\0')
    return true;
  int y, m, d, used = 0;
  if (strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) == 3 && used == 10 &&
      s[4] == '-' && s[7] == '-' && g_ascii_isdigit(s[0]) && g_ascii_isdigit(s[5]) &&
      g_ascii_isdigit(s[8]) && y >= 1 && g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y))
    return true;
  cli_usage_error(SUB, "%s: '%s' is not a date (expected YYYY-MM-DD, e.g. 1998-04-17)", opt, s);
  return false;
}

static int
parse_options(int argc, char **argv, AthleteOptions *o, char ***args, int *n_args)
{
  enum {
    OPT_BIRTH = 256,
    OPT_SEX,
    OPT_DOMINANT,
    OPT_INVOLVED,
    OPT_INJURY_DATE,
    OPT_INJURY_NOTES,
    OPT_MASS,
    OPT_NAME,
    OPT_NO_INVOLVED,
    OPT_FORMAT,
  };
  static const struct option longopts[] = {
      {"birth", required_argument, NULL, OPT_BIRTH},
      {"sex", required_argument, NULL, OPT_SEX},
      {"dominant", required_argument, NULL, OPT_DOMINANT},
      {"involved", required_argument, NULL, OPT_INVOLVED},
      {"injury-date", required_argument, NULL, OPT_INJURY_DATE},
      {"injury-notes", required_argument, NULL, OPT_INJURY_NOTES},
      {"mass", required_argument, NULL, OPT_MASS},
      {"name", required_argument, NULL, OPT_NAME},
      {"no-involved", no_argument, NULL, OPT_NO_INVOLVED},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"db", required_argument, NULL, CLI_OPT_DB},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool format_given = false;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    const char *detail = NULL;
    switch (c) {
    case 'h': cli_athlete_help(stdout); return -1;
    case CLI_OPT_DB:
      if (!*optarg)
        return cli_usage_error(SUB, "--db: empty path (expected the database file)");
      o->db = optarg;
      break;
    case OPT_FORMAT:
      if (strcmp(optarg, "table") == 0)
        o->json = false;
      else if (strcmp(optarg, "json") == 0)
        o->json = true;
      else
        return cli_usage_error(SUB,
                               "--format: '%s' is not an output format (expected table or "
                               "json)",
                               optarg);
      format_given = true;
      break;
    case OPT_BIRTH:
      if (!check_date("--birth", optarg, true))
        return CLI_EXIT_USAGE;
      o->birth = optarg;
      detail = "--birth";
      break;
    case OPT_SEX: {
      StanceSex sx;
      if (!stance_sex_from_name(optarg, &sx) || sx == STANCE_SEX_UNKNOWN)
        return cli_usage_error(SUB, "--sex: '%s' is not a sex (expected f, m or other)", optarg);
      o->sex = optarg;
      detail = "--sex";
      break;
    }
    case OPT_DOMINANT: {
      StanceSide s;
      if (!cli_parse_side(SUB, "--dominant", optarg, false, &s))
        return CLI_EXIT_USAGE;
      o->dominant = optarg;
      detail = "--dominant";
      break;
    }
    case OPT_INVOLVED: {
      StanceSide s;
      if (!cli_parse_side(SUB, "--involved", optarg, false, &s))
        return CLI_EXIT_USAGE;
      o->involved = optarg;
      detail = "--involved";
      break;
    }
    case OPT_INJURY_DATE:
      if (!check_date("--injury-date", optarg, true))
        return CLI_EXIT_USAGE;
      o->injury_date = optarg;
      detail = "--injury-date";
      break;
    case OPT_INJURY_NOTES:
      if (strlen(optarg) > 2000)
        return cli_usage_error(SUB, "--injury-notes: %zu bytes (expected at most 2000)",
                               strlen(optarg));
      o->injury_notes = optarg;
      detail = "--injury-notes";
      break;
    case OPT_MASS:
      if (!cli_parse_double(optarg, &o->mass_kg) || o->mass_kg < 20 || o->mass_kg > 300)
        return cli_usage_error(SUB,
                               "--mass: '%s' is not a body mass (expected 20 to 300 kg, "
                               "e.g. 72.5)",
                               optarg);
      o->has_mass = true;
      detail = "--mass";
      break;
    case OPT_NAME:
      o->name = optarg;
      detail = "--name";
      break;
    case OPT_NO_INVOLVED:
      o->no_involved = true;
      detail = "--no-involved";
      break;
    default: return cli_getopt_error(SUB, c, argv);
    }
    if (detail && !o->first_detail)
      o->first_detail = detail;
  }
  if (optind >= argc)
    return cli_usage_error(SUB, "no action given (expected add, list, show or edit)");
  const char *act = argv[optind];
  if (strcmp(act, "add") == 0)
    o->act = ACT_ADD;
  else if (strcmp(act, "list") == 0 || strcmp(act, "ls") == 0)
    o->act = ACT_LIST;
  else if (strcmp(act, "show") == 0)
    o->act = ACT_SHOW;
  else if (strcmp(act, "edit") == 0)
    o->act = ACT_EDIT;
  else
    return cli_usage_error(SUB, "'%s' is not an action (expected add, list, show or edit)", act);
  *args = argv + optind + 1;
  *n_args = argc - optind - 1;

  if (o->act == ACT_LIST || o->act == ACT_SHOW) {
    if (o->first_detail)
      return cli_usage_error(SUB,
                             "%s applies to athlete add and edit (expected no athlete "
                             "details with %s)",
                             o->first_detail, act);
  } else if (format_given) {
    return cli_usage_error(SUB, "--format applies to athlete list and show");
  }
  if (o->act != ACT_EDIT && (o->name || o->no_involved))
    return cli_usage_error(
        SUB, "%s applies to athlete edit only%s", o->name ? "--name" : "--no-involved",
        o->act == ACT_ADD && o->name ? " (add takes the name as its argument)" : "");
  if (o->no_involved && (o->involved || o->injury_date || o->injury_notes))
    return cli_usage_error(SUB, "--no-involved clears the involved limb and the injury: expected "
                                "no --involved, --injury-date or --injury-notes with it");
  int want = o->act == ACT_LIST ? 0 : 1;
  if (*n_args < want)
    return cli_usage_error(SUB, "athlete %s: no athlete given (expected %s)", act,
                           o->act == ACT_ADD ? "the new athlete's NAME" : "an id, uuid or name");
  if (*n_args > want)
    return cli_usage_error(SUB, "athlete %s: unexpected argument '%s'%s", act, (*args)[want],
                           o->act == ACT_ADD ? " (a name with spaces needs quotes)" : "");
  return CLI_EXIT_OK;
}

/* Applies the detail options to a. */
static void
apply_details(const AthleteOptions *o, StanceAthlete *a)
{
  if (o->name) {
    g_free(a->name);
    a->name = g_strdup(o->name);
  }
  if (o->birth)
    g_strlcpy(a->birth_date, o->birth, sizeof a->birth_date);
  if (o->sex)
    stance_sex_from_name(o->sex, &a->sex);
  if (o->dominant)
    stance_side_from_name(o->dominant, &a->dominant);
  if (o->involved)
    stance_side_from_name(o->involved, &a->involved);
  if (o->injury_date)
    g_strlcpy(a->injury_date, o->injury_date, sizeof a->injury_date);
  if (o->injury_notes) {
    g_free(a->injury_notes);
    a->injury_notes = *o->injury_notes ? g_strdup(o->injury_notes) : NULL;
  }
  if (o->no_involved) {
    a->involved = STANCE_SIDE_BOTH;
    a->injury_date[0] = '\0';
    g_clear_pointer(&a->injury_notes, g_free);
  }
}

/* The store's validation of the athlete; a refusal is a usage error (the values came from the
 * command line). */
static bool
validate(const StanceAthlete *a)
{
  GError *error = NULL;
  if (stance_athlete_validate(a, &error))
    return true;
  cli_usage_error(SUB, "%s", error->message);
  g_error_free(error);
  return false;
}

/* ---- Text helpers ---- */

static const char *
limb_text(StanceSide s)
{
  return s == STANCE_SIDE_LEFT ? "left" : s == STANCE_SIDE_RIGHT ? "right" : "-";
}

/* "left", "right", or NULL (JSON null) when not known / none. */
static const char *
limb_json(StanceSide s)
{
  return s == STANCE_SIDE_BOTH ? NULL : stance_side_name(s);
}

/* Whole years from birth ("YYYY-MM-DD") to the local date of unix_ms; -1 when unknown. */
static int
age_at(const char *birth, gint64 unix_ms)
{
  int by, bm, bd;
  if (!birth || sscanf(birth, "%d-%d-%d", &by, &bm, &bd) != 3)
    return -1;
  time_t t = (time_t)(unix_ms / 1000);
  struct tm tm;
  if (!localtime_r(&t, &tm))
    return -1;
  int age = tm.tm_year + 1900 - by;
  if (tm.tm_mon + 1 < bm || (tm.tm_mon + 1 == bm && tm.tm_mday < bd))
    age--;
  return age;
}

/* s padded with spaces to width characters (UTF-8 aware). */
static void
put_padded(FILE *out, const char *s, int width)
{
  fputs(s, out);
  long len = g_utf8_validate(s, -1, NULL) ? g_utf8_strlen(s, -1) : (long)strlen(s);
  for (long k = len; k < width; k++)
    fputc(' ', out);
}

/* ---- add ---- */

static int
do_add(const AthleteOptions *o, const char *name)
{
  StanceAthlete a;
  stance_athlete_init(&a);
  a.name = g_strdup(name);
  apply_details(o, &a);
  if (!validate(&a)) {
    stance_athlete_clear(&a);
    return CLI_EXIT_USAGE;
  }
  StanceStore *store = cli_store_open(SUB, o->db, STANCE_STORE_DEFAULT);
  if (!store) {
    stance_athlete_clear(&a);
    return CLI_EXIT_INPUT;
  }
  int status = CLI_EXIT_OK;
  GError *error = NULL;
  /* Two people may share a name; say so, since the name then no longer finds either. */
  int same = 0;
  GPtrArray *all = stance_store_athlete_list(store, &error);
  if (!all) {
    status = cli_gerror(SUB, error);
    goto done;
  }
  for (guint k = 0; k < all->len; k++)
    if (g_utf8_collate(((StanceAthlete *)all->pdata[k])->name, name) == 0 ||
        g_ascii_strcasecmp(((StanceAthlete *)all->pdata[k])->name, name) == 0)
      same++;
  g_ptr_array_unref(all);
  gint64 id = stance_store_athlete_add(store, &a, &error);
  if (id <= 0) {
    if (g_error_matches(error, STANCE_STORE_ERROR, STANCE_STORE_ERROR_INVALID)) {
      cli_usage_error(SUB, "%s", error->message);
      g_error_free(error);
      status = CLI_EXIT_USAGE;
    } else {
      status = cli_gerror(SUB, error);
    }
    goto done;
  }
  if (o->has_mass) {
    StanceMassEntry m;
    memset(&m, 0, sizeof m);
    m.measured_unix_ms = g_get_real_time() / 1000;
    m.mass_kg = o->mass_kg;
    g_strlcpy(m.source, "entered", sizeof m.source);
    if (!stance_store_athlete_add_mass(store, id, &m, &error)) {
      status = cli_gerror(SUB, error);
      goto done;
    }
  }
  printf("Added athlete %" G_GINT64_FORMAT ": %s\n", id, a.name);
  if (same > 0)
    printf("  note: %d other athlete%s named \"%s\": refer to them by id (stance-cli athlete "
           "list)\n",
           same, same == 1 ? " is" : "s are", a.name);
done:
  stance_store_close(store);
  stance_athlete_clear(&a);
  return status;
}

/* ---- list ---- */

/* The number of sessions and the latest one's start, per athlete id. */
typedef struct {
  int n;
  gint64 last_ms;
} SessionCount;

static int
do_list(const AthleteOptions *o)
{
  StanceStore *store = cli_store_open(SUB, o->db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  GError *error = NULL;
  GPtrArray *all = stance_store_athlete_list(store, &error);
  GPtrArray *sessions = all ? stance_store_session_list(store, 0, &error) : NULL;
  if (!all || !sessions) {
    if (all)
      g_ptr_array_unref(all);
    stance_store_close(store);
    return cli_gerror(SUB, error);
  }
  int status = CLI_EXIT_OK;
  SessionCount *counts = g_new0(SessionCount, all->len ? all->len : 1);
  for (guint s = 0; s < sessions->len; s++) {
    const StanceSession *ss = sessions->pdata[s];
    for (guint k = 0; k < all->len; k++)
      if (((StanceAthlete *)all->pdata[k])->id == ss->athlete_id) {
        counts[k].n++;
        counts[k].last_ms = MAX(counts[k].last_ms, ss->started_unix_ms);
      }
  }
  if (o->json) {
    StanceJson *j = stance_json_new(stdout, true);
    stance_json_begin_object(j);
    stance_json_kv_int(j, "stance_cli_athletes", ATHLETE_JSON_VERSION);
    stance_json_key(j, "athletes");
    stance_json_begin_array(j);
    for (guint k = 0; k < all->len; k++) {
      const StanceAthlete *a = all->pdata[k];
      stance_json_begin_object(j);
      stance_json_kv_int(j, "id", a->id);
      stance_json_kv_string(j, "uuid", a->uuid);
      cli_json_kv_text(j, "name", a->name);
      cli_json_kv_nullable(j, "birth_date", a->birth_date);
      stance_json_kv_string(j, "sex", stance_sex_name(a->sex));
      cli_json_kv_nullable(j, "dominant", limb_json(a->dominant));
      cli_json_kv_nullable(j, "involved", limb_json(a->involved));
      stance_json_kv_bool(j, "pseudonymised", a->pseudonymised);
      stance_json_kv_int(j, "sessions", counts[k].n);
      stance_json_end_object(j);
    }
    stance_json_end_array(j);
    stance_json_end_object(j);
    status = cli_json_end(SUB, j);
  } else if (all->len == 0) {
    printf("No athletes in %s yet (stance-cli athlete add NAME adds one).\n",
           stance_store_path(store));
  } else {
    int w = 4;
    for (guint k = 0; k < all->len; k++) {
      const char *nm = ((StanceAthlete *)all->pdata[k])->name;
      int len = g_utf8_validate(nm, -1, NULL) ? (int)g_utf8_strlen(nm, -1) : (int)strlen(nm);
      w = MAX(w, MIN(len, 40));
    }
    printf("%6s  ", "ID");
    put_padded(stdout, "NAME", w);
    printf("  %-10s  %-6s  %-8s  %-8s  %8s  %s\n", "BORN", "SEX", "DOMINANT", "INVOLVED",
           "SESSIONS", "LAST SESSION");
    for (guint k = 0; k < all->len; k++) {
      const StanceAthlete *a = all->pdata[k];
      printf("%6" G_GINT64_FORMAT "  ", a->id);
      put_padded(stdout, a->name, w);
      printf("  %-10s  %-6s  %-8s  %-8s  %8d  %s\n", a->birth_date[0] ? a->birth_date : "-",
             a->sex == STANCE_SEX_UNKNOWN ? "-" : stance_sex_name(a->sex), limb_text(a->dominant),
             limb_text(a->involved), counts[k].n,
             counts[k].n ? cli_time_text(counts[k].last_ms) : "-");
    }
  }
  g_free(counts);
  g_ptr_array_unref(sessions);
  g_ptr_array_unref(all);
  stance_store_close(store);
  return status;
}

/* ---- show ---- */

static int
show_json(const StanceAthlete *a, const GArray *masses, const GPtrArray *sessions)
{
  StanceJson *j = stance_json_new(stdout, true);
  stance_json_begin_object(j);
  stance_json_kv_int(j, "stance_cli_athlete", ATHLETE_JSON_VERSION);
  stance_json_key(j, "athlete");
  stance_json_begin_object(j);
  stance_json_kv_int(j, "id", a->id);
  stance_json_kv_string(j, "uuid", a->uuid);
  cli_json_kv_text(j, "name", a->name);
  cli_json_kv_nullable(j, "birth_date", a->birth_date);
  stance_json_kv_string(j, "sex", stance_sex_name(a->sex));
  cli_json_kv_nullable(j, "dominant", limb_json(a->dominant));
  cli_json_kv_nullable(j, "involved", limb_json(a->involved));
  cli_json_kv_nullable(j, "injury_date", a->injury_date);
  cli_json_kv_nullable(j, "injury_notes", a->injury_notes);
  stance_json_kv_bool(j, "pseudonymised", a->pseudonymised);
  stance_json_kv_int(j, "created_unix_ms", a->created_unix_ms);
  stance_json_key(j, "masses");
  stance_json_begin_array(j);
  for (guint k = 0; k < masses->len; k++) {
    const StanceMassEntry *m = &g_array_index(masses, StanceMassEntry, k);
    stance_json_begin_object(j);
    stance_json_kv_int(j, "measured_unix_ms", m->measured_unix_ms);
    stance_json_kv_number(j, "mass_kg", m->mass_kg);
    stance_json_kv_string(j, "source", m->source);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_key(j, "sessions");
  stance_json_begin_array(j);
  for (guint k = 0; k < sessions->len; k++) {
    const StanceSession *s = sessions->pdata[k];
    stance_json_begin_object(j);
    stance_json_kv_int(j, "id", s->id);
    stance_json_kv_int(j, "started_unix_ms", s->started_unix_ms);
    stance_json_kv_int(j, "trials", s->n_trials);
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_end_object(j);
  stance_json_end_object(j);
  return cli_json_end(SUB, j);
}

static void
show_text(const StanceAthlete *a, const GArray *masses, const GPtrArray *sessions)
{
  printf("Athlete %" G_GINT64_FORMAT ": %s\n", a->id, a->name);
  printf("  %-16s%s\n", "uuid", a->uuid);
  if (a->birth_date[0]) {
    int age = age_at(a->birth_date, g_get_real_time() / 1000);
    if (a->pseudonymised)
      printf("  %-16sborn %.4s (pseudonymised: the year only)\n", "birth", a->birth_date);
    else if (age >= 0)
      printf("  %-16s%s (age %d)\n", "birth", a->birth_date, age);
    else
      printf("  %-16s%s\n", "birth", a->birth_date);
  } else {
    printf("  %-16s-\n", "birth");
  }
  printf("  %-16s%s\n", "sex", a->sex == STANCE_SEX_UNKNOWN ? "-" : stance_sex_name(a->sex));
  printf("  %-16s%s\n", "dominant limb", limb_text(a->dominant));
  printf("  %-16s%s\n", "involved limb",
         a->involved == STANCE_SIDE_BOTH ? "none" : limb_text(a->involved));
  if (a->injury_date[0])
    printf("  %-16s%s\n", "injury date", a->injury_date);
  if (a->injury_notes)
    printf("  %-16s%s\n", "injury notes", a->injury_notes);
  if (a->pseudonymised)
    printf("  %-16syes (imported from a pseudonymised bundle)\n", "pseudonymised");
  printf("  %-16s%s\n", "added", cli_time_text(a->created_unix_ms));
  if (masses->len > 0) {
    const StanceMassEntry *m = &g_array_index(masses, StanceMassEntry, masses->len - 1);
    printf("  %-16s%s kg (%s, %s)\n", "body mass", cli_num(m->mass_kg, 1),
           cli_time_text(m->measured_unix_ms), m->source);
  } else {
    printf("  %-16s-\n", "body mass");
  }
  if (masses->len > 0) {
    printf("\nBody mass history (oldest first)\n");
    for (guint k = 0; k < masses->len; k++) {
      const StanceMassEntry *m = &g_array_index(masses, StanceMassEntry, k);
      printf("  %s  %7s kg  %s\n", cli_time_text(m->measured_unix_ms), cli_num(m->mass_kg, 1),
             m->source);
    }
  }
  printf("\nSessions (newest first)\n");
  if (sessions->len == 0)
    printf("  none yet (stance-cli record --athlete %" G_GINT64_FORMAT " ... records one)\n",
           a->id);
  else
    printf("  %6s  %-16s  %6s\n", "ID", "DATE", "TRIALS");
  for (guint k = 0; k < sessions->len; k++) {
    const StanceSession *s = sessions->pdata[k];
    printf("  %6" G_GINT64_FORMAT "  %-16s  %6d\n", s->id, cli_time_text(s->started_unix_ms),
           s->n_trials);
  }
}

static int
do_show(const AthleteOptions *o, const char *key)
{
  StanceStore *store = cli_store_open(SUB, o->db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  StanceAthlete a;
  stance_athlete_init(&a);
  int status = CLI_EXIT_OK;
  GError *error = NULL;
  GArray *masses = NULL;
  GPtrArray *sessions = NULL;
  if (!cli_find_athlete(SUB, store, key, &a)) {
    status = CLI_EXIT_INPUT;
  } else if (!(masses = stance_store_athlete_masses(store, a.id, &error)) ||
             !(sessions = stance_store_session_list(store, a.id, &error))) {
    status = cli_gerror(SUB, error);
  } else if (o->json) {
    status = show_json(&a, masses, sessions);
  } else {
    show_text(&a, masses, sessions);
  }
  if (masses)
    g_array_unref(masses);
  if (sessions)
    g_ptr_array_unref(sessions);
  stance_athlete_clear(&a);
  stance_store_close(store);
  return status;
}

/* ---- edit ---- */

static int
do_edit(const AthleteOptions *o, const char *key)
{
  if (!o->first_detail)
    return cli_usage_error(SUB, "athlete edit: nothing to change (expected at least one of "
                                "--name, --birth, --sex, --dominant, --involved, --no-involved, "
                                "--injury-date, --injury-notes or --mass)");
  if (o->name && !*o->name)
    return cli_usage_error(SUB, "--name: empty (expected the athlete's new name)");
  StanceStore *store = cli_store_open(SUB, o->db, STANCE_STORE_DEFAULT);
  if (!store)
    return CLI_EXIT_INPUT;
  StanceAthlete a;
  stance_athlete_init(&a);
  int status = CLI_EXIT_OK;
  GError *error = NULL;
  if (!cli_find_athlete(SUB, store, key, &a)) {
    status = CLI_EXIT_INPUT;
    goto done;
  }
  char *old_name = g_strdup(a.name);
  apply_details(o, &a);
  if (!validate(&a)) {
    g_free(old_name);
    status = CLI_EXIT_USAGE;
    goto done;
  }
  if (!stance_store_athlete_update(store, &a, &error)) {
    g_free(old_name);
    status = cli_gerror(SUB, error);
    goto done;
  }
  if (o->has_mass) {
    StanceMassEntry m;
    memset(&m, 0, sizeof m);
    m.measured_unix_ms = g_get_real_time() / 1000;
    m.mass_kg = o->mass_kg;
    g_strlcpy(m.source, "entered", sizeof m.source);
    if (!stance_store_athlete_add_mass(store, a.id, &m, &error)) {
      g_free(old_name);
      status = cli_gerror(SUB, error);
      goto done;
    }
  }
  if (strcmp(old_name, a.name) != 0)
    printf("Updated athlete %" G_GINT64_FORMAT ": %s (was %s)\n", a.id, a.name, old_name);
  else
    printf("Updated athlete %" G_GINT64_FORMAT ": %s\n", a.id, a.name);
  if (o->has_mass)
    printf("  body mass %s kg added to the history\n", cli_num(o->mass_kg, 1));
  g_free(old_name);
done:
  stance_athlete_clear(&a);
  stance_store_close(store);
  return status;
}

int
cli_athlete_main(int argc, char **argv)
{
  AthleteOptions o;
  memset(&o, 0, sizeof o);
  char **args = NULL;
  int n_args = 0;
  int status = parse_options(argc, argv, &o, &args, &n_args);
  if (status != CLI_EXIT_OK)
    return status < 0 ? CLI_EXIT_OK : status;
  switch (o.act) {
  case ACT_ADD: return do_add(&o, args[0]);
  case ACT_LIST: return do_list(&o);
  case ACT_SHOW: return do_show(&o, args[0]);
  case ACT_EDIT: return do_edit(&o, args[0]);
  }
  return CLI_EXIT_USAGE;
}
