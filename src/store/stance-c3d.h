/* stance-c3d.h: C3D export of recordings, and a C3D reader (plain C, no GLib).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * C3D (c3d.org) is the biomechanics exchange format that Visual3D, OpenSim (through ezc3d), Mokka
 * and every motion-capture vendor read. A file is a sequence of 512-byte blocks: a header block,
 * a parameter section (groups of typed, dimensioned parameters) and the data (per frame: the 3D
 * points, then the analog samples of that frame).
 *
 * Writing (stance_c3d_write, stance_c3d_encode): a recording becomes force platforms of TYPE 2
 * (Fx, Fy, Fz, Mx, My, Mz per platform, already in newtons and N.mm, ANALOG:SCALE 1) plus, for
 * CELLS recordings, the 8 cell forces as analog channels "L1".."L4", "R1".."R4" (N). No 3D points
 * (POINT:USED 0). Floats (POINT:SCALE -1), Intel byte order. Frames, sign conventions, the STANCE
 * group (protocol, side, athlete, board, calibration, gaps) and what is refused are documented in
 * docs/formats.md ("C3D export"); the essentials:
 *
 *   Lab frame: X to the athlete's right, Y forward, Z up, millimetres; plate centres at the
 *   recording geometry's centre_x/y_mm, plate surfaces at Z = 0.
 *   Platform frame (C3D convention, z into the plate): x = lab X, y = -lab Y, z = -lab Z, origin
 *   at the centre of the plate's top surface (ORIGIN 0, 0, 0). Corners in quadrant order
 *   (+x+y, -x+y, -x-y, +x-y) of that frame.
 *   Forces are the ground reaction, the plate's force on the athlete, expressed in the platform
 *   frame: Fz = -(sum of the cells), negative along the platform's downward z, as the Qualisys
 *   exports in tests/data/c3d-samples store theirs. Readers that rotate into the lab
 *   (ezc3d/OpenSim, BTK/Mokka, Visual3D) therefore give lab Fz = +(vertical force), upwards.
 *   Mx = +sum(F_i * y_i), My = +sum(F_i * x_i), Mz = 0, with (x_i, y_i) the cell positions in
 *   the Stance plate frame, so that the standard type-2 centre of pressure (x = -My/Fz,
 *   y = Mx/Fz in the platform frame) rotated into the lab is exactly the Stance centre of
 *   pressure plus the plate centre.
 *
 * Reading (stance_c3d_read, stance_c3d_read_memory): header, the whole parameter section (any
 * group/parameter order, locked flags, CHAR/BYTE/INT/REAL types, up to 7 dimensions, several
 * blocks), Intel, DEC (VAX F-float) and MIPS (big-endian) files, integer and float data. 3D points
 * are skipped (their size is counted, their values are not kept). Analog samples are returned
 * scaled: (raw - ANALOG:OFFSET) * ANALOG:SCALE * ANALOG:GEN_SCALE. Force platforms of TYPE 1, 2,
 * 3 (Kistler 8 channels, with FPCOPPOLY when present) and 4 (6x6 CAL_MATRIX) are computed per
 * analog sample, with the ZERO baseline subtracted when ZERO names a frame range. Results follow
 * the conventions of ezc3d: force, moment (about the centre of the working surface) and free
 * moment rotated into the lab frame by the CORNERS, centre of pressure in the lab frame.
 *
 * Errors: every malformed input is refused with STANCE_EFORMAT or STANCE_ETRUNC and a message that
 * names what was wrong, where (byte offset) and what was expected; nothing is read outside the
 * buffer and no output holds NaN or infinity.
 *
 * Ownership: a StanceC3d owns everything it hands out (parameters, strings, analog arrays); the
 * pointers stay valid until stance_c3d_free(). The encoder's buffer belongs to the caller (free()).
 * Threads: a StanceC3d is immutable once read and may be used from several threads at once; every
 * function is reentrant.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stance-error.h"
#include "stance-recording.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STANCE_C3D_BLOCK_SIZE 512

/* Number formats of a C3D file (the processor byte of the parameter section). */
typedef enum {
  STANCE_C3D_INTEL = 84, /* little-endian integers, IEEE floats */
  STANCE_C3D_DEC = 85,   /* little-endian integers, VAX F-floats */
  STANCE_C3D_MIPS = 86,  /* big-endian integers and IEEE floats */
} StanceC3dProcessor;

/* Parameter data types (the type byte; its magnitude is the size of one element). */
typedef enum {
  STANCE_C3D_CHAR = -1,
  STANCE_C3D_BYTE = 1,
  STANCE_C3D_INT = 2,
  STANCE_C3D_REAL = 4,
} StanceC3dType;

/* ---- Writing ---- */

typedef struct {
  /* STANCE_C3D_INTEL for exports. DEC and MIPS exist so that readers (ours and others) can be
   * tested on every number format. */
  StanceC3dProcessor processor;
  /* false (default): analog data as floats (POINT:SCALE -1). true: 16-bit integers with one
   * ANALOG:SCALE per channel chosen from the channel's range (resolution: range / 32000), for
   * tools that only read integer files. */
  bool integer_data;
} StanceC3dWriteOptions;

void stance_c3d_write_options_default(StanceC3dWriteOptions *opt);

/* Encodes rec as a C3D file into a new buffer (*out, *out_len; free() it). opt may be NULL
 * (defaults). Refuses (STANCE_ENODATA, STANCE_ERANGE, STANCE_EINVAL) what C3D cannot hold: an
 * empty recording, a rate or force that is not finite, more than 16777216 samples, metadata too
 * long for a parameter. */
int stance_c3d_encode(const StanceRecording *rec, const StanceC3dWriteOptions *opt, uint8_t **out,
                      size_t *out_len, StanceError *err);

/* Writes rec to path (Intel, floats) through a temporary file renamed into place, so a failed
 * export never leaves a partial file. */
int stance_c3d_write(const StanceRecording *rec, const char *path, StanceError *err);

/* ---- Reading ---- */

typedef struct StanceC3d StanceC3d;

typedef struct {
  int parameter_block;  /* byte 0: first block of the parameter section (1-based) */
  int key;              /* byte 1: 0x50 in every C3D file */
  int n_points;         /* word 2: 3D points per frame */
  int analog_per_frame; /* word 3: analog measurements per frame (channels x samples) */
  int first_frame;      /* word 4 (1-based, 0-65535) */
  int last_frame;       /* word 5 */
  int max_gap;          /* word 6: maximum interpolation gap (frames) */
  double point_scale;   /* words 7-8: negative means float data */
  int data_block;       /* word 9: first block of the data section (1-based) */
  int analog_samples;   /* word 10: analog samples per frame */
  double frame_rate_hz; /* words 11-12 */
  StanceC3dProcessor processor;
  int parameter_blocks; /* byte 2 of the parameter section */
  int n_events;         /* word 151 (0 when the 4-character event key is absent) */
} StanceC3dHeader;

/* One parameter. Numbers of every numeric type are given as doubles (INT is signed 16-bit; BYTE
 * unsigned 8-bit); CHAR parameters as strings: the first dimension is the string length, the
 * product of the others the number of strings (one string when there is a single dimension);
 * trailing blanks and NULs are removed. */
typedef struct {
  const char *group; /* the owning group's name */
  const char *name;
  const char *description;
  bool locked; /* the name length was stored negative */
  StanceC3dType type;
  int n_dims; /* 0 (a scalar) to 7 */
  int dims[7];
  size_t n_values;            /* numbers: product of the dims (1 for a scalar); CHAR: strings */
  const double *values;       /* numbers; NULL for CHAR */
  const char *const *strings; /* CHAR; NULL otherwise */
  size_t offset;              /* byte offset of the parameter's record in the file */
} StanceC3dParam;

int stance_c3d_read(const char *path, StanceC3d **out, StanceError *err);
/* Reads from memory; the buffer is not kept. */
int stance_c3d_read_memory(const void *data, size_t len, StanceC3d **out, StanceError *err);
void stance_c3d_free(StanceC3d *c3d);

const StanceC3dHeader *stance_c3d_header(const StanceC3d *c3d);

/* Groups in file order. */
size_t stance_c3d_group_count(const StanceC3d *c3d);
const char *stance_c3d_group_name(const StanceC3d *c3d, size_t i);
const char *stance_c3d_group_description(const StanceC3d *c3d, size_t i);
/* Number of parameters of the named group (case-insensitive); 0 when there is no such group. */
size_t stance_c3d_group_param_count(const StanceC3d *c3d, const char *group);

/* All parameters in file order. */
size_t stance_c3d_param_count(const StanceC3d *c3d);
const StanceC3dParam *stance_c3d_param_at(const StanceC3d *c3d, size_t i);
/* A parameter by "GROUP:NAME" (case-insensitive); NULL when absent. */
const StanceC3dParam *stance_c3d_param(const StanceC3d *c3d, const char *group_colon_name);

/* Number of frames (from the header, or TRIAL:ACTUAL_START_FIELD/ACTUAL_END_FIELD when the
 * header's 16-bit fields cannot hold it). */
size_t stance_c3d_frame_count(const StanceC3d *c3d);

/* Analog channels: count, samples per channel (frames x samples per frame), rate
 * (ANALOG:RATE, or the frame rate x samples per frame). */
size_t stance_c3d_analog_count(const StanceC3d *c3d);
size_t stance_c3d_analog_samples(const StanceC3d *c3d);
double stance_c3d_analog_rate(const StanceC3d *c3d);
/* Scaled values of channel (0-based), stance_c3d_analog_samples() of them; NULL when out of
 * range. */
const double *stance_c3d_analog(const StanceC3d *c3d, size_t channel);
/* ANALOG:LABELS / ANALOG:UNITS of a channel ("" when absent). */
const char *stance_c3d_analog_label(const StanceC3d *c3d, size_t channel);
const char *stance_c3d_analog_unit(const StanceC3d *c3d, size_t channel);
/* Channel index by label (exact, case-sensitive), or -1. */
int stance_c3d_analog_find(const StanceC3d *c3d, const char *label);

/* ---- Force platforms ---- */

typedef struct {
  int type;               /* FORCE_PLATFORM:TYPE */
  int n_channels;         /* 6 (types 1, 2, 4) or 8 (type 3) */
  int channel[8];         /* 0-based analog channel of each input */
  double corners[4][3];   /* lab frame, POINT:UNITS */
  double centre[3];       /* mean of the corners: the centre of the working surface */
  double origin[3];       /* FORCE_PLATFORM:ORIGIN as used (see origin_flipped) */
  bool origin_flipped;    /* ORIGIN z was positive and the vector was negated (as ezc3d does) */
  double rot[3][3];       /* platform -> lab rotation, columns = platform axes in the lab */
  double cal[6][6];       /* type 4: CAL_MATRIX; identity otherwise */
  double cop_poly[12];    /* type 3: FPCOPPOLY (zeros when absent) */
  int zero[2];            /* FORCE_PLATFORM:ZERO (frames, 1-based within the file) */
  bool baseline_applied;  /* a baseline was averaged over the ZERO frames and is subtracted */
  double baseline[8];     /* per input channel, in scaled analog units */
  char force_unit[16];    /* ANALOG:UNITS of the first force channel, or "N" */
  char moment_unit[24];   /* ANALOG:UNITS of the Mx channel (types 2, 4), or force x position */
  char position_unit[16]; /* POINT:UNITS, or "mm" when absent */
} StanceC3dPlatform;

/* Result at one analog sample, ezc3d's conventions: everything in the lab frame. */
typedef struct {
  double force[3];        /* force unit */
  double moment[3];       /* about the centre of the working surface, force x position units */
  double cop[3];          /* centre of pressure, position unit */
  double free_moment[3];  /* moment left once the force acts at the CoP (Tz rotated) */
  double cop_platform[2]; /* CoP in the platform frame, relative to the surface centre */
  bool cop_defined;       /* Fz != 0 (otherwise cop is the surface centre) */
} StanceC3dWrench;

int stance_c3d_platform_count(const StanceC3d *c3d);
/* The platform's description. Fails (STANCE_EFORMAT with the parameter that is wrong, or
 * STANCE_ENOTAVAIL for a type this reader does not compute) when its parameters do not describe
 * it; the rest of the file stays readable. */
int stance_c3d_platform(const StanceC3d *c3d, int platform, const StanceC3dPlatform **out,
                        StanceError *err);
/* Force, moment and CoP of platform (0-based) at analog sample i. */
int stance_c3d_platform_wrench(const StanceC3d *c3d, int platform, size_t sample,
                               StanceC3dWrench *out, StanceError *err);

#ifdef __cplusplus
}
#endif
