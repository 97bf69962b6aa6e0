/* stance-c3d.c: C3D writer and reader (see stance-c3d.h and docs/formats.md, "C3D").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Layout of a C3D file, as the C3D User Guide (c3d.org) defines it:
 *
 *   block 1        header: 256 16-bit words (byte 0: first parameter block, byte 1: key 0x50)
 *   block p..      parameter section: 4 bytes (reserved, reserved, number of blocks, processor
 *                  type), then records. A record starts with a signed name length (negative:
 *                  locked) and a signed id (negative: a group, positive: a parameter of that
 *                  group), the name, and a 16-bit offset from that offset field to the next record
 *                  (0: last record). Groups then hold a description; parameters a type (-1 char,
 *                  1 byte, 2 int16, 4 float), dimensions, data (first dimension varies fastest)
 *                  and a description.
 *   block d..      data: per frame, POINT:USED points of 4 values (x, y, z, residual/cameras),
 *                  then analog samples x channels values, sample-major; int16 when POINT:SCALE is
 *                  positive, floats when it is negative.
 *
 * Numbers follow the processor type: Intel (little-endian, IEEE), DEC (little-endian 16-bit
 * words; floats are VAX F-floats: the two 16-bit halves swapped and an exponent bias of 128
 * with a 0.1xxx mantissa, i.e. 1/4 of the IEEE value of the swapped bytes) or MIPS (big-endian).
 *
 * The reader never trusts a count or an offset before checking it against the buffer: every
 * record is bounded by the parameter section and by its own next-record pointer, and the data
 * section's size is checked against the file before anything is allocated for it.
 */
#include "stance-c3d.h"

#include "stance-atomic.h"

#include "stance-bytes.h"
#include "stance-config.h"
#include "stance-protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
  BLOCK = STANCE_C3D_BLOCK_SIZE,
  C3D_KEY = 0x50,
  EVENT_KEY = 12345,
  MAX_PARAM_BLOCKS = 255,
  MAX_DIM = 255,
};

/* ======================================================================================== */
/* Numbers in the three processor formats                                                   */
/* ======================================================================================== */

static uint16_t
get_u16(const uint8_t *p, StanceC3dProcessor proc)
{
  return proc == STANCE_C3D_MIPS ? stance_get_be16(p) : stance_get_le16(p);
}

static int16_t
get_i16(const uint8_t *p, StanceC3dProcessor proc)
{
  return (int16_t)get_u16(p, proc);
}

/* A 4-byte float as a double. DEC: bytes b0 b1 b2 b3 hold the words (b1 b0) = sign, 8-bit
 * exponent, high 7 mantissa bits and (b3 b2) = low 16 mantissa bits; value = 0.1m x 2^(e-128).
 * Computed with ldexp so that the largest DEC exponents (which have no IEEE single equivalent)
 * come out right. An exponent of 0 is zero (the "reserved operand" with the sign set, too). */
static double
get_f32(const uint8_t *p, StanceC3dProcessor proc)
{
  if (proc == STANCE_C3D_DEC) {
    uint32_t w0 = stance_get_le16(p), w1 = stance_get_le16(p + 2);
    int e = (int)((w0 >> 7) & 0xff);
    if (e == 0)
      return 0.0;
    uint32_t frac = (w0 & 0x7f) << 16 | w1;
    double v = ldexp((double)(0x800000u | frac), e - 152);
    return (w0 & 0x8000) ? -v : v;
  }
  uint32_t u = proc == STANCE_C3D_MIPS ? stance_get_be32(p) : stance_get_le32(p);
  return (double)stance_bits_f32(u);
}

static void
put_u16_at(uint8_t *p, unsigned v, StanceC3dProcessor proc)
{
  if (proc == STANCE_C3D_MIPS)
    stance_put_be16(p, (uint16_t)v);
  else
    stance_put_le16(p, (uint16_t)v);
}

/* The float f (already a finite float whose DEC exponent fits: the writer checks) in proc's
 * format. */
static void
put_f32_at(uint8_t *p, float f, StanceC3dProcessor proc)
{
  if (proc == STANCE_C3D_DEC) {
    memset(p, 0, 4);
    if (f == 0.0f)
      return;
    int e;
    double m = frexp(fabs((double)f), &e); /* 0.5 <= m < 1: exactly DEC's 0.1xxx mantissa */
    if (e + 128 < 1)
      return;                               /* below DEC's smallest number (2.9e-39): stored as 0 */
    uint32_t mant = (uint32_t)ldexp(m, 24); /* exact: a float has 24 significant bits */
    uint32_t w0 = (f < 0 ? 0x8000u : 0u) | (uint32_t)(e + 128) << 7 | ((mant >> 16) & 0x7f);
    uint32_t w1 = mant & 0xffff;
    stance_put_le16(p, (uint16_t)w0);
    stance_put_le16(p + 2, (uint16_t)w1);
    return;
  }
  if (proc == STANCE_C3D_MIPS)
    stance_put_be32(p, stance_f32_bits(f));
  else
    stance_put_le32(p, stance_f32_bits(f));
}

/* True when v can be stored as a float in proc's format without overflow. DEC floats reach
 * 1.7e38 but have no denormals; tiny values are stored as 0 there, which is harmless. */
static bool
float_fits(double v, StanceC3dProcessor proc)
{
  if (!isfinite(v))
    return false;
  if (proc == STANCE_C3D_DEC)
    return fabs(v) < 1.0e38;
  return fabs(v) <= FLT_MAX;
}

/* ======================================================================================== */
/* Reader                                                                                   */
/* ======================================================================================== */

typedef struct {
  char *name;
  char *desc;
  int id; /* 1..128 */
  bool locked;
  size_t offset;
  size_t n_params;
} Group;

typedef struct {
  StanceC3dParam pub;
  int group_id;
  char *name;
  char *desc;
  double *values;
  char **strings;
} Param;

typedef struct {
  StanceC3dPlatform info;
  int code; /* 0 when the platform is usable */
  char message[400];
} Platform;

struct StanceC3d {
  StanceC3dHeader header;
  Group *groups;
  size_t n_groups, cap_groups;
  Param *params;
  size_t n_params, cap_params;
  size_t n_frames, spf, n_channels, n_samples;
  double analog_rate;
  double *analog;               /* channel-major: analog[ch * n_samples + i] */
  const char **labels, **units; /* point into params (or ""), n_channels each */
  Platform *plat;
  int n_plat;
};

static char *
dup_n(const uint8_t *s, size_t n)
{
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

/* Removes trailing blanks and NULs (C3D pads strings with blanks). */
static void
rstrip(char *s)
{
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0'))
    s[--n] = '\0';
}

static void
param_clear(Param *p)
{
  free(p->name);
  free(p->desc);
  free(p->values);
  if (p->strings)
    for (size_t i = 0; i < p->pub.n_values; i++)
      free(p->strings[i]);
  free(p->strings);
}

void
stance_c3d_free(StanceC3d *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->n_groups; i++) {
    free(c->groups[i].name);
    free(c->groups[i].desc);
  }
  free(c->groups);
  for (size_t i = 0; i < c->n_params; i++)
    param_clear(&c->params[i]);
  free(c->params);
  free(c->analog);
  free(c->labels);
  free(c->units);
  free(c->plat);
  free(c);
}

static const Group *
group_by_id(const StanceC3d *c, int id)
{
  for (size_t i = 0; i < c->n_groups; i++)
    if (c->groups[i].id == id)
      return &c->groups[i];
  return NULL;
}

static const Param *
find_param(const StanceC3d *c, const char *group, const char *name)
{
  for (size_t i = 0; i < c->n_params; i++) {
    const Param *p = &c->params[i];
    if (strcasecmp(p->name, name) == 0 && strcasecmp(p->pub.group, group) == 0)
      return p;
  }
  return NULL;
}

/* A parameter number as an int, clamped: a REAL parameter can hold any float, and converting
 * an out-of-range double to int is undefined. */
static int
clamp_int(double v)
{
  if (!(v > -1e9))
    return -1000000000;
  return v > 1e9 ? 1000000000 : (int)v;
}

/* First value of a count that C3D stores in a signed 16-bit INT but means as unsigned
 * (POINT:USED, ANALOG:USED): -1 reads as 65535. */
static int
count16(const Param *p)
{
  double v = p->values[0];
  if (p->pub.type == STANCE_C3D_INT && v < 0)
    v += 65536.0;
  return clamp_int(v);
}

/* A printable-ASCII name of n bytes at s, or an error naming the bad byte. */
static int
check_name(const uint8_t *s, size_t n, size_t at, const char *what, StanceError *err)
{
  if (n == 0)
    return stance_error_set(err, STANCE_EFORMAT,
                            "parameter section, byte %zu: %s has an empty name", at, what);
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] > 0x7e)
      return stance_error_set(err, STANCE_EFORMAT,
                              "parameter section, byte %zu: %s name holds byte 0x%02x (expected "
                              "printable ASCII such as FORCE_PLATFORM)",
                              at + i, what, s[i]);
  return STANCE_OK;
}

static int
grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
  if (need <= *cap)
    return STANCE_OK;
  size_t n = *cap ? *cap * 2 : 16;
  while (n < need)
    n *= 2;
  void *q = realloc(*arr, n * elem);
  if (!q)
    return STANCE_ENOMEM;
  memset((char *)q + *cap * elem, 0, (n - *cap) * elem);
  *arr = q;
  *cap = n;
  return STANCE_OK;
}

/* Decodes one parameter's data at q (bytes checked by the caller) into p. */
static int
decode_param_data(Param *p, const uint8_t *d, size_t at, StanceC3dProcessor proc, StanceError *err)
{
  const uint8_t *q = d + at;
  StanceC3dParam *pub = &p->pub;
  if (pub->type == STANCE_C3D_CHAR) {
    size_t len = pub->n_dims == 0 ? 1 : (size_t)pub->dims[0];
    size_t count = 1;
    for (int k = 1; k < pub->n_dims; k++)
      count *= (size_t)pub->dims[k];
    if (len == 0 || pub->n_dims == 0)
      count = len == 0 ? 0 : 1;
    p->strings = calloc(count ? count : 1, sizeof(char *));
    if (!p->strings)
      return stance_error_set(err, STANCE_ENOMEM, "out of memory reading parameter %s", p->name);
    pub->n_values = 0;
    for (size_t i = 0; i < count; i++) {
      p->strings[i] = dup_n(q + i * len, len);
      if (!p->strings[i])
        return stance_error_set(err, STANCE_ENOMEM, "out of memory reading parameter %s", p->name);
      rstrip(p->strings[i]);
      pub->n_values++;
    }
    pub->strings = (const char *const *)p->strings;
    return STANCE_OK;
  }
  size_t count = 1;
  for (int k = 0; k < pub->n_dims; k++)
    count *= (size_t)pub->dims[k];
  p->values = malloc((count ? count : 1) * sizeof(double));
  if (!p->values)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory reading parameter %s", p->name);
  for (size_t i = 0; i < count; i++) {
    double v;
    if (pub->type == STANCE_C3D_BYTE)
      v = q[i];
    else if (pub->type == STANCE_C3D_INT)
      v = get_i16(q + 2 * i, proc);
    else
      v = get_f32(q + 4 * i, proc);
    if (!isfinite(v))
      return stance_error_set(err, STANCE_EFORMAT,
                              "parameter %s (record at byte %zu): value %zu at byte %zu is not a "
                              "finite number",
                              p->name, pub->offset, i + 1, at + i * 4);
    p->values[i] = v;
  }
  pub->n_values = count;
  pub->values = p->values;
  return STANCE_OK;
}

/* Parses the parameter section [ps, pe) of d. */
static int
parse_parameters(StanceC3d *c, const uint8_t *d, size_t ps, size_t pe, StanceC3dProcessor proc,
                 StanceError *err)
{
  size_t pos = ps + 4;
  for (;;) {
    if (pos >= pe || (pos + 1 == pe && d[pos] == 0))
      break; /* the last pointer led exactly to the end of the section */
    if (pos + 2 > pe)
      return stance_error_set(err, STANCE_EFORMAT,
                              "parameter section: the record expected at byte %zu lies past the "
                              "end of the section (byte %zu; %d blocks)",
                              pos, pe, c->header.parameter_blocks);
    int nlen_raw = (int8_t)d[pos];
    int id = (int8_t)d[pos + 1];
    if (nlen_raw == 0 || id == 0)
      break; /* a zero name length or id ends the section */
    bool locked = nlen_raw < 0;
    size_t nlen = (size_t)(nlen_raw < 0 ? -nlen_raw : nlen_raw);
    const char *what = id < 0 ? "a group" : "a parameter";
    if (pos + 2 + nlen + 2 > pe)
      return stance_error_set(err, STANCE_EFORMAT,
                              "parameter section: %s record at byte %zu (name of %zu characters) "
                              "runs past the end of the section at byte %zu",
                              what, pos, nlen, pe);
    int r = check_name(d + pos + 2, nlen, pos + 2, what, err);
    if (r < 0)
      return r;
    size_t pp = pos + 2 + nlen;
    int next = get_i16(d + pp, proc);
    size_t limit;
    if (next == 0)
      limit = pe;
    else if (next < 2 || pp + (size_t)next > pe)
      return stance_error_set(err, STANCE_EFORMAT,
                              "parameter section: record '%.*s' at byte %zu: its pointer to the "
                              "next record (%d, at byte %zu) points to byte %lld, outside the "
                              "section (bytes %zu-%zu)",
                              (int)nlen, (const char *)d + pos + 2, pos, next, pp,
                              (long long)pp + next, ps + 4, pe);
    else
      limit = pp + (size_t)next;
    size_t q = pp + 2;

    if (id < 0) {
      if (q + 1 > limit)
        return stance_error_set(err, STANCE_EFORMAT,
                                "parameter section: group '%.*s' at byte %zu ends before its "
                                "description length (record ends at byte %zu)",
                                (int)nlen, (const char *)d + pos + 2, pos, limit);
      size_t dlen = d[q];
      if (q + 1 + dlen > limit)
        return stance_error_set(err, STANCE_EFORMAT,
                                "parameter section: group '%.*s' at byte %zu: description of %zu "
                                "bytes runs past the record's end at byte %zu",
                                (int)nlen, (const char *)d + pos + 2, pos, dlen, limit);
      int gid = -id;
      if (group_by_id(c, gid))
        return stance_error_set(err, STANCE_EFORMAT,
                                "parameter section: group '%.*s' at byte %zu reuses group id %d "
                                "(expected each group id once)",
                                (int)nlen, (const char *)d + pos + 2, pos, gid);
      if (grow_array((void **)&c->groups, &c->cap_groups, c->n_groups + 1, sizeof(Group)) < 0)
        return stance_error_set(err, STANCE_ENOMEM, "out of memory reading groups");
      Group *g = &c->groups[c->n_groups];
      memset(g, 0, sizeof *g);
      g->name = dup_n(d + pos + 2, nlen);
      g->desc = dup_n(d + q + 1, dlen);
      if (!g->name || !g->desc) {
        free(g->name);
        free(g->desc);
        return stance_error_set(err, STANCE_ENOMEM, "out of memory reading groups");
      }
      rstrip(g->desc);
      g->id = gid;
      g->locked = locked;
      g->offset = pos;
      c->n_groups++;
    } else {
      /* "GROUP:NAME" when the group came first (as it usually does), else the name and id. */
      char qn[300];
      const Group *og = group_by_id(c, id);
      if (og)
        snprintf(qn, sizeof qn, "%s:%.*s", og->name, (int)nlen, (const char *)d + pos + 2);
      else
        snprintf(qn, sizeof qn, "'%.*s' (group id %d)", (int)nlen, (const char *)d + pos + 2, id);
      if (q + 2 > limit)
        return stance_error_set(err, STANCE_EFORMAT,
                                "parameter section: parameter %s at byte %zu ends before its "
                                "type and dimension count (record ends at byte %zu)",
                                qn, pos, limit);
      int type = (int8_t)d[q];
      int ndims = d[q + 1];
      if (type != -1 && type != 1 && type != 2 && type != 4)
        return stance_error_set(err, STANCE_EFORMAT,
                                "parameter section: parameter %s at byte %zu: data type %d at "
                                "byte %zu (expected -1 char, 1 byte, 2 integer or 4 real)",
                                qn, pos, type, q);
      if (ndims > 7)
        return stance_error_set(err, STANCE_EFORMAT,
                                "parameter section: parameter %s at byte %zu: %d dimensions at "
                                "byte %zu (expected 0 to 7)",
                                qn, pos, ndims, q + 1);
      if (q + 2 + (size_t)ndims > limit)
        return stance_error_set(err, STANCE_EFORMAT,
                                "parameter section: parameter %s at byte %zu: its %d "
                                "dimensions run past the record's end at byte %zu",
                                qn, pos, ndims, limit);
      size_t count = 1;
      for (int k = 0; k < ndims; k++)
        count *= d[q + 2 + k]; /* at most 255^7 < 2^56: no overflow */
      size_t esize = (size_t)abs(type);
      size_t dstart = q + 2 + (size_t)ndims;
      if (count > (pe - dstart) / esize || dstart + count * esize > limit) {
        char dims[64] = "";
        size_t dl = 0;
        for (int k = 0; k < ndims && dl < sizeof dims - 8; k++)
          dl += (size_t)snprintf(dims + dl, sizeof dims - dl, "%s%d", k ? "," : "", d[q + 2 + k]);
        return stance_error_set(err, STANCE_EFORMAT,
                                "parameter section: parameter %s at byte %zu: its data (type "
                                "%d, dimensions (%s): %zu bytes from byte %zu) runs past the "
                                "record's end at byte %zu%s",
                                qn, pos, type, dims, count * esize, dstart, limit,
                                limit == pe ? " (the end of the parameter section)" : "");
      }
      size_t dend = dstart + count * esize;
      size_t dlen = 0;
      if (dend < limit) {
        dlen = d[dend];
        if (dend + 1 + dlen > limit)
          return stance_error_set(err, STANCE_EFORMAT,
                                  "parameter section: parameter %s at byte %zu: description "
                                  "of %zu bytes at byte %zu runs past the record's end at byte "
                                  "%zu",
                                  qn, pos, dlen, dend, limit);
      }
      if (grow_array((void **)&c->params, &c->cap_params, c->n_params + 1, sizeof(Param)) < 0)
        return stance_error_set(err, STANCE_ENOMEM, "out of memory reading parameters");
      Param *p = &c->params[c->n_params];
      memset(p, 0, sizeof *p);
      c->n_params++; /* counted now so that stance_c3d_free releases a half-built parameter */
      p->name = dup_n(d + pos + 2, nlen);
      p->desc = dlen ? dup_n(d + dend + 1, dlen) : dup_n((const uint8_t *)"", 0);
      if (!p->name || !p->desc)
        return stance_error_set(err, STANCE_ENOMEM, "out of memory reading parameters");
      rstrip(p->desc);
      p->group_id = id;
      p->pub.name = p->name;
      p->pub.description = p->desc;
      p->pub.locked = locked;
      p->pub.type = (StanceC3dType)type;
      p->pub.n_dims = ndims;
      for (int k = 0; k < ndims; k++)
        p->pub.dims[k] = d[q + 2 + k];
      p->pub.offset = pos;
      r = decode_param_data(p, d, dstart, proc, err);
      if (r < 0)
        return r;
    }
    if (next == 0)
      break;
    pos = limit;
  }

  /* Attach parameters to their groups. */
  for (size_t i = 0; i < c->n_params; i++) {
    Param *p = &c->params[i];
    Group *g = (Group *)group_by_id(c, p->group_id);
    if (!g)
      return stance_error_set(err, STANCE_EFORMAT,
                              "parameter section: parameter '%s' at byte %zu belongs to group id "
                              "%d, which no group record defines",
                              p->name, p->pub.offset, p->group_id);
    p->pub.group = g->name;
    g->n_params++;
  }
  return STANCE_OK;
}

/* Numbers of GROUP:NAME followed by its continuations NAME2, NAME3, ... (the C3D way of holding
 * more than 255 values). *out is malloc'd (NULL and 0 when absent). */
static int
gather_numbers(const StanceC3d *c, const char *group, const char *name, double **out, size_t *n)
{
  *out = NULL;
  *n = 0;
  for (int k = 1; k < 100; k++) {
    char nm[80];
    if (k == 1)
      snprintf(nm, sizeof nm, "%s", name);
    else
      snprintf(nm, sizeof nm, "%s%d", name, k);
    const Param *p = find_param(c, group, nm);
    if (!p || !p->values)
      break;
    double *q = realloc(*out, (*n + p->pub.n_values + 1) * sizeof(double));
    if (!q) {
      free(*out);
      *out = NULL;
      return STANCE_ENOMEM;
    }
    *out = q;
    memcpy(*out + *n, p->values, p->pub.n_values * sizeof(double));
    *n += p->pub.n_values;
  }
  return STANCE_OK;
}

/* Fills dst[0..n) with the strings of GROUP:NAME, NAME2, ...; missing ones are "". */
static void
gather_strings(const StanceC3d *c, const char *group, const char *name, const char **dst, size_t n)
{
  size_t j = 0;
  for (int k = 1; k < 100 && j < n; k++) {
    char nm[80];
    if (k == 1)
      snprintf(nm, sizeof nm, "%s", name);
    else
      snprintf(nm, sizeof nm, "%s%d", name, k);
    const Param *p = find_param(c, group, nm);
    if (!p || !p->strings)
      break;
    for (size_t i = 0; i < p->pub.n_values && j < n; i++)
      dst[j++] = p->strings[i];
  }
  for (; j < n; j++)
    dst[j] = "";
}

static const char *
param_string0(const StanceC3d *c, const char *group, const char *name)
{
  const Param *p = find_param(c, group, name);
  return p && p->strings && p->pub.n_values > 0 ? p->strings[0] : NULL;
}

/* Number of frames: the header's 16-bit first/last frame fields, or TRIAL:ACTUAL_START_FIELD /
 * ACTUAL_END_FIELD (each two 16-bit words, low first) when they give more frames. */
static size_t
frame_count(const StanceC3d *c)
{
  const StanceC3dHeader *h = &c->header;
  size_t n = h->last_frame >= h->first_frame ? (size_t)(h->last_frame - h->first_frame + 1) : 0;
  const Param *s = find_param(c, "TRIAL", "ACTUAL_START_FIELD");
  const Param *e = find_param(c, "TRIAL", "ACTUAL_END_FIELD");
  /* Two 16-bit words each (INT parameters, so every value is within int16). */
  if (s && e && s->pub.type == STANCE_C3D_INT && e->pub.type == STANCE_C3D_INT &&
      s->pub.n_values >= 2 && e->pub.n_values >= 2) {
    uint32_t s32 =
        (uint32_t)(uint16_t)(int16_t)s->values[0] | (uint32_t)(uint16_t)(int16_t)s->values[1] << 16;
    uint32_t e32 =
        (uint32_t)(uint16_t)(int16_t)e->values[0] | (uint32_t)(uint16_t)(int16_t)e->values[1] << 16;
    if (e32 >= s32 && (size_t)(e32 - s32) + 1 > n)
      n = (size_t)(e32 - s32) + 1;
  }
  return n;
}

static void platform_setup(StanceC3d *c, int idx, Platform *pl);

static int
read_analog(StanceC3d *c, const uint8_t *d, size_t len, StanceError *err)
{
  const StanceC3dHeader *h = &c->header;
  StanceC3dProcessor proc = h->processor;
  bool is_float = h->point_scale < 0;
  size_t wsize = is_float ? 4 : 2;

  c->spf = (size_t)h->analog_samples;
  size_t total = (size_t)h->analog_per_frame;
  if (c->spf == 0) {
    if (total != 0)
      return stance_error_set(err, STANCE_EFORMAT,
                              "header bytes 4-5 (word 3) give %zu analog values per frame but "
                              "bytes 18-19 (word 10) give 0 samples per frame (expected a whole "
                              "number of samples)",
                              total);
    c->n_channels = 0;
  } else {
    if (total % c->spf != 0)
      return stance_error_set(err, STANCE_EFORMAT,
                              "header bytes 4-5 (word 3): %zu analog values per frame is not a "
                              "multiple of the %zu samples per frame of bytes 18-19 (word 10)",
                              total, c->spf);
    c->n_channels = total / c->spf;
  }
  const Param *used = find_param(c, "ANALOG", "USED");
  if (used && used->values && used->pub.n_values >= 1) {
    int u = count16(used);
    if (u < 0 || (size_t)u != c->n_channels)
      return stance_error_set(err, STANCE_EFORMAT,
                              "ANALOG:USED (parameter at byte %zu) is %d but the header (bytes "
                              "4-5 and 18-19: %zu values, %zu per channel) gives %zu channels",
                              used->pub.offset, u, total, c->spf, c->n_channels);
  }
  const Param *pused = find_param(c, "POINT", "USED");
  if (pused && pused->values && pused->pub.n_values >= 1 && count16(pused) != h->n_points)
    return stance_error_set(err, STANCE_EFORMAT,
                            "POINT:USED (parameter at byte %zu) is %d but header bytes 2-3 give "
                            "%d points (expected the same count)",
                            pused->pub.offset, count16(pused), h->n_points);

  c->n_frames = frame_count(c);
  size_t frame_vals = 4 * (size_t)h->n_points + total;
  size_t frame_bytes = frame_vals * wsize;
  size_t start = (size_t)(h->data_block - 1) * BLOCK;
  if (frame_bytes > 0 && c->n_frames > (SIZE_MAX - start) / frame_bytes)
    return stance_error_set(err, STANCE_ETRUNC,
                            "data section: %zu frames of %zu bytes cannot fit "
                            "in any file",
                            c->n_frames, frame_bytes);
  size_t need = c->n_frames * frame_bytes;
  if (start > len || need > len - start) {
    size_t have = start < len ? len - start : 0;
    return stance_error_set(err, STANCE_ETRUNC,
                            "data section: %zu frames of %zu bytes (%d points, %zu analog values, "
                            "%s) need bytes %zu-%zu but the file ends at byte %zu (frame %zu is "
                            "incomplete)",
                            c->n_frames, frame_bytes, h->n_points, total,
                            is_float ? "floats" : "16-bit integers", start, start + need, len,
                            frame_bytes ? have / frame_bytes + 1 : 1);
  }
  c->n_samples = c->n_frames * c->spf;
  double fr = h->frame_rate_hz;
  const Param *ar = find_param(c, "ANALOG", "RATE");
  c->analog_rate = ar && ar->values && ar->pub.n_values >= 1 && ar->values[0] > 0
                       ? ar->values[0]
                       : fr * (double)c->spf;

  c->labels = calloc(c->n_channels + 1, sizeof(char *));
  c->units = calloc(c->n_channels + 1, sizeof(char *));
  if (!c->labels || !c->units)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory reading analog labels");
  gather_strings(c, "ANALOG", "LABELS", c->labels, c->n_channels);
  gather_strings(c, "ANALOG", "UNITS", c->units, c->n_channels);
  if (c->n_channels == 0)
    return STANCE_OK;

  double *scale = NULL, *offset = NULL;
  size_t n_scale = 0, n_offset = 0;
  if (gather_numbers(c, "ANALOG", "SCALE", &scale, &n_scale) < 0 ||
      gather_numbers(c, "ANALOG", "OFFSET", &offset, &n_offset) < 0) {
    free(scale);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory reading analog scales");
  }
  int r = STANCE_OK;
  const Param *gs = find_param(c, "ANALOG", "GEN_SCALE");
  double gen = gs && gs->values && gs->pub.n_values >= 1 ? gs->values[0] : 1.0;
  const char *fmt = param_string0(c, "ANALOG", "FORMAT");
  bool is_unsigned = fmt && strncasecmp(fmt, "UNSIGNED", 8) == 0;
  if (scale && n_scale < c->n_channels)
    r = stance_error_set(err, STANCE_EFORMAT,
                         "ANALOG:SCALE (parameter at byte %zu) has %zu values for %zu analog "
                         "channels (expected one per channel)",
                         find_param(c, "ANALOG", "SCALE")->pub.offset, n_scale, c->n_channels);
  else if (offset && n_offset < c->n_channels)
    r = stance_error_set(err, STANCE_EFORMAT,
                         "ANALOG:OFFSET (parameter at byte %zu) has %zu values for %zu analog "
                         "channels (expected one per channel)",
                         find_param(c, "ANALOG", "OFFSET")->pub.offset, n_offset, c->n_channels);
  if (r < 0)
    goto out;
  if (c->n_samples > SIZE_MAX / sizeof(double) / c->n_channels) {
    r = stance_error_set(err, STANCE_ENOMEM, "data section: too many analog samples");
    goto out;
  }
  c->analog = malloc(c->n_channels * c->n_samples * sizeof(double) + 1);
  if (!c->analog) {
    r = stance_error_set(err, STANCE_ENOMEM, "out of memory: %zu analog samples",
                         c->n_channels * c->n_samples);
    goto out;
  }
  for (size_t ch = 0; ch < c->n_channels; ch++) {
    double s = (scale ? scale[ch] : 1.0) * gen;
    double o = offset ? offset[ch] : 0.0;
    if (is_unsigned && o < 0)
      o += 65536.0; /* the offset of an unsigned channel is itself unsigned */
    for (size_t f = 0; f < c->n_frames; f++) {
      const uint8_t *base = d + start + f * frame_bytes + 4 * (size_t)h->n_points * wsize;
      for (size_t k = 0; k < c->spf; k++) {
        const uint8_t *q = base + (k * c->n_channels + ch) * wsize;
        double raw = is_float      ? get_f32(q, proc)
                     : is_unsigned ? (double)get_u16(q, proc)
                                   : (double)get_i16(q, proc);
        double v = (raw - o) * s;
        if (!isfinite(v)) {
          r = stance_error_set(err, STANCE_EFORMAT,
                               "data section: analog channel %zu (%s), frame %zu, sample %zu at "
                               "byte %zu is not a finite number",
                               ch + 1, c->labels[ch], f + 1, k + 1, (size_t)(q - d));
          goto out;
        }
        c->analog[ch * c->n_samples + f * c->spf + k] = v;
      }
    }
  }
out:
  free(scale);
  free(offset);
  return r;
}

int
stance_c3d_read_memory(const void *data, size_t len, StanceC3d **out, StanceError *err)
{
  if (!out)
    return stance_error_set(err, STANCE_EINVAL, "no output given");
  *out = NULL;
  if (!data && len)
    return stance_error_set(err, STANCE_EINVAL, "no data given");
  const uint8_t *d = data;
  if (len < BLOCK)
    return stance_error_set(err, STANCE_ETRUNC,
                            "the file is %zu bytes, shorter than the 512-byte C3D header", len);
  if (d[1] != C3D_KEY)
    return stance_error_set(err, STANCE_EFORMAT,
                            "byte 1: header key is 0x%02x (expected 0x50, the C3D signature): not "
                            "a C3D file",
                            d[1]);
  int pblock = d[0];
  if (pblock < 2)
    return stance_error_set(err, STANCE_EFORMAT,
                            "byte 0: the parameter section starts at block %d (expected 2 or "
                            "later: block 1 is the header)",
                            pblock);
  size_t ps = (size_t)(pblock - 1) * BLOCK;
  if (ps + 4 > len)
    return stance_error_set(err, STANCE_ETRUNC,
                            "byte 0: the parameter section starts at block %d (byte %zu) but the "
                            "file ends at byte %zu",
                            pblock, ps, len);
  int proc = d[ps + 3];
  if (proc != STANCE_C3D_INTEL && proc != STANCE_C3D_DEC && proc != STANCE_C3D_MIPS)
    return stance_error_set(err, STANCE_EFORMAT,
                            "byte %zu: processor type %d (expected 84 Intel, 85 DEC or 86 MIPS)",
                            ps + 3, proc);
  int nblocks = d[ps + 2];
  if (nblocks == 0)
    return stance_error_set(err, STANCE_EFORMAT,
                            "byte %zu: the parameter section claims 0 blocks (expected 1 or more)",
                            ps + 2);
  size_t pe = ps + (size_t)nblocks * BLOCK;
  if (pe > len)
    return stance_error_set(err, STANCE_ETRUNC,
                            "byte %zu: the parameter section claims %d blocks (bytes %zu-%zu) but "
                            "the file ends at byte %zu",
                            ps + 2, nblocks, ps, pe, len);

  StanceC3d *c = calloc(1, sizeof *c);
  if (!c)
    return stance_error_set(err, STANCE_ENOMEM, "out of memory");
  StanceC3dHeader *h = &c->header;
  StanceC3dProcessor pr = (StanceC3dProcessor)proc;
  h->processor = pr;
  h->parameter_block = pblock;
  h->key = d[1];
  h->parameter_blocks = nblocks;
  h->n_points = get_u16(d + 2, pr);
  h->analog_per_frame = get_u16(d + 4, pr);
  h->first_frame = get_u16(d + 6, pr);
  h->last_frame = get_u16(d + 8, pr);
  h->max_gap = get_u16(d + 10, pr);
  h->point_scale = get_f32(d + 12, pr);
  h->data_block = get_u16(d + 16, pr);
  h->analog_samples = get_u16(d + 18, pr);
  h->frame_rate_hz = get_f32(d + 20, pr);
  h->n_events = get_u16(d + 298, pr) == EVENT_KEY ? get_u16(d + 300, pr) : 0;
  int r = STANCE_OK;
  if (!isfinite(h->point_scale) || h->point_scale == 0.0) {
    r = stance_error_set(err, STANCE_EFORMAT,
                         "bytes 12-15: point scale %g (expected a non-zero number: negative for "
                         "float data, positive for integers)",
                         h->point_scale);
    goto fail;
  }
  if (!isfinite(h->frame_rate_hz) || h->frame_rate_hz < 0) {
    r = stance_error_set(err, STANCE_EFORMAT,
                         "bytes 20-23: frame rate %g (expected a finite rate >= 0 Hz)",
                         h->frame_rate_hz);
    goto fail;
  }
  if (h->data_block < 1 || (size_t)(h->data_block - 1) * BLOCK < pe) {
    r = stance_error_set(err, STANCE_EFORMAT,
                         "bytes 16-17: the data section starts at block %d (byte %zu), which is "
                         "not after the parameter section (bytes %zu-%zu)",
                         h->data_block, h->data_block > 0 ? (size_t)(h->data_block - 1) * BLOCK : 0,
                         ps, pe);
    goto fail;
  }
  if ((r = parse_parameters(c, d, ps, pe, pr, err)) < 0)
    goto fail;
  if ((r = read_analog(c, d, len, err)) < 0)
    goto fail;

  const Param *fu = find_param(c, "FORCE_PLATFORM", "USED");
  int n_fp = fu && fu->values && fu->pub.n_values >= 1 ? clamp_int(fu->values[0]) : 0;
  if (n_fp > 0) {
    int n = n_fp;
    if (n > 255) {
      r = stance_error_set(err, STANCE_EFORMAT,
                           "FORCE_PLATFORM:USED (parameter at byte %zu) is %d (expected at most "
                           "255 platforms)",
                           fu->pub.offset, n);
      goto fail;
    }
    c->plat = calloc((size_t)n, sizeof(Platform));
    if (!c->plat) {
      r = stance_error_set(err, STANCE_ENOMEM, "out of memory");
      goto fail;
    }
    c->n_plat = n;
    for (int p = 0; p < n; p++)
      platform_setup(c, p, &c->plat[p]);
  }
  *out = c;
  return STANCE_OK;
fail:
  stance_c3d_free(c);
  return r;
}

int
stance_c3d_read(const char *path, StanceC3d **out, StanceError *err)
{
  if (out)
    *out = NULL;
  if (!path || !*path)
    return stance_error_set(err, STANCE_EINVAL, "no file name given");
  FILE *f = fopen(path, "rb");
  if (!f)
    return stance_error_set(err, STANCE_EIO, "cannot open '%s': %s", path, strerror(errno));
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  int r = STANCE_OK;
  for (;;) {
    if (len == cap) {
      size_t nc = cap ? cap * 2 : 1 << 16;
      uint8_t *q = realloc(buf, nc);
      if (!q) {
        r = stance_error_set(err, STANCE_ENOMEM, "%s: out of memory", path);
        break;
      }
      buf = q;
      cap = nc;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f))
        r = stance_error_set(err, STANCE_EIO, "cannot read '%s': %s", path, strerror(errno));
      break;
    }
  }
  fclose(f);
  if (r == STANCE_OK) {
    r = stance_c3d_read_memory(buf, len, out, err);
    if (r < 0)
      stance_error_prefix(err, "%s: ", path);
  }
  free(buf);
  return r;
}

/* ---- accessors ---- */

const StanceC3dHeader *
stance_c3d_header(const StanceC3d *c)
{
  return c ? &c->header : NULL;
}

size_t
stance_c3d_group_count(const StanceC3d *c)
{
  return c ? c->n_groups : 0;
}

const char *
stance_c3d_group_name(const StanceC3d *c, size_t i)
{
  return c && i < c->n_groups ? c->groups[i].name : NULL;
}

const char *
stance_c3d_group_description(const StanceC3d *c, size_t i)
{
  return c && i < c->n_groups ? c->groups[i].desc : NULL;
}

size_t
stance_c3d_group_param_count(const StanceC3d *c, const char *group)
{
  for (size_t i = 0; c && group && i < c->n_groups; i++)
    if (strcasecmp(c->groups[i].name, group) == 0)
      return c->groups[i].n_params;
  return 0;
}

size_t
stance_c3d_param_count(const StanceC3d *c)
{
  return c ? c->n_params : 0;
}

const StanceC3dParam *
stance_c3d_param_at(const StanceC3d *c, size_t i)
{
  return c && i < c->n_params ? &c->params[i].pub : NULL;
}

const StanceC3dParam *
stance_c3d_param(const StanceC3d *c, const char *path)
{
  if (!c || !path)
    return NULL;
  const char *colon = strchr(path, ':');
  if (!colon || (size_t)(colon - path) >= 128)
    return NULL;
  char group[128];
  memcpy(group, path, (size_t)(colon - path));
  group[colon - path] = '\0';
  const Param *p = find_param(c, group, colon + 1);
  return p ? &p->pub : NULL;
}

size_t
stance_c3d_frame_count(const StanceC3d *c)
{
  return c ? c->n_frames : 0;
}

size_t
stance_c3d_analog_count(const StanceC3d *c)
{
  return c ? c->n_channels : 0;
}

size_t
stance_c3d_analog_samples(const StanceC3d *c)
{
  return c ? c->n_samples : 0;
}

double
stance_c3d_analog_rate(const StanceC3d *c)
{
  return c ? c->analog_rate : 0.0;
}

const double *
stance_c3d_analog(const StanceC3d *c, size_t channel)
{
  if (!c || channel >= c->n_channels || !c->analog)
    return NULL;
  return c->analog + channel * c->n_samples;
}

const char *
stance_c3d_analog_label(const StanceC3d *c, size_t channel)
{
  return c && channel < c->n_channels ? c->labels[channel] : "";
}

const char *
stance_c3d_analog_unit(const StanceC3d *c, size_t channel)
{
  return c && channel < c->n_channels ? c->units[channel] : "";
}

int
stance_c3d_analog_find(const StanceC3d *c, const char *label)
{
  for (size_t i = 0; c && label && i < c->n_channels; i++)
    if (strcmp(c->labels[i], label) == 0)
      return (int)i;
  return -1;
}

/* ---- force platforms ---- */

static int plat_fail(Platform *pl, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
plat_fail(Platform *pl, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pl->message, sizeof pl->message, fmt, ap);
  va_end(ap);
  pl->code = code;
  return code;
}

static void
cross(const double a[3], const double b[3], double out[3])
{
  double x = a[1] * b[2] - a[2] * b[1];
  double y = a[2] * b[0] - a[0] * b[2];
  double z = a[0] * b[1] - a[1] * b[0];
  out[0] = x;
  out[1] = y;
  out[2] = z;
}

static double
norm3(const double a[3])
{
  return sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
}

static void
rotate(const double r[3][3], const double v[3], double out[3])
{
  for (int i = 0; i < 3; i++)
    out[i] = r[i][0] * v[0] + r[i][1] * v[1] + r[i][2] * v[2];
}

static void
platform_setup(StanceC3d *c, int idx, Platform *pl)
{
  StanceC3dPlatform *fp = &pl->info;
  int n = c->n_plat, P = idx + 1;
  const Param *type = find_param(c, "FORCE_PLATFORM", "TYPE");
  if (!type || !type->values || type->pub.n_values < (size_t)n) {
    plat_fail(pl, STANCE_EFORMAT,
              "FORCE_PLATFORM:TYPE has %zu values for %d platforms (expected one per platform)",
              type && type->values ? type->pub.n_values : 0, n);
    return;
  }
  fp->type = clamp_int(type->values[idx]);
  switch (fp->type) {
  case 1:
  case 2:
  case 4: fp->n_channels = 6; break;
  case 3: fp->n_channels = 8; break;
  default:
    plat_fail(pl, STANCE_ENOTAVAIL,
              "platform %d is of TYPE %d; this reader computes types 1, 2, 3 and 4 (its analog "
              "channels are still readable)",
              P, fp->type);
    return;
  }

  const Param *ch = find_param(c, "FORCE_PLATFORM", "CHANNEL");
  if (!ch || !ch->values || ch->pub.n_dims != 2 || ch->pub.dims[0] < fp->n_channels ||
      ch->pub.dims[1] < P) {
    char found[64] = "no such parameter";
    if (ch) {
      size_t fl = (size_t)snprintf(found, sizeof found, "dimensions (");
      for (int k = 0; k < ch->pub.n_dims; k++)
        fl +=
            (size_t)snprintf(found + fl, sizeof found - fl, "%s%d", k ? ", " : "", ch->pub.dims[k]);
      snprintf(found + fl, sizeof found - fl, ")");
    }
    plat_fail(pl, STANCE_EFORMAT,
              "FORCE_PLATFORM:CHANNEL does not list platform %d's %d channels (expected "
              "dimensions (%d or more, %d or more), found %s)",
              P, fp->n_channels, fp->n_channels, n, found);
    return;
  }
  for (int j = 0; j < fp->n_channels; j++) {
    double v = ch->values[(size_t)idx * (size_t)ch->pub.dims[0] + (size_t)j];
    if (v < 1 || v > (double)c->n_channels) {
      plat_fail(pl, STANCE_EFORMAT,
                "FORCE_PLATFORM:CHANNEL: platform %d input %d is analog channel %g, but the file "
                "has %zu analog channels (expected 1-%zu)",
                P, j + 1, v, c->n_channels, c->n_channels);
      return;
    }
    fp->channel[j] = (int)v - 1;
  }

  const Param *co = find_param(c, "FORCE_PLATFORM", "CORNERS");
  if (!co || !co->values || co->pub.n_values < (size_t)12 * (size_t)P) {
    plat_fail(pl, STANCE_EFORMAT,
              "FORCE_PLATFORM:CORNERS has %zu values; platform %d needs values %d-%d (4 corners x "
              "3 coordinates per platform)",
              co && co->values ? co->pub.n_values : 0, P, 12 * idx + 1, 12 * P);
    return;
  }
  for (int k = 0; k < 4; k++)
    for (int j = 0; j < 3; j++) {
      fp->corners[k][j] = co->values[(size_t)idx * 12 + (size_t)k * 3 + (size_t)j];
      fp->centre[j] += fp->corners[k][j] / 4.0;
    }
  const Param *org = find_param(c, "FORCE_PLATFORM", "ORIGIN");
  if (!org || !org->values || org->pub.n_values < (size_t)3 * (size_t)P) {
    plat_fail(pl, STANCE_EFORMAT,
              "FORCE_PLATFORM:ORIGIN has %zu values; platform %d needs values %d-%d",
              org && org->values ? org->pub.n_values : 0, P, 3 * idx + 1, 3 * P);
    return;
  }
  for (int j = 0; j < 3; j++)
    fp->origin[j] = org->values[(size_t)idx * 3 + (size_t)j];
  if (fp->type == 1)
    fp->origin[0] = fp->origin[1] = 0.0;
  /* ORIGIN points from the sensor origin to the surface centre, in the platform frame whose z
   * goes down into the plate, so its z is negative. Many files store it the other way round;
   * like ezc3d and Visual3D, a positive z is taken as the reversed vector. */
  if (fp->origin[2] > 0) {
    for (int j = 0; j < 3; j++)
      fp->origin[j] = -fp->origin[j];
    fp->origin_flipped = true;
  }

  /* Platform axes in the lab from the corners (quadrants +x+y, -x+y, -x-y, +x-y). */
  double ax[3], ay[3], az[3];
  for (int j = 0; j < 3; j++) {
    ax[j] = fp->corners[0][j] - fp->corners[1][j];
    ay[j] = fp->corners[0][j] - fp->corners[3][j];
  }
  cross(ax, ay, az);
  cross(az, ax, ay);
  double nx = norm3(ax), ny = norm3(ay), nz = norm3(az);
  if (!(nx > 0 && ny > 0 && nz > 0) || !isfinite(nx * ny * nz)) {
    plat_fail(pl, STANCE_EFORMAT,
              "FORCE_PLATFORM:CORNERS of platform %d do not span a plane (expected four corners "
              "in the quadrants +x+y, -x+y, -x-y, +x-y of the platform)",
              P);
    return;
  }
  for (int j = 0; j < 3; j++) {
    fp->rot[j][0] = ax[j] / nx;
    fp->rot[j][1] = ay[j] / ny;
    fp->rot[j][2] = az[j] / nz;
  }

  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++)
      fp->cal[i][j] = i == j ? 1.0 : 0.0;
  if (fp->type == 4) {
    const Param *cm = find_param(c, "FORCE_PLATFORM", "CAL_MATRIX");
    if (!cm || !cm->values || cm->pub.n_dims != 3 || cm->pub.dims[0] != 6 || cm->pub.dims[1] != 6 ||
        cm->pub.dims[2] < P) {
      plat_fail(pl, STANCE_EFORMAT,
                "platform %d is of TYPE 4 but FORCE_PLATFORM:CAL_MATRIX is not a (6, 6, %d or "
                "more) matrix",
                P, n);
      return;
    }
    /* First index varies fastest: element (row i, column j) is value i + 6 j. */
    for (int i = 0; i < 6; i++)
      for (int j = 0; j < 6; j++)
        fp->cal[i][j] = cm->values[(size_t)idx * 36 + (size_t)j * 6 + (size_t)i];
  }
  if (fp->type == 3) {
    const Param *poly = find_param(c, "FORCE_PLATFORM", "FPCOPPOLY");
    if (poly && poly->values && poly->pub.n_values >= (size_t)12 * (size_t)P)
      for (int j = 0; j < 12; j++)
        fp->cop_poly[j] = poly->values[(size_t)idx * 12 + (size_t)j];
  }

  const char *pu = param_string0(c, "POINT", "UNITS");
  snprintf(fp->position_unit, sizeof fp->position_unit, "%s", pu && *pu ? pu : "mm");
  const char *funit = c->units[fp->channel[fp->type == 3 ? 4 : 2]];
  snprintf(fp->force_unit, sizeof fp->force_unit, "%s", *funit ? funit : "N");
  const char *munit = fp->type == 2 || fp->type == 4 ? c->units[fp->channel[3]] : "";
  if (*munit)
    snprintf(fp->moment_unit, sizeof fp->moment_unit, "%s", munit);
  else
    snprintf(fp->moment_unit, sizeof fp->moment_unit, "%s%s", fp->force_unit, fp->position_unit);

  /* Baseline: the mean of each input over the ZERO frames (1-based, within the file); 0,0 (or a
   * range outside the data) means none. */
  const Param *zero = find_param(c, "FORCE_PLATFORM", "ZERO");
  if (zero && zero->values && zero->pub.n_values >= 2) {
    fp->zero[0] = clamp_int(zero->values[0]);
    fp->zero[1] = clamp_int(zero->values[1]);
  }
  if (fp->zero[0] >= 1 && fp->zero[1] >= fp->zero[0] && (size_t)fp->zero[0] <= c->n_frames &&
      c->spf > 0) {
    size_t f0 = (size_t)fp->zero[0] - 1;
    size_t f1 = (size_t)fp->zero[1] < c->n_frames ? (size_t)fp->zero[1] : c->n_frames;
    size_t i0 = f0 * c->spf, i1 = f1 * c->spf;
    for (int j = 0; j < fp->n_channels; j++) {
      const double *a = c->analog + (size_t)fp->channel[j] * c->n_samples;
      double s = 0;
      for (size_t i = i0; i < i1; i++)
        s += a[i];
      fp->baseline[j] = s / (double)(i1 - i0);
    }
    fp->baseline_applied = true;
  }
  pl->code = STANCE_OK;
}

int
stance_c3d_platform_count(const StanceC3d *c)
{
  return c ? c->n_plat : 0;
}

int
stance_c3d_platform(const StanceC3d *c, int platform, const StanceC3dPlatform **out,
                    StanceError *err)
{
  if (!c || !out)
    return stance_error_set(err, STANCE_EINVAL, "no C3D or output given");
  *out = NULL;
  if (platform < 0 || platform >= c->n_plat)
    return stance_error_set(err, STANCE_ERANGE,
                            "force platform %d does not exist (the file has %d)", platform + 1,
                            c->n_plat);
  const Platform *pl = &c->plat[platform];
  if (pl->code < 0)
    return stance_error_set(err, pl->code, "%s", pl->message);
  *out = &pl->info;
  return STANCE_OK;
}

int
stance_c3d_platform_wrench(const StanceC3d *c, int platform, size_t sample, StanceC3dWrench *out,
                           StanceError *err)
{
  const StanceC3dPlatform *fp;
  if (!out)
    return stance_error_set(err, STANCE_EINVAL, "no output given");
  int r = stance_c3d_platform(c, platform, &fp, err);
  if (r < 0)
    return r;
  if (sample >= c->n_samples)
    return stance_error_set(err, STANCE_ERANGE,
                            "analog sample %zu is out of range (the file has %zu samples per "
                            "channel)",
                            sample, c->n_samples);
  double v[8];
  for (int j = 0; j < fp->n_channels; j++)
    v[j] = c->analog[(size_t)fp->channel[j] * c->n_samples + sample] - fp->baseline[j];

  /* Platform frame: force, moment about the centre of the working surface, CoP. */
  double F[3], M[3], cop[3] = {0, 0, 0}, T[3];
  bool defined = false;
  if (fp->type == 1) {
    /* Fx Fy Fz, CoP x y (platform frame, relative to the surface centre), Tz. */
    F[0] = v[0];
    F[1] = v[1];
    F[2] = v[2];
    cop[0] = v[3];
    cop[1] = v[4];
    T[0] = T[1] = 0.0;
    T[2] = v[5];
    cross(cop, F, M);
    M[2] += T[2];
    defined = true;
  } else {
    if (fp->type == 3) {
      /* Kistler: Fx12 Fx34 Fy14 Fy23 Fz1 Fz2 Fz3 Fz4; a, b = sensor offsets, az0 = depth of
       * the sensor plane below the surface (negative). Moments about the sensor plane's centre,
       * then moved up to the surface. */
      double a = fp->origin[0], b = fp->origin[1];
      F[0] = v[0] + v[1];
      F[1] = v[2] + v[3];
      F[2] = v[4] + v[5] + v[6] + v[7];
      M[0] = b * (v[4] + v[5] - v[6] - v[7]);
      M[1] = a * (v[5] + v[6] - v[4] - v[7]);
      M[2] = b * (v[1] - v[0]) + a * (v[2] - v[3]);
      double dz[3] = {0, 0, fp->origin[2]}, t[3];
      cross(F, dz, t);
      for (int j = 0; j < 3; j++)
        M[j] += t[j];
    } else {
      double w[6];
      for (int i = 0; i < 6; i++) {
        w[i] = 0;
        for (int j = 0; j < 6; j++)
          w[i] += fp->cal[i][j] * v[j];
      }
      /* M at the surface centre = M at the sensor origin + F x ORIGIN (ORIGIN = sensor origin to
       * surface centre). */
      double t[3];
      F[0] = w[0];
      F[1] = w[1];
      F[2] = w[2];
      cross(F, fp->origin, t);
      for (int j = 0; j < 3; j++)
        M[j] = w[3 + j] + t[j];
    }
    if (F[2] != 0.0) {
      cop[0] = -M[1] / F[2];
      cop[1] = M[0] / F[2];
      /* A force too small to place its CoP anywhere sensible (1e15 position units away). */
      defined = fabs(cop[0]) < 1e15 && fabs(cop[1]) < 1e15;
      if (defined && fp->type == 3) {
        /* Kistler's CoP correction polynomial (FPCOPPOLY), as ezc3d applies it. */
        const double *P = fp->cop_poly;
        double x = cop[0], y = cop[1], x2 = x * x, y2 = y * y;
        double xo =
            (P[0] * y2 * y2 + P[1] * y2 + P[2]) * x2 * x + (P[3] * y2 * y2 + P[4] * y2 + P[5]) * x;
        double yo = (P[6] * x2 * x2 + P[7] * x2 + P[8]) * y2 * y +
                    (P[9] * x2 * x2 + P[10] * x2 + P[11]) * y;
        cop[0] -= xo;
        cop[1] -= yo;
        defined = fabs(cop[0]) < 1e15 && fabs(cop[1]) < 1e15;
      }
      if (!defined)
        cop[0] = cop[1] = 0.0;
    }
    /* Free moment: what is left of M once F acts at the CoP. */
    double t[3];
    cross(cop, F, t);
    for (int j = 0; j < 3; j++)
      T[j] = M[j] - t[j];
  }

  rotate(fp->rot, F, out->force);
  rotate(fp->rot, M, out->moment);
  rotate(fp->rot, T, out->free_moment);
  rotate(fp->rot, cop, out->cop);
  for (int j = 0; j < 3; j++)
    out->cop[j] += fp->centre[j];
  out->cop_platform[0] = cop[0];
  out->cop_platform[1] = cop[1];
  out->cop_defined = defined;
  for (int j = 0; j < 3; j++)
    if (!isfinite(out->force[j]) || !isfinite(out->moment[j]) || !isfinite(out->free_moment[j]) ||
        !isfinite(out->cop[j]))
      return stance_error_set(err, STANCE_ERANGE,
                              "platform %d, sample %zu: the force or moment overflows",
                              platform + 1, sample);
  return STANCE_OK;
}

/* ======================================================================================== */
/* Writer                                                                                   */
/* ======================================================================================== */

void
stance_c3d_write_options_default(StanceC3dWriteOptions *opt)
{
  if (!opt)
    return;
  memset(opt, 0, sizeof *opt);
  opt->processor = STANCE_C3D_INTEL;
  opt->integer_data = false;
}

typedef struct {
  uint8_t *buf;
  size_t len, cap;
  bool oom;
  StanceC3dProcessor proc;
  size_t last_ptr; /* position of the last record's next-pointer */
  bool has_last;
} Buf;

static void
buf_need(Buf *b, size_t n)
{
  if (b->oom || b->len + n <= b->cap)
    return;
  size_t c = b->cap ? b->cap : 4096;
  while (c < b->len + n)
    c *= 2;
  uint8_t *q = realloc(b->buf, c);
  if (!q) {
    b->oom = true;
    return;
  }
  b->buf = q;
  b->cap = c;
}

static void
put_u8(Buf *b, unsigned v)
{
  buf_need(b, 1);
  if (!b->oom)
    b->buf[b->len++] = (uint8_t)v;
}

static void
put_bytes(Buf *b, const void *s, size_t n)
{
  buf_need(b, n);
  if (!b->oom) {
    memcpy(b->buf + b->len, s, n);
    b->len += n;
  }
}

static void
put_u16(Buf *b, unsigned v)
{
  buf_need(b, 2);
  if (!b->oom) {
    put_u16_at(b->buf + b->len, v, b->proc);
    b->len += 2;
  }
}

static void
put_f32(Buf *b, double v)
{
  buf_need(b, 4);
  if (!b->oom) {
    put_f32_at(b->buf + b->len, (float)v, b->proc);
    b->len += 4;
  }
}

/* Starts a record: name length, id, name, pointer placeholder. Returns the pointer's position. */
static size_t
rec_begin(Buf *b, int id, const char *name)
{
  size_t n = strlen(name);
  put_u8(b, (unsigned)n);
  put_u8(b, (unsigned)(uint8_t)(int8_t)id);
  put_bytes(b, name, n);
  size_t ptr = b->len;
  put_u16(b, 0);
  return ptr;
}

/* Ends a record: description, then the pointer to what follows. */
static void
rec_end(Buf *b, size_t ptr, const char *desc)
{
  size_t n = strlen(desc);
  put_u8(b, (unsigned)n);
  put_bytes(b, desc, n);
  if (!b->oom)
    put_u16_at(b->buf + ptr, (unsigned)(b->len - ptr), b->proc);
  b->last_ptr = ptr;
  b->has_last = true;
}

static void
w_group(Buf *b, int id, const char *name, const char *desc)
{
  size_t ptr = rec_begin(b, -id, name);
  rec_end(b, ptr, desc);
}

/* A numeric parameter: ndims dims (0 = scalar), values in first-dimension-fastest order.
 * Returns the byte position of the first value (for patching). */
static size_t
w_num(Buf *b, int gid, const char *name, StanceC3dType type, int ndims, const int *dims,
      const double *vals, const char *desc)
{
  size_t ptr = rec_begin(b, gid, name);
  put_u8(b, (unsigned)(uint8_t)(int8_t)type);
  put_u8(b, (unsigned)ndims);
  size_t count = 1;
  for (int k = 0; k < ndims; k++) {
    put_u8(b, (unsigned)dims[k]);
    count *= (size_t)dims[k];
  }
  size_t at = b->len;
  for (size_t i = 0; i < count; i++) {
    if (type == STANCE_C3D_INT)
      put_u16(b, (unsigned)(uint16_t)(int16_t)lrint(vals[i]));
    else
      put_f32(b, vals[i]);
  }
  rec_end(b, ptr, desc);
  return at;
}

static size_t
w_int1(Buf *b, int gid, const char *name, int v, const char *desc)
{
  double d = v;
  return w_num(b, gid, name, STANCE_C3D_INT, 0, NULL, &d, desc);
}

static void
w_real1(Buf *b, int gid, const char *name, double v, const char *desc)
{
  w_num(b, gid, name, STANCE_C3D_REAL, 0, NULL, &v, desc);
}

/* A CHAR parameter of n strings, padded with blanks to the longest: dims (len) for a single
 * string (one_string), else (len, n). n = 0 gives dims (0), as ezc3d writes empty lists. */
static void
w_strs(Buf *b, int gid, const char *name, const char *const *s, size_t n, bool one_string,
       const char *desc)
{
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    if (strlen(s[i]) > len)
      len = strlen(s[i]);
  if (n > 0 && len == 0)
    len = 1;
  size_t ptr = rec_begin(b, gid, name);
  put_u8(b, (unsigned)(uint8_t)(int8_t)STANCE_C3D_CHAR);
  if (n == 0) {
    put_u8(b, 1);
    put_u8(b, 0);
  } else if (one_string) {
    put_u8(b, 1);
    put_u8(b, (unsigned)len);
  } else {
    put_u8(b, 2);
    put_u8(b, (unsigned)len);
    put_u8(b, (unsigned)n);
  }
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(s[i]);
    put_bytes(b, s[i], l);
    for (size_t k = l; k < len; k++)
      put_u8(b, ' ');
  }
  rec_end(b, ptr, desc);
}

static void
w_str(Buf *b, int gid, const char *name, const char *s, const char *desc)
{
  w_strs(b, gid, name, &s, 1, true, desc);
}

/* What the writer puts into the analog channels: a function of (channel, sample). */
typedef struct {
  const StanceRecording *rec;
  int n_plates;   /* 2 (CELLS, PLATES) or 1 (COMBINED) */
  int n_channels; /* 6 per plate, + 8 cells for CELLS */
  bool cells;
  double lab_x[STANCE_N_PLATES], lab_y[STANCE_N_PLATES]; /* plate centres in the lab */
  double width[STANCE_N_PLATES], length[STANCE_N_PLATES];
} Plan;

/* Analog values of sample i into v[n_channels] (0 beyond the recording's end: the padding of
 * the last frame). Platform p: Fx Fy Fz Mx My Mz at channels 6p..6p+5 in the platform frame
 * (x = right, y = backward, z = down); then the cells. */
static void
plan_sample(const Plan *pl, size_t i, double *v)
{
  const StanceRecording *rec = pl->rec;
  memset(v, 0, (size_t)pl->n_channels * sizeof(double));
  if (i >= rec->n_samples || (rec->status[i] & STANCE_STATUS_GAP))
    return;
  for (int p = 0; p < pl->n_plates; p++) {
    double fz = 0, sx = 0, sy = 0; /* sum F, sum F x, sum F y in the Stance plate frame */
    if (pl->cells) {
      const StancePlateGeometry *g = &rec->calib.plate[p];
      for (int k = 0; k < STANCE_CELLS_PER_PLATE; k++) {
        double f = stance_recording_cell_force(rec, i, p * STANCE_CELLS_PER_PLATE + k);
        v[6 * pl->n_plates + p * STANCE_CELLS_PER_PLATE + k] = f;
        fz += f;
        sx += f * g->cell[k].x_mm;
        sy += f * g->cell[k].y_mm;
      }
    } else {
      size_t nch = rec->n_channels;
      fz = rec->force_n[i * nch + (size_t)p];
      if (rec->cop_mm) {
        sx = fz * rec->cop_mm[(i * nch + (size_t)p) * 2];
        sy = fz * rec->cop_mm[(i * nch + (size_t)p) * 2 + 1];
      }
    }
    /* The ground reaction (the plate's force on the athlete) in the platform frame, whose z
     * points down: (0, 0, -fz), as Qualisys and Vicon write it, so that readers rotating into
     * the lab get +fz upwards. A load at (x, y) of the Stance frame sits at (x, -y, 0) in the
     * platform frame; M = sum r x F = (sum(-y)(-f), -sum x(-f), 0) = (sy, sx, 0). The type-2
     * CoP, x = -My/Fz = sx/fz and y = Mx/Fz = -sy/fz, is that point again. */
    double *o = v + 6 * p;
    o[2] = -fz;
    o[3] = sy;
    o[4] = sx;
  }
}

static const char *const axis_names[6] = {"Fx", "Fy", "Fz", "Mx", "My", "Mz"};

/* "2026-11-24T09:30:00.000Z" */
static void
iso_utc(int64_t ms, char *buf, size_t n)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (ms < 0 || !gmtime_r(&t, &tm)) {
    snprintf(buf, n, "%s", "");
    return;
  }
  char s[32];
  strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, n, "%s.%03dZ", s, (int)(ms % 1000));
}

/* Analog samples per frame: the divisor N of an integer rate that brings the frame rate
 * (POINT:RATE = rate / N) closest to 100 Hz, the usual motion-capture rate; 1 for a rate that is
 * not a whole number of hertz. */
static int
samples_per_frame(double rate)
{
  if (rate != floor(rate) || rate > 1e7)
    return 1;
  long r = (long)rate;
  int best = 1;
  double best_d = fabs(rate - 100.0);
  for (int k = 2; k <= 255; k++) {
    if (r % k != 0)
      continue;
    double d = fabs(rate / k - 100.0);
    if (d < best_d) {
      best = k;
      best_d = d;
    }
  }
  return best;
}

enum { G_POINT = 1, G_ANALOG, G_FP, G_TRIAL, G_SUBJECTS, G_MANUF, G_STANCE };

/* Maximum gap ranges per GAPS parameter: the second dimension is one byte. */
#define GAPS_PER_PARAM 255

static int
check_string(const char *what, const char *s, StanceError *err)
{
  if (strlen(s) > MAX_DIM)
    return stance_error_set(err, STANCE_ERANGE,
                            "%s is %zu bytes long; a C3D text parameter holds at most 255", what,
                            strlen(s));
  return STANCE_OK;
}

int
stance_c3d_encode(const StanceRecording *rec, const StanceC3dWriteOptions *opt_in, uint8_t **out,
                  size_t *out_len, StanceError *err)
{
  if (!out || !out_len)
    return stance_error_set(err, STANCE_EINVAL, "no output buffer given");
  *out = NULL;
  *out_len = 0;
  if (!rec)
    return stance_error_set(err, STANCE_EINVAL, "no recording given");
  StanceC3dWriteOptions opt;
  stance_c3d_write_options_default(&opt);
  if (opt_in)
    opt = *opt_in;
  if (opt.processor != STANCE_C3D_INTEL && opt.processor != STANCE_C3D_DEC &&
      opt.processor != STANCE_C3D_MIPS)
    return stance_error_set(err, STANCE_EINVAL,
                            "processor format %d is not one of 84 (Intel), 85 (DEC), 86 (MIPS)",
                            (int)opt.processor);
  if (rec->n_samples == 0)
    return stance_error_set(err, STANCE_ENODATA,
                            "the recording has no samples: a C3D file needs at least one frame");
  /* Sample numbers (STANCE:SAMPLES, STANCE:GAPS) are stored as floats, exact up to 2^24. */
  if (rec->n_samples > 16777216u)
    return stance_error_set(err, STANCE_ERANGE,
                            "the recording has %zu samples; the C3D export holds at most 16777216 "
                            "(4.6 h at 1000 Hz): export a slice",
                            rec->n_samples);
  double rate = rec->sample_rate_hz;
  if (!isfinite(rate) || rate <= 0 || rate > 1e6)
    return stance_error_set(err, STANCE_ERANGE,
                            "sample rate %g Hz cannot be written (expected 0 < rate <= 1 MHz)",
                            rate);
  if (!isfinite((double)(float)rate) || (double)(float)rate != rate)
    return stance_error_set(err, STANCE_ERANGE,
                            "sample rate %.17g Hz is not exactly representable as a C3D (32-bit) "
                            "float; resample or round the rate",
                            rate);

  Plan pl = {.rec = rec};
  switch (rec->layout) {
  case STANCE_LAYOUT_CELLS:
    if (rec->n_channels != STANCE_N_CELLS || !rec->counts)
      return stance_error_set(err, STANCE_EINVAL, "cells recording without its 8 channels");
    pl.n_plates = 2;
    pl.cells = true;
    break;
  case STANCE_LAYOUT_PLATES:
    if (rec->n_channels != 2 || !rec->force_n)
      return stance_error_set(err, STANCE_EINVAL, "plates recording without its 2 channels");
    pl.n_plates = 2;
    break;
  case STANCE_LAYOUT_COMBINED:
    if (rec->n_channels != 1 || !rec->force_n)
      return stance_error_set(err, STANCE_EINVAL, "combined recording without its channel");
    pl.n_plates = 1;
    break;
  default:
    return stance_error_set(err, STANCE_EINVAL,
                            "layout %d cannot be written as C3D (expected cells, plates or "
                            "combined)",
                            (int)rec->layout);
  }
  pl.n_channels = 6 * pl.n_plates + (pl.cells ? STANCE_N_CELLS : 0);
  int r;
  if (pl.cells && (r = stance_calibration_validate(&rec->calib, err)) < 0)
    return stance_error_prefix(err, "C3D export: ");
  for (int p = 0; p < pl.n_plates; p++) {
    const StancePlateGeometry *g = &rec->calib.plate[p];
    if (!(g->width_mm > 0 && g->length_mm > 0 && isfinite(g->width_mm) && isfinite(g->length_mm) &&
          isfinite(g->centre_x_mm) && isfinite(g->centre_y_mm)))
      return stance_error_set(
          err, STANCE_ERANGE,
          "plate %d geometry (%g x %g mm at %g, %g) cannot be written (expected "
          "a positive size and a finite centre)",
          p + 1, g->width_mm, g->length_mm, g->centre_x_mm, g->centre_y_mm);
    pl.width[p] = g->width_mm;
    pl.length[p] = g->length_mm;
    /* COMBINED: one platform, centred on the lab origin, the size of plate 1. */
    pl.lab_x[p] = pl.n_plates == 1 ? 0.0 : g->centre_x_mm;
    pl.lab_y[p] = pl.n_plates == 1 ? 0.0 : g->centre_y_mm;
  }
  const StanceMeta *m = &rec->meta;
  const char *strs[][2] = {{"athlete", m->athlete},
                           {"board serial", m->board_serial},
                           {"firmware version", m->firmware_version},
                           {"calibration id", m->calibration_id},
                           {"source", m->source}};
  for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++)
    if ((r = check_string(strs[k][0], strs[k][1], err)) < 0)
      return r;

  int N = samples_per_frame(rate);
  size_t n_frames = (rec->n_samples + (size_t)N - 1) / (size_t)N;
  double point_rate = rate / N;
  size_t nch = (size_t)pl.n_channels;

  /* Pass 1: check every value is storable; ranges for integer data. */
  double *v = malloc(nch * sizeof(double));
  double *maxabs = calloc(nch, sizeof(double));
  if (!v || !maxabs) {
    free(v);
    free(maxabs);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < rec->n_samples; i++) {
    plan_sample(&pl, i, v);
    for (size_t ch = 0; ch < nch; ch++) {
      if (!float_fits(v[ch], opt.processor)) {
        const char *what = ch < (size_t)(6 * pl.n_plates) ? axis_names[ch % 6] : "cell force";
        r = stance_error_set(
            err, STANCE_ERANGE,
            "sample %zu: %s of plate %zu is %g, which a C3D float cannot hold "
            "(a force or centre of pressure that is not finite?)",
            i + 1, what, ch < (size_t)(6 * pl.n_plates) ? ch / 6 + 1 : (ch - 12) / 4 + 1, v[ch]);
        free(v);
        free(maxabs);
        return r;
      }
      if (fabs(v[ch]) > maxabs[ch])
        maxabs[ch] = fabs(v[ch]);
    }
  }
  /* Integer data: value = raw * SCALE with |raw| <= 32000. */
  double *scale = malloc(nch * sizeof(double));
  if (!scale) {
    free(v);
    free(maxabs);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory");
  }
  for (size_t ch = 0; ch < nch; ch++) {
    scale[ch] = 1.0;
    if (opt.integer_data && maxabs[ch] > 0)
      scale[ch] = (double)(float)(maxabs[ch] / 32000.0);
    if (opt.integer_data && !(scale[ch] > 0)) /* a range so small the float scale underflows */
      scale[ch] = 1.0;
  }
  free(maxabs);

  /* ---- parameters ---- */
  Buf b = {.proc = opt.processor};
  /* Parameter section header: 2 reserved bytes (1 and 0x50 by custom), blocks, processor. */
  put_u8(&b, 1);
  put_u8(&b, C3D_KEY);
  put_u8(&b, 0); /* patched */
  put_u8(&b, (unsigned)opt.processor);

  const char *side_word[2] = {"Left", "Right"};

  w_group(&b, G_POINT, "POINT", "3-D point parameters");
  w_int1(&b, G_POINT, "USED", 0, "Number of 3-D points (none: force data only)");
  w_real1(&b, G_POINT, "SCALE", opt.integer_data ? 1.0 : -1.0, "Negative: data stored as floats");
  w_real1(&b, G_POINT, "RATE", point_rate, "Frame rate (Hz)");
  size_t data_start_at = w_int1(&b, G_POINT, "DATA_START", 0, "First block of the data section");
  if (n_frames <= 32767)
    w_int1(&b, G_POINT, "FRAMES", (int)n_frames, "Number of frames");
  else
    w_real1(&b, G_POINT, "FRAMES", (double)n_frames, "Number of frames");
  w_str(&b, G_POINT, "UNITS", "mm", "Distance units");
  w_strs(&b, G_POINT, "LABELS", NULL, 0, false, "Point labels");
  w_strs(&b, G_POINT, "DESCRIPTIONS", NULL, 0, false, "Point descriptions");

  w_group(&b, G_ANALOG, "ANALOG", "Analog data parameters");
  w_int1(&b, G_ANALOG, "USED", pl.n_channels, "Number of analog channels");
  {
    char(*lab)[16] = calloc(nch, sizeof *lab);
    char(*desc)[48] = calloc(nch, sizeof *desc);
    const char **lp = calloc(nch, sizeof(char *)), **dp = calloc(nch, sizeof(char *)),
               **up = calloc(nch, sizeof(char *));
    double *offs = calloc(nch, sizeof(double));
    int dim1[1] = {(int)nch};
    if (!lab || !desc || !lp || !dp || !up || !offs) {
      b.oom = true;
    } else {
      for (int p = 0; p < pl.n_plates; p++)
        for (int k = 0; k < 6; k++) {
          size_t ch = (size_t)(6 * p + k);
          snprintf(lab[ch], sizeof lab[ch], "%s%d", axis_names[k], p + 1);
          snprintf(desc[ch], sizeof desc[ch], "%s plate %s",
                   pl.n_plates == 1 ? "Combined" : side_word[p], axis_names[k]);
          up[ch] = k < 3 ? "N" : "Nmm";
        }
      if (pl.cells)
        for (int c = 0; c < STANCE_N_CELLS; c++) {
          size_t ch = (size_t)(12 + c);
          snprintf(lab[ch], sizeof lab[ch], "%c%d", c < 4 ? 'L' : 'R', c % 4 + 1);
          static const char *const pos[4] = {"front-left", "front-right", "rear-right",
                                             "rear-left"};
          snprintf(desc[ch], sizeof desc[ch], "%s plate cell %d (%s) force", side_word[c / 4],
                   c % 4 + 1, pos[c % 4]);
          up[ch] = "N";
        }
      for (size_t ch = 0; ch < nch; ch++) {
        lp[ch] = lab[ch];
        dp[ch] = desc[ch];
      }
      w_strs(&b, G_ANALOG, "LABELS", lp, nch, false, "Channel labels");
      w_strs(&b, G_ANALOG, "DESCRIPTIONS", dp, nch, false, "Channel descriptions");
      w_strs(&b, G_ANALOG, "UNITS", up, nch, false, "Channel units");
      w_num(&b, G_ANALOG, "SCALE", STANCE_C3D_REAL, 1, dim1, scale, "Channel scale factors");
      w_num(&b, G_ANALOG, "OFFSET", STANCE_C3D_INT, 1, dim1, offs, "Channel offsets");
    }
    free(lab);
    free(desc);
    free(lp);
    free(dp);
    free(up);
    free(offs);
  }
  w_real1(&b, G_ANALOG, "GEN_SCALE", 1.0, "General scale factor");
  w_real1(&b, G_ANALOG, "RATE", rate, "Analog sample rate (Hz)");
  w_str(&b, G_ANALOG, "FORMAT", "SIGNED", "Integer data are signed");
  w_int1(&b, G_ANALOG, "BITS", 16, "Resolution of integer data");

  w_group(&b, G_FP, "FORCE_PLATFORM", "Force platform parameters");
  {
    int np = pl.n_plates;
    w_int1(&b, G_FP, "USED", np, "Number of force platforms");
    double types[2] = {2, 2}, zero[2] = {0, 0}, corners[24], origin[6] = {0}, chans[12];
    double cal[72] = {0};
    int d1[1] = {np}, d2[1] = {2}, dc[3] = {3, 4, np}, dor[2] = {3, np}, dch[2] = {6, np},
        dcal[3] = {6, 6, np};
    for (int p = 0; p < np; p++) {
      /* Quadrants of the platform frame (x = lab X, y = -lab Y): +x+y, -x+y, -x-y, +x-y. */
      double hx = pl.width[p] / 2, hy = pl.length[p] / 2, cx = pl.lab_x[p], cy = pl.lab_y[p];
      double q[4][2] = {
          {cx + hx, cy - hy}, {cx - hx, cy - hy}, {cx - hx, cy + hy}, {cx + hx, cy + hy}};
      for (int k = 0; k < 4; k++) {
        corners[p * 12 + k * 3 + 0] = q[k][0];
        corners[p * 12 + k * 3 + 1] = q[k][1];
        corners[p * 12 + k * 3 + 2] = 0.0;
      }
      for (int k = 0; k < 6; k++)
        chans[p * 6 + k] = 6 * p + k + 1;
    }
    w_num(&b, G_FP, "TYPE", STANCE_C3D_INT, 1, d1, types,
          "Type 2: Fx Fy Fz Mx My Mz, already in N and Nmm");
    w_num(&b, G_FP, "ZERO", STANCE_C3D_INT, 1, d2, zero,
          "No baseline: the forces are already zeroed");
    w_num(&b, G_FP, "CORNERS", STANCE_C3D_REAL, 3, dc, corners, "Corners in the lab (mm)");
    w_num(&b, G_FP, "ORIGIN", STANCE_C3D_REAL, 2, dor, origin,
          "Moments are about the centre of the surface");
    w_num(&b, G_FP, "CHANNEL", STANCE_C3D_INT, 2, dch, chans, "Analog channels of each platform");
    w_num(&b, G_FP, "CAL_MATRIX", STANCE_C3D_REAL, 3, dcal, cal, "Not used by type 2");
  }

  w_group(&b, G_TRIAL, "TRIAL", "Trial parameters");
  {
    double start[2] = {1, 0};
    double end[2] = {(double)(int16_t)(uint16_t)(n_frames & 0xffff),
                     (double)(int16_t)(uint16_t)(n_frames >> 16)};
    int d2[1] = {2};
    w_num(&b, G_TRIAL, "ACTUAL_START_FIELD", STANCE_C3D_INT, 1, d2, start,
          "First frame (low, high word)");
    w_num(&b, G_TRIAL, "ACTUAL_END_FIELD", STANCE_C3D_INT, 1, d2, end,
          "Last frame (low, high word)");
    w_real1(&b, G_TRIAL, "CAMERA_RATE", point_rate, "Frame rate (Hz)");
  }

  w_group(&b, G_SUBJECTS, "SUBJECTS", "Subjects");
  w_int1(&b, G_SUBJECTS, "USED", m->athlete[0] ? 1 : 0, "Number of subjects");
  if (m->athlete[0])
    w_str(&b, G_SUBJECTS, "NAMES", m->athlete, "Athlete");

  w_group(&b, G_MANUF, "MANUFACTURER", "Software that wrote the file");
  w_str(&b, G_MANUF, "COMPANY", "Stance", "");
  w_str(&b, G_MANUF, "SOFTWARE", "Stance", "Twin force plates, open source (GPL-3.0-or-later)");
  w_str(&b, G_MANUF, "VERSION_LABEL", STANCE_VERSION, "");

  w_group(&b, G_STANCE, "STANCE", "Stance recording (docs/formats.md, C3D export)");
  w_int1(&b, G_STANCE, "FORMAT_VERSION", 1, "Version of this group's layout");
  w_str(&b, G_STANCE, "LAYOUT", stance_layout_name(rec->layout), "cells, plates or combined");
  w_str(&b, G_STANCE, "PROTOCOL", stance_protocol_name(m->protocol), "Test protocol id");
  w_str(&b, G_STANCE, "SIDE", stance_side_name(m->side), "both, left or right");
  {
    char st[96];
    stance_side_text(st, sizeof st, m->protocol, m->side);
    w_str(&b, G_STANCE, "SIDE_TEXT", st, "Side in the protocol's words");
  }
  if (m->athlete[0])
    w_str(&b, G_STANCE, "ATHLETE", m->athlete, "Athlete name or pseudonym (UTF-8)");
  if (m->start_unix_ms > 0) {
    char iso[48];
    iso_utc(m->start_unix_ms, iso, sizeof iso);
    if (iso[0])
      w_str(&b, G_STANCE, "START_UTC", iso, "Start of the recording (UTC)");
  }
  if (m->board_serial[0])
    w_str(&b, G_STANCE, "BOARD_SERIAL", m->board_serial, "Board serial number");
  if (m->firmware_version[0])
    w_str(&b, G_STANCE, "FIRMWARE", m->firmware_version, "Board firmware version");
  if (m->calibration_id[0])
    w_str(&b, G_STANCE, "CALIBRATION_ID", m->calibration_id, "Calibration used");
  if (m->source[0])
    w_str(&b, G_STANCE, "SOURCE", m->source, "Where the recording came from");
  w_int1(&b, G_STANCE, "RATE_ASSUMED", m->rate_assumed ? 1 : 0,
         "1: the source gave no rate, a default was used");
  w_int1(&b, G_STANCE, "SIDES_ASSUMED", m->sides_assumed ? 1 : 0,
         "1: which plate is left was not stated");
  w_real1(&b, G_STANCE, "SAMPLES", (double)rec->n_samples,
          "Recorded samples; the last frame is padded with zeros");
  w_int1(&b, G_STANCE, "HAS_COP", pl.cells || rec->cop_mm ? 1 : 0,
         "0: no centre of pressure, Mx = My = 0");
  {
    /* Gap ranges: first and last sample (1-based, inclusive), 255 ranges per parameter. */
    size_t n_gap = 0, n_ranges = 0;
    for (size_t i = 0; i < rec->n_samples; i++)
      if (rec->status[i] & STANCE_STATUS_GAP) {
        n_gap++;
        if (i == 0 || !(rec->status[i - 1] & STANCE_STATUS_GAP))
          n_ranges++;
      }
    w_real1(&b, G_STANCE, "GAP_SAMPLES", (double)n_gap, "Samples lost (written as 0 N)");
    size_t max_params = 60;
    if (n_ranges > max_params * GAPS_PER_PARAM) {
      free(v);
      free(scale);
      free(b.buf);
      return stance_error_set(err, STANCE_ERANGE,
                              "the recording has %zu separate gaps; the C3D export lists at most "
                              "%zu",
                              n_ranges, max_params * GAPS_PER_PARAM);
    }
    double *gr = malloc((n_ranges ? n_ranges : 1) * 2 * sizeof(double));
    if (!gr) {
      b.oom = true;
    } else {
      size_t k = 0;
      for (size_t i = 0; i < rec->n_samples; i++)
        if (rec->status[i] & STANCE_STATUS_GAP) {
          if (i == 0 || !(rec->status[i - 1] & STANCE_STATUS_GAP))
            gr[2 * k++] = (double)(i + 1);
          gr[2 * (k - 1) + 1] = (double)(i + 1);
        }
      int dg[2] = {2, 0};
      for (size_t s = 0; s * GAPS_PER_PARAM < n_ranges; s++) {
        size_t cnt = n_ranges - s * GAPS_PER_PARAM;
        if (cnt > GAPS_PER_PARAM)
          cnt = GAPS_PER_PARAM;
        char nm[16];
        if (s == 0)
          snprintf(nm, sizeof nm, "GAPS");
        else
          snprintf(nm, sizeof nm, "GAPS%zu", s + 1);
        dg[1] = (int)cnt;
        w_num(&b, G_STANCE, nm, STANCE_C3D_REAL, 2, dg, gr + 2 * s * GAPS_PER_PARAM,
              "Lost samples: first, last (1-based) per range");
      }
      free(gr);
    }
  }
  if (pl.cells) {
    double pos[16];
    int d8[1] = {8}, dp[3] = {2, 4, 2};
    for (int p = 0; p < 2; p++)
      for (int k = 0; k < 4; k++) {
        pos[p * 8 + k * 2] = rec->calib.plate[p].cell[k].x_mm;
        pos[p * 8 + k * 2 + 1] = rec->calib.plate[p].cell[k].y_mm;
      }
    w_num(&b, G_STANCE, "CAL_GAIN", STANCE_C3D_REAL, 1, d8, rec->calib.gain_n_per_count,
          "Cell gains (N/count), L1-L4, R1-R4");
    w_num(&b, G_STANCE, "CAL_OFFSET", STANCE_C3D_REAL, 1, d8, rec->calib.offset_counts,
          "Cell offsets (counts), L1-L4, R1-R4");
    w_num(&b, G_STANCE, "CELL_POS", STANCE_C3D_REAL, 3, dp, pos,
          "Cell x, y (mm, plate frame: x right, y forward)");
    if (rec->calib.id[0])
      w_str(&b, G_STANCE, "CAL_ID", rec->calib.id, "Id of the calibration record");
  }
  if (m->n_extra > 0) {
    const char *keys[STANCE_META_MAX_EXTRA], *vals[STANCE_META_MAX_EXTRA];
    int n = m->n_extra < STANCE_META_MAX_EXTRA ? m->n_extra : STANCE_META_MAX_EXTRA;
    for (int k = 0; k < n; k++) {
      keys[k] = m->extra[k].key;
      vals[k] = m->extra[k].value;
    }
    w_strs(&b, G_STANCE, "META_KEYS", keys, (size_t)n, false, "Free metadata keys");
    w_strs(&b, G_STANCE, "META_VALUES", vals, (size_t)n, false, "Free metadata values");
  }

  /* The last record points nowhere: 0 ends the section. */
  if (!b.oom && b.has_last)
    put_u16_at(b.buf + b.last_ptr, 0, b.proc);
  size_t plen = b.len;
  size_t pblocks = (plen + BLOCK - 1) / BLOCK;
  if (!b.oom && pblocks > MAX_PARAM_BLOCKS) {
    free(v);
    free(scale);
    free(b.buf);
    return stance_error_set(err, STANCE_ERANGE,
                            "the parameters need %zu blocks; C3D allows at most 255", pblocks);
  }
  int data_block = 2 + (int)pblocks;
  if (!b.oom) {
    b.buf[2] = (uint8_t)pblocks;
    put_u16_at(b.buf + data_start_at, (unsigned)data_block, b.proc);
  }
  uint8_t *params = b.buf;
  bool oom = b.oom;

  /* ---- the whole file ---- */
  size_t wsize = opt.integer_data ? 2 : 4;
  size_t frame_bytes = nch * (size_t)N * wsize;
  size_t data_len = n_frames * frame_bytes;
  size_t total = (size_t)(data_block - 1) * BLOCK + (data_len + BLOCK - 1) / BLOCK * BLOCK;
  uint8_t *f = oom ? NULL : calloc(1, total);
  if (!f) {
    free(v);
    free(scale);
    free(params);
    return stance_error_set(err, STANCE_ENOMEM, "out of memory for a %zu-byte C3D file", total);
  }
  StanceC3dProcessor pr = opt.processor;
  f[0] = 2;
  f[1] = C3D_KEY;
  put_u16_at(f + 2, 0, pr);
  put_u16_at(f + 4, (unsigned)(nch * (size_t)N), pr);
  put_u16_at(f + 6, 1, pr);
  put_u16_at(f + 8, (unsigned)(n_frames > 65535 ? 65535 : n_frames), pr);
  put_u16_at(f + 10, 0, pr);
  put_f32_at(f + 12, opt.integer_data ? 1.0f : -1.0f, pr);
  put_u16_at(f + 16, (unsigned)data_block, pr);
  put_u16_at(f + 18, (unsigned)N, pr);
  put_f32_at(f + 20, (float)point_rate, pr);
  put_u16_at(f + 298, EVENT_KEY, pr);
  put_u16_at(f + 300, 0, pr);
  memcpy(f + BLOCK, params, plen);
  free(params);

  uint8_t *q = f + (size_t)(data_block - 1) * BLOCK;
  for (size_t i = 0; i < n_frames * (size_t)N; i++) {
    plan_sample(&pl, i, v);
    for (size_t ch = 0; ch < nch; ch++) {
      if (opt.integer_data) {
        long raw = lrint(v[ch] / scale[ch]);
        if (raw > 32767)
          raw = 32767;
        if (raw < -32768)
          raw = -32768;
        put_u16_at(q, (unsigned)(uint16_t)(int16_t)raw, pr);
        q += 2;
      } else {
        put_f32_at(q, (float)v[ch], pr);
        q += 4;
      }
    }
  }
  free(v);
  free(scale);
  *out = f;
  *out_len = total;
  return STANCE_OK;
}

int
stance_c3d_write(const StanceRecording *rec, const char *path, StanceError *err)
{
  if (!path || !*path)
    return stance_error_set(err, STANCE_EINVAL, "no file name given");
  uint8_t *buf = NULL;
  size_t len = 0;
  int r = stance_c3d_encode(rec, NULL, &buf, &len, err);
  if (r < 0)
    return stance_error_prefix(err, "%s: ", path);

  r = stance_atomic_write(path, buf, len, err);
  free(buf);
  return r;
}
