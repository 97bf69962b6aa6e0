/* stance-recording.h: the recording model, the heart of the plain-C core.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A recording is a sequence of samples at one rate, in one of three layouts:
 *
 *   STANCE_LAYOUT_CELLS     8 channels of raw ADC counts (left plate cells 1-4, then right plate
 *                           cells 1-4), with the calibration that turns counts into newtons. This
 * is what our plates and the simulator produce. Raw counts are always kept. STANCE_LAYOUT_PLATES 2
 * channels of vertical force in newtons (left, right plate), optionally with each plate's centre of
 * pressure: imports of other systems' files. STANCE_LAYOUT_COMBINED  1 channel of vertical force in
 * newtons (one plate, or the sum of two), optionally with its centre of pressure.
 *
 * Plate geometry and coordinates: each plate has its own frame, origin at the plate centre, x to
 * the athlete's right (medio-lateral), y forward (antero-posterior), millimetres, seen from above.
 * Cells are numbered clockwise from above starting front-left: 1 front-left, 2 front-right,
 * 3 rear-right, 4 rear-left. Channel c = plate * 4 + (cell - 1), plate 0 = left, 1 = right.
 *
 * Force of one cell: F = (counts - offset) * gain  [N]. Plate Fz = sum of its 4 cells.
 * Centre of pressure: x = sum(F_i * x_i) / Fz, y likewise; defined only where Fz > threshold.
 *
 * Gaps: a sample whose STANCE_STATUS_GAP bit is set was not received (dropped frame, CRC failure,
 * unplugged board). It keeps its place in time so later samples stay aligned, its values are 0 and
 * must not be used; nothing is ever interpolated.
 *
 * Ownership: a StanceRecording owns all its arrays; stance_recording_free() releases them.
 * Threads: a recording may be read from several threads at once; writing (append, set) needs the
 * caller to hold it exclusively. Nothing here allocates behind the caller's back except append and
 * reserve, which grow the arrays geometrically.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stance-error.h"
#include "stance-protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STANCE_N_PLATES 2
#define STANCE_CELLS_PER_PLATE 4
#define STANCE_N_CELLS 8

/* ADS131M08: 24-bit two's complement; these codes mean the channel is at its rail. */
#define STANCE_ADC_MAX 8388607
#define STANCE_ADC_MIN (-8388608)

/* Default threshold below which the centre of pressure is undefined (N). */
#define STANCE_COP_THRESHOLD_N 20.0

typedef enum {
  STANCE_LAYOUT_CELLS = 0,
  STANCE_LAYOUT_PLATES = 1,
  STANCE_LAYOUT_COMBINED = 2,
} StanceLayout;

/* Which force a derived series is for. */
typedef enum {
  STANCE_SEL_LEFT = 0,
  STANCE_SEL_RIGHT = 1,
  STANCE_SEL_TOTAL = 2,
} StanceSel;

/* Per-sample status bits. */
enum {
  STANCE_STATUS_SAT_MASK = 0x00ff, /* bit c: channel c was saturated (at an ADC rail) */
  STANCE_STATUS_GAP = 0x0100,      /* sample missing: values are 0 and must not be used */
  STANCE_STATUS_OVERFLOW = 0x0200, /* the device FIFO overflowed just before this sample */
};

typedef struct {
  double x_mm, y_mm;
} StanceCellPos;

typedef struct {
  double width_mm;  /* along x */
  double length_mm; /* along y */
  StanceCellPos cell[STANCE_CELLS_PER_PLATE];
  /* Centre of this plate in the shared lab frame (left plate centre at x < 0), for drawing and C3D.
   */
  double centre_x_mm, centre_y_mm;
} StancePlateGeometry;

typedef struct {
  char id[64];                          /* calibration id, e.g. "SN0042-2026-11-24-1" */
  char board_serial[32];                /* board the calibration belongs to */
  int64_t created_unix_ms;              /* when it was made (UTC) */
  double offset_counts[STANCE_N_CELLS]; /* counts with the plates empty */
  double gain_n_per_count[STANCE_N_CELLS];
  StancePlateGeometry plate[STANCE_N_PLATES];
} StanceCalibration;

#define STANCE_META_MAX_EXTRA 32

typedef struct {
  char key[32];
  char value[160];
} StanceMetaEntry;

typedef struct {
  StanceProtocol protocol;   /* STANCE_PROTO_UNKNOWN when not known (e.g. imported files) */
  StanceSide side;           /* stance limb / front foot; BOTH for bilateral */
  char athlete[128];         /* name or pseudonym, UTF-8; may be empty */
  int64_t start_unix_ms;     /* start time (UTC, ms since 1970); 0 when unknown */
  char board_serial[32];     /* empty when not from a board */
  char firmware_version[32]; /* empty when not from a board */
  char calibration_id[64];   /* id of the calibration used; empty when none */
  char source[256];          /* "usb", "simulator", "import:<file name>", ... */
  bool rate_assumed;         /* the file gave no rate or time column and a default was used */
  bool sides_assumed;        /* which plate is left/right was not stated by the source */
  /* Free key/value pairs (simulation parameters, importer column mapping, ...). */
  StanceMetaEntry extra[STANCE_META_MAX_EXTRA];
  int n_extra;
} StanceMeta;

typedef struct {
  StanceLayout layout;
  double sample_rate_hz;
  size_t n_samples;
  size_t n_channels; /* 8 (CELLS), 2 (PLATES) or 1 (COMBINED) */
  size_t capacity;   /* samples allocated */

  int32_t *counts;  /* CELLS: n_samples * 8, interleaved by sample; NULL otherwise */
  double *force_n;  /* PLATES/COMBINED: n_samples * n_channels newtons; NULL for CELLS */
  double *cop_mm;   /* PLATES/COMBINED, optional: n_samples * n_channels * 2 (x, y); NULL if
                       the source had no centre of pressure. Meaningless below the threshold. */
  uint16_t *status; /* n_samples status words (STANCE_STATUS_*), never NULL once allocated */

  bool has_calibration; /* CELLS recordings always have one */
  StanceCalibration calib;
  StanceMeta meta;
} StanceRecording;

/* A new empty recording. with_cop only matters for PLATES/COMBINED. Returns NULL on bad
 * arguments (rate not finite or <= 0) or out of memory. */
StanceRecording *stance_recording_new(StanceLayout layout, double sample_rate_hz, bool with_cop);
void stance_recording_free(StanceRecording *rec);

/* Makes room for at least n_samples in total. */
int stance_recording_reserve(StanceRecording *rec, size_t n_samples);

/* Appends one sample of 8 counts (CELLS only). */
int stance_recording_append_counts(StanceRecording *rec, const int32_t counts[STANCE_N_CELLS],
                                   uint16_t status);
/* Appends one sample of n_channels forces (PLATES/COMBINED only). cop holds (x, y) per channel:
 * ignored when the recording has no CoP; when it has one, NULL stores (0, 0). */
int stance_recording_append_forces(StanceRecording *rec, const double *force_n,
                                   const double *cop_mm, uint16_t status);
/* Appends n missing samples (status GAP, values 0). */
int stance_recording_append_gap(StanceRecording *rec, size_t n);

/* Duration in seconds (n_samples / rate). */
double stance_recording_duration(const StanceRecording *rec);

/* True when per-limb (left/right) forces exist: CELLS and PLATES layouts. */
bool stance_recording_has_limbs(const StanceRecording *rec);

/* Number of plates whose centre of pressure can be derived: 2 (CELLS, PLATES with cop),
 * 1 (COMBINED with cop), 0 otherwise. */
int stance_recording_cop_plates(const StanceRecording *rec);

/* Force of one cell at sample i (CELLS only), newtons. */
double stance_recording_cell_force(const StanceRecording *rec, size_t i, int channel);

/* Vertical force at sample i for sel, newtons. LEFT/RIGHT need has_limbs(). Gap samples give 0. */
double stance_recording_force_at(const StanceRecording *rec, size_t i, StanceSel sel);

/* Fills out[0..n_samples) with the vertical force for sel. STANCE_ENOTAVAIL when sel is LEFT/RIGHT
 * on a COMBINED recording. */
int stance_recording_force(const StanceRecording *rec, StanceSel sel, double *out,
                           StanceError *err);

/* Centre of pressure of plate (LEFT/RIGHT; TOTAL for a COMBINED recording's single plate) in that
 * plate's frame, mm. valid[i] is 1 where the plate force exceeds threshold_n and the sample is not
 * a gap, else 0 (and x/y are 0 there). STANCE_ENOTAVAIL when the recording has no CoP. */
int stance_recording_cop(const StanceRecording *rec, StanceSel plate, double threshold_n, double *x,
                         double *y, uint8_t *valid, StanceError *err);

/* Counts of gap samples and saturated samples (any channel). */
size_t stance_recording_count_gaps(const StanceRecording *rec);
size_t stance_recording_count_saturated(const StanceRecording *rec);

/* The default twin-plate geometry: 400 x 600 mm plates, cells at (+-170, +-270) mm, plate
 * centres at x = -250 and +250 mm. Gains 1 N/count offsets 0 unless set. */
void stance_calibration_default(StanceCalibration *cal);

/* True when every gain is exactly 1 N/count: stance_calibration_default()'s placeholder, i.e. the
 * board or file carries no real calibration yet. */
bool stance_calibration_is_placeholder(const StanceCalibration *cal);

/* Checks a calibration for finite, non-zero gains and a sane geometry. */
int stance_calibration_validate(const StanceCalibration *cal, StanceError *err);

/* Sets (adds or replaces) a free metadata pair; STANCE_ERANGE when full or too long. */
int stance_meta_set(StanceMeta *meta, const char *key, const char *value);
/* Value for key or NULL. */
const char *stance_meta_get(const StanceMeta *meta, const char *key);

/* Name of a layout: "cells", "plates", "combined". */
const char *stance_layout_name(StanceLayout layout);

/* Deep copy of samples [start, start+n) into a new recording with the same metadata and
 * calibration; NULL when out of range or out of memory. */
StanceRecording *stance_recording_slice(const StanceRecording *rec, size_t start, size_t n);

#ifdef __cplusplus
}
#endif
