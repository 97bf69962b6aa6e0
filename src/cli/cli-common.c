/* cli-common.c: shared helpers of stance-cli (see cli-common.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "cli-common.h"

#include "stance-atomic.h"

#include "stance-file.h"
#include "stance-utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ======================================================================================
 * Messages
 * ====================================================================================== */

static void
verror(const char *sub, const char *fmt, va_list ap)
{
  fflush(stdout);
  if (sub && *sub)
    fprintf(stderr, "stance-cli %s: ", sub);
  else
    fputs("stance-cli: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
}

void
cli_error(const char *sub, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  verror(sub, fmt, ap);
  va_end(ap);
}

int
cli_usage_error(const char *sub, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  verror(sub, fmt, ap);
  va_end(ap);
  if (sub && *sub)
    fprintf(stderr, "Try 'stance-cli %s --help' for the options.\n", sub);
  else
    fputs("Try 'stance-cli --help' for the subcommands.\n", stderr);
  return CLI_EXIT_USAGE;
}

int
cli_getopt_error(const char *sub, int c, char **argv)
{
  extern int optind, optopt;
  /* getopt_long() has already advanced optind past the offending element. */
  const char *arg = optind > 0 ? argv[optind - 1] : "";
  if (c == ':') {
    if (optopt && !(arg[0] == '-' && arg[1] == '-'))
      return cli_usage_error(sub, "option '-%c' needs a value", optopt);
    return cli_usage_error(sub, "option '%s' needs a value", arg);
  }
  if (optopt && !(arg[0] == '-' && arg[1] == '-'))
    return cli_usage_error(sub, "unknown option '-%c'", optopt);
  /* A long option: show it without any "=value" part. */
  const char *eq = strchr(arg, '=');
  int len = eq ? (int)(eq - arg) : (int)strlen(arg);
  if (optopt)
    return cli_usage_error(sub, "option '%.*s' takes no value", len, arg);
  return cli_usage_error(sub, "unknown option '%.*s'", len, arg);
}

/* ======================================================================================
 * Option values
 * ====================================================================================== */

bool
cli_parse_double(const char *s, double *out)
{
  if (!s || !*s)
    return false;
  /* main() keeps LC_NUMERIC at "C", so strtod() takes a dot. Refuse a comma explicitly so that
   * "1,5" is an error rather than 1. */
  for (const char *q = s; *q; q++)
    if (*q == ',')
      return false;
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
    return false;
  *out = v;
  return true;
}

bool
cli_parse_long(const char *s, long min, long max, long *out)
{
  if (!s || !*s)
    return false;
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end != '\0' || errno == ERANGE || v < min || v > max)
    return false;
  *out = v;
  return true;
}

bool
cli_parse_protocol(const char *sub, const char *opt, const char *s, StanceProtocol *out)
{
  StanceProtocol p = stance_protocol_from_name(s);
  if (p == STANCE_PROTO_UNKNOWN) {
    cli_error(sub, "%s: '%s' is not a protocol Stance knows; expected one of:", opt, s);
    cli_print_protocols(stderr, 2);
    fprintf(stderr, "Try 'stance-cli %s --help' for the options.\n", sub);
    return false;
  }
  *out = p;
  return true;
}

bool
cli_parse_side(const char *sub, const char *opt, const char *s, bool allow_both, StanceSide *out)
{
  StanceSide side;
  if (!stance_side_from_name(s, &side) || (!allow_both && side == STANCE_SIDE_BOTH)) {
    cli_usage_error(sub, "%s: '%s' is not a side (expected %s)", opt, s,
                    allow_both ? "left, right or both" : "left or right");
    return false;
  }
  *out = side;
  return true;
}

void
cli_print_protocols(FILE *out, int indent)
{
  for (int p = 1; p < STANCE_PROTO_COUNT; p++) {
    const StanceProtocolInfo *info = stance_protocol_info((StanceProtocol)p);
    if (!info)
      continue;
    const char *side = info->needs_side    ? "one side: --side/--front left|right"
                       : info->allows_side ? "bilateral, or one side with --side"
                                           : "bilateral";
    fprintf(out, "%*s%-16s %-32s %s\n", indent, "", info->name, info->title, side);
  }
}

/* ======================================================================================
 * Simulator options
 * ====================================================================================== */

const CliSimOption cli_sim_options[CLI_N_SIM_OPTIONS] = {
    {"side", false, false},     {"front", false, false},       {"reps", false, true},
    {"sets", false, true},      {"asymmetry", false, true},    {"asym-force", false, true},
    {"asym-rfd", false, true},  {"asym-impulse", false, true}, {"weaker", false, true},
    {"body-mass", false, true}, {"load", false, true},         {"fatigue", false, true},
    {"tempo", false, true},     {"duration", false, false},    {"rate", false, false},
    {"noise", false, true},     {"cell-noise", false, true},   {"mains", false, true},
    {"hum", false, true},       {"drift", false, true},        {"saturate", true, false},
    {"no-still", true, true},   {"foot-left", false, true},    {"foot-right", false, true},
    {"no-warmup", true, true},  {"rest", false, true},         {"seed", false, true},
};

/* CLI option name -> simulator parameter key where they differ. */
typedef struct {
  const char *option;
  const char *key;
} SimKeyMap;

static const SimKeyMap sim_key_map[] = {
    {"noise", "adc-noise"}, {"hum", "mains-amp"}, {"no-warmup", "warmup"}, /* with value "false" */
};

size_t
cli_sim_longopts(struct option *opts, bool stream_only)
{
  size_t n = 0;
  for (size_t k = 0; k < CLI_N_SIM_OPTIONS; k++) {
    if (stream_only && !cli_sim_options[k].stream)
      continue;
    opts[n++] = (struct option){cli_sim_options[k].name,
                                cli_sim_options[k].flag ? no_argument : required_argument, NULL,
                                CLI_SIM_OPT_BASE + (int)k};
  }
  return n;
}

const char *
cli_sim_key(const char *option)
{
  for (size_t k = 0; k < sizeof sim_key_map / sizeof sim_key_map[0]; k++)
    if (strcmp(sim_key_map[k].option, option) == 0)
      return sim_key_map[k].key;
  return option;
}

bool
cli_sim_is_flag(const char *option)
{
  for (size_t k = 0; k < CLI_N_SIM_OPTIONS; k++)
    if (strcmp(cli_sim_options[k].name, option) == 0)
      return cli_sim_options[k].flag;
  return false;
}

int
cli_settings_add(CliSettings *s, const char *key, const char *value, const char *where)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 32;
    CliSetting *q = realloc(s->v, cap * sizeof *q);
    if (!q)
      return STANCE_ENOMEM;
    s->v = q;
    s->cap = cap;
  }
  CliSetting *e = &s->v[s->n];
  e->key = strdup(key);
  e->value = value ? strdup(value) : NULL;
  e->where = strdup(where);
  if (!e->key || (value && !e->value) || !e->where) {
    free(e->key);
    free(e->value);
    free(e->where);
    return STANCE_ENOMEM;
  }
  s->n++;
  return STANCE_OK;
}

void
cli_settings_free(CliSettings *s)
{
  for (size_t k = 0; k < s->n; k++) {
    free(s->v[k].key);
    free(s->v[k].value);
    free(s->v[k].where);
  }
  free(s->v);
  memset(s, 0, sizeof *s);
}

int
cli_sim_collect(const char *sub, CliSettings *s, int c, const char *optarg_value)
{
  const char *name = cli_sim_options[c - CLI_SIM_OPT_BASE].name;
  char where[64];
  snprintf(where, sizeof where, "--%s: ", name);
  const char *value = optarg_value;
  if (strcmp(name, "no-warmup") == 0)
    value = "false";
  if (cli_settings_add(s, cli_sim_key(name), value, where) < 0) {
    cli_error(sub, "out of memory");
    return CLI_EXIT_INPUT;
  }
  return CLI_EXIT_OK;
}

int
cli_sim_apply(const char *sub, const CliSettings *s, StanceSimParams *p)
{
  StanceError err;
  stance_error_clear(&err);
  for (size_t k = 0; k < s->n; k++) {
    if (stance_sim_params_set(p, s->v[k].key, s->v[k].value, &err) < 0) {
      /* The simulator's message starts with its key; the option name is already in `where`. */
      const char *msg = err.message;
      size_t len = strcspn(msg, ":");
      if (msg[len] == ':' && len < 32)
        msg += len + 1 + (msg[len + 1] == ' ');
      cli_error(sub, "%s%s", s->v[k].where, msg);
      fprintf(stderr, "Try 'stance-cli %s --help' for the options.\n", sub);
      return CLI_EXIT_USAGE;
    }
  }
  return CLI_EXIT_OK;
}

void
cli_sim_print_error(const char *sub, const char *where, const StanceError *err, bool dashes)
{
  const char *dd = dashes ? "--" : "";
  const char *msg = err->message;
  for (size_t k = 0; k < sizeof sim_key_map / sizeof sim_key_map[0]; k++) {
    size_t len = strlen(sim_key_map[k].key);
    if (strncmp(msg, sim_key_map[k].key, len) == 0 && msg[len] == ':' &&
        strcmp(sim_key_map[k].option, "no-warmup") != 0) {
      cli_error(sub, "%s%s%s%s", where, dd, sim_key_map[k].option, msg + len);
      return;
    }
  }
  /* Keys equal to option names: add the dashes when the message starts with "key:". */
  size_t len = strcspn(msg, ": ");
  if (len > 0 && msg[len] == ':' && len < 32) {
    cli_error(sub, "%s%s%s", where, dd, msg);
    return;
  }
  cli_error(sub, "%s%s", where, msg);
}

/* ======================================================================================
 * Number formatting
 * ====================================================================================== */

static char *
put_u64(char *p, uint64_t v)
{
  char tmp[24];
  int k = 0;
  do {
    tmp[k++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (k)
    *p++ = tmp[--k];
  return p;
}

size_t
cli_fmt(char *buf, size_t n, double v, int decimals)
{
  static const uint64_t p10[] = {1ull,
                                 10ull,
                                 100ull,
                                 1000ull,
                                 10000ull,
                                 100000ull,
                                 1000000ull,
                                 10000000ull,
                                 100000000ull,
                                 1000000000ull,
                                 10000000000ull,
                                 100000000000ull,
                                 1000000000000ull,
                                 10000000000000ull,
                                 100000000000000ull,
                                 1000000000000000ull};
  char tmp[400];
  char *p = tmp;
  if (decimals < 0)
    decimals = 0;
  if (decimals > 15)
    decimals = 15;
  if (!isfinite(v)) {
    memcpy(tmp, "n/a", 3);
    p = tmp + 3;
  } else {
    /* Fewer decimals for large values so that the scaled value fits an integer exactly. */
    while (decimals > 0 && fabs(v * (double)p10[decimals]) >= 9.0e15)
      decimals--;
    double scaled = v * (double)p10[decimals];
    if (fabs(scaled) < 9.0e15) {
      /* Integers only from here: no locale can change a digit or the point. */
      long long q = llround(scaled);
      uint64_t a = q < 0 ? (uint64_t)(-q) : (uint64_t)q;
      if (q < 0)
        *p++ = '-';
      p = put_u64(p, a / p10[decimals]);
      if (decimals > 0) {
        *p++ = '.';
        uint64_t frac = a % p10[decimals];
        for (int d = decimals - 1; d >= 0; d--)
          *p++ = (char)('0' + (frac / p10[d]) % 10);
      }
    } else {
      /* Beyond 9e15: "%.0f" has no decimal point in any locale, and the double has no
       * fractional digits at this size anyway. At most 309 digits: tmp holds them. */
      int k = snprintf(tmp, sizeof tmp, "%.0f", v);
      p = tmp + (k > 0 && (size_t)k < sizeof tmp ? k : 0);
    }
  }
  size_t len = (size_t)(p - tmp);
  if (n > 0) {
    size_t c = len < n - 1 ? len : n - 1;
    memcpy(buf, tmp, c);
    buf[c] = '\0';
  }
  return len;
}

#define RING 32
static char ring[RING][48];
static unsigned ring_next;

const char *
cli_num(double v, int decimals)
{
  char *b = ring[ring_next++ % RING];
  cli_fmt(b, sizeof ring[0], v, decimals);
  return b;
}

const char *
cli_num_trim(double v, int max_decimals)
{
  char *b = ring[ring_next++ % RING];
  cli_fmt(b, sizeof ring[0], v, max_decimals);
  char *dot = strchr(b, '.');
  if (dot) {
    char *e = b + strlen(b) - 1;
    while (e > dot && *e == '0')
      *e-- = '\0';
    if (e == dot)
      *e = '\0';
  }
  return b;
}

const char *
cli_size(size_t v)
{
  char *b = ring[ring_next++ % RING];
  *put_u64(b, (uint64_t)v) = '\0';
  return b;
}

/* ======================================================================================
 * Files
 * ====================================================================================== */

static const char *
last_component(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

char *
cli_replace_ext(const char *path, const char *ext)
{
  const char *base = last_component(path);
  const char *dot = strrchr(base, '.');
  size_t keep = (dot && dot != base) ? (size_t)(dot - path) : strlen(path);
  size_t elen = strlen(ext);
  char *s = malloc(keep + elen + 1);
  if (!s)
    return NULL;
  memcpy(s, path, keep);
  memcpy(s + keep, ext, elen + 1);
  return s;
}

char *
cli_stem(const char *path)
{
  const char *base = last_component(path);
  const char *dot = strrchr(base, '.');
  size_t len = (dot && dot != base) ? (size_t)(dot - base) : strlen(base);
  char *s = malloc(len + 1);
  if (!s)
    return NULL;
  memcpy(s, base, len);
  s[len] = '\0';
  return s;
}

bool
cli_has_suffix(const char *path, const char *suffix)
{
  size_t a = strlen(path), b = strlen(suffix);
  return a >= b && strcasecmp(path + a - b, suffix) == 0;
}

bool
cli_same_file(const char *a, const char *b)
{
  struct stat sa, sb;
  if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
    return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int
cli_out_open(CliOut *o, const char *path, StanceError *err)
{
  StanceAtomicFile f;
  int r = stance_atomic_open(&f, path, err);
  o->fp = f.fp;
  o->path = f.path;
  o->tmp_path = f.tmp_path;
  return r;
}

int
cli_out_commit(CliOut *o, StanceError *err)
{
  StanceAtomicFile f = {.fp = o->fp, .path = o->path, .tmp_path = o->tmp_path};
  o->fp = NULL;
  o->path = o->tmp_path = NULL;
  return stance_atomic_commit(&f, err);
}

void
cli_out_abort(CliOut *o)
{
  StanceAtomicFile f = {.fp = o->fp, .path = o->path, .tmp_path = o->tmp_path};
  o->fp = NULL;
  o->path = o->tmp_path = NULL;
  stance_atomic_abort(&f);
}

/* ======================================================================================
 * JSON text
 * ====================================================================================== */

void
cli_json_kv_text(StanceJson *j, const char *key, const char *s)
{
  size_t n = 3 * strlen(s ? s : "") + 1;
  char *buf = malloc(n);
  stance_json_kv_string(j, key, buf ? stance_utf8_clean(s, buf, n) : "");
  free(buf);
}

/* ======================================================================================
 * Recording helpers
 * ====================================================================================== */

const char *
cli_channel_name(const StanceRecording *rec, int channel)
{
  static const char *const cells[STANCE_N_CELLS] = {"l1", "l2", "l3", "l4", "r1", "r2", "r3", "r4"};
  switch (rec->layout) {
  case STANCE_LAYOUT_CELLS: return channel >= 0 && channel < 8 ? cells[channel] : "?";
  case STANCE_LAYOUT_PLATES: return channel == 0 ? "left" : channel == 1 ? "right" : "?";
  case STANCE_LAYOUT_COMBINED: return channel == 0 ? "total" : "?";
  default: return "?";
  }
}

const char *
cli_asym_text(char *buf, size_t n, double left, double right)
{
  /* Only two positive amounts of the same quality can be compared this way. */
  if (!isfinite(left) || !isfinite(right) || left <= 0.0 || right <= 0.0) {
    snprintf(buf, n, "n/a");
    return buf;
  }
  double strong = fmax(left, right), weak = fmin(left, right);
  double pct = (strong - weak) / strong * 100.0;
  char num[48];
  cli_fmt(num, sizeof num, pct, 1);
  if (strcmp(num, "0.0") == 0)
    snprintf(buf, n, "0.0 %% (even)");
  else
    snprintf(buf, n, "%s %% (%s stronger)", num, left > right ? "left" : "right");
  return buf;
}

/* ---- Loading recordings ---- */

int
cli_load(const char *path, const StanceImportOptions *iopt, CliLoaded *ld, StanceError *err)
{
  memset(ld, 0, sizeof *ld);
  struct stat sb;
  if (stat(path, &sb) != 0)
    return stance_error_set(err, STANCE_EIO, "cannot open %s: %s", path, strerror(errno));
  if (S_ISDIR(sb.st_mode))
    return stance_error_set(err, STANCE_EIO,
                            "%s is a folder (expected a .stance recording or a text file)", path);
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return stance_error_set(err, STANCE_EIO, "cannot open %s: %s", path, strerror(errno));
  /* The .stance magic is checked on the first bytes; 64 is more than any magic needs. */
  uint8_t head[64];
  size_t n = fread(head, 1, sizeof head, fp);
  int bad = ferror(fp);
  fclose(fp);
  if (bad)
    return stance_error_set(err, STANCE_EIO, "cannot read %s", path);
  int r;
  if (stance_file_is_stance(head, n)) {
    ld->is_stance = true;
    if (n >= 12) {
      ld->version_major = (unsigned)head[8] | (unsigned)head[9] << 8;
      ld->version_minor = (unsigned)head[10] | (unsigned)head[11] << 8;
    }
    r = stance_file_read(path, &ld->rec, err);
  } else {
    r = stance_import_text(path, iopt, &ld->imp, err);
  }
  if (r < 0 && err && strstr(err->message, path) == NULL)
    stance_error_prefix(err, "%s: ", path);
  return r;
}

void
cli_unload(CliLoaded *ld)
{
  stance_recording_free(ld->rec);
  ld->rec = NULL;
  if (!ld->is_stance)
    stance_import_result_clear(&ld->imp);
}
