/* stance-protocol.h: the test protocols Stance knows, with their stable ids.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The id strings ("cmj", "split-squat", ...) are stable: they are written into .stance files, the
 * store and every JSON output. Threads: constant tables, callable from any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  STANCE_PROTO_UNKNOWN = 0,
  STANCE_PROTO_CMJ,            /* bilateral countermovement jump */
  STANCE_PROTO_SJ,             /* bilateral squat jump */
  STANCE_PROTO_DJ,             /* drop jump (from a box onto the plates) */
  STANCE_PROTO_SL_CMJ,         /* single-leg countermovement jump (side = left|right) */
  STANCE_PROTO_SL_HOP,         /* single-leg hops in place (side) */
  STANCE_PROTO_POGO,           /* repeated bilateral pogo hops */
  STANCE_PROTO_IMTP,           /* isometric mid-thigh pull (bilateral or single-leg) */
  STANCE_PROTO_ISO_SQUAT,      /* isometric squat (bilateral or single-leg) */
  STANCE_PROTO_SPLIT_SQUAT,    /* split squat reps (side = front foot) */
  STANCE_PROTO_LUNGE,          /* forward lunge reps (side = front foot) */
  STANCE_PROTO_STEP_UP,        /* step-up reps (side = stepping leg) */
  STANCE_PROTO_SL_SQUAT,       /* single-leg squat reps (side) */
  STANCE_PROTO_SL_RDL,         /* single-leg Romanian deadlift reps (side) */
  STANCE_PROTO_BACK_SQUAT,     /* bilateral barbell back squat sets */
  STANCE_PROTO_DEADLIFT,       /* bilateral barbell deadlift sets */
  STANCE_PROTO_QUIET_STANDING, /* bilateral quiet standing */
  STANCE_PROTO_SL_BALANCE,     /* single-leg balance (side) */
  STANCE_PROTO_WEIGH_IN,       /* weigh-in */
  STANCE_PROTO_COUNT
} StanceProtocol;

/* Which limb or stance. For split stances it names the FRONT foot; for single-leg tests the
 * stance limb; BOTH for bilateral tests. */
typedef enum {
  STANCE_SIDE_BOTH = 0,
  STANCE_SIDE_LEFT = 1,
  STANCE_SIDE_RIGHT = 2,
} StanceSide;

typedef struct {
  StanceProtocol id;
  const char *name;  /* stable id, e.g. "split-squat" */
  const char *title; /* human title, e.g. "Split squat" */
  bool needs_side;   /* single-leg or split stance: a side must be given */
  bool allows_side;  /* may be done single-leg or bilateral (IMTP, isometric squat) */
  bool has_reps;     /* repetitions are counted */
  bool is_jump;      /* has flight phases */
  bool uses_bar;     /* an external load is part of the system mass */
} StanceProtocolInfo;

/* Info for a protocol; NULL for STANCE_PROTO_UNKNOWN or out-of-range values. */
const StanceProtocolInfo *stance_protocol_info(StanceProtocol p);

/* Looks up an id ("cmj"); also accepts underscores for dashes and any case. UNKNOWN if none. */
StanceProtocol stance_protocol_from_name(const char *name);

/* Stable id for a protocol ("unknown" for out-of-range). */
const char *stance_protocol_name(StanceProtocol p);

/* Split stances (split-squat, lunge, step-up): both feet load the plates in different roles (front
 * and rear, stepping and trailing), so within one rep left and right are not one limb against the
 * other. */
bool stance_protocol_is_split_stance(StanceProtocol p);

/* The side in the protocol's words into buf: "bilateral", "front foot left" (split squat, lunge),
 * "stepping leg right" (step-up), "left leg" (single-leg tests), "left" (unknown protocol).
 * Returns buf. */
const char *stance_side_text(char *buf, size_t n, StanceProtocol p, StanceSide side);

/* "both", "left", "right". */
const char *stance_side_name(StanceSide s);

/* Parses "left"/"l", "right"/"r", "both"/"bilateral"; returns false when not recognised. */
bool stance_side_from_name(const char *name, StanceSide *out);

#ifdef __cplusplus
}
#endif
