/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "stance-protocol.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Columns: id, name, title, needs_side, allows_side, has_reps, is_jump, uses_bar. */
static const StanceProtocolInfo protocols[] = {
    {STANCE_PROTO_CMJ, "cmj", "Countermovement jump", false, false, false, true, false},
    {STANCE_PROTO_SJ, "sj", "Squat jump", false, false, false, true, false},
    {STANCE_PROTO_DJ, "dj", "Drop jump", false, false, false, true, false},
    {STANCE_PROTO_SL_CMJ, "sl-cmj", "Single-leg countermovement jump", true, true, false, true,
     false},
    {STANCE_PROTO_SL_HOP, "sl-hop", "Single-leg hops", true, true, true, true, false},
    {STANCE_PROTO_POGO, "pogo", "Pogo hops", false, false, true, true, false},
    {STANCE_PROTO_IMTP, "imtp", "Isometric mid-thigh pull", false, true, false, false, false},
    {STANCE_PROTO_ISO_SQUAT, "iso-squat", "Isometric squat", false, true, false, false, false},
    {STANCE_PROTO_SPLIT_SQUAT, "split-squat", "Split squat", true, true, true, false, false},
    {STANCE_PROTO_LUNGE, "lunge", "Lunge", true, true, true, false, false},
    {STANCE_PROTO_STEP_UP, "step-up", "Step-up", true, true, true, false, false},
    {STANCE_PROTO_SL_SQUAT, "sl-squat", "Single-leg squat", true, true, true, false, false},
    {STANCE_PROTO_SL_RDL, "sl-rdl", "Single-leg Romanian deadlift", true, true, true, false, false},
    {STANCE_PROTO_BACK_SQUAT, "back-squat", "Back squat", false, false, true, false, true},
    {STANCE_PROTO_DEADLIFT, "deadlift", "Deadlift", false, false, true, false, true},
    {STANCE_PROTO_QUIET_STANDING, "quiet-standing", "Quiet standing", false, false, false, false,
     false},
    {STANCE_PROTO_SL_BALANCE, "sl-balance", "Single-leg balance", true, true, false, false, false},
    {STANCE_PROTO_WEIGH_IN, "weigh-in", "Weigh-in", false, false, false, false, false},
};

const StanceProtocolInfo *
stance_protocol_info(StanceProtocol p)
{
  for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++)
    if (protocols[i].id == p)
      return &protocols[i];
  return NULL;
}

static bool
name_equal(const char *a, const char *b)
{
  for (; *a && *b; a++, b++) {
    char ca = (char)tolower((unsigned char)*a), cb = (char)tolower((unsigned char)*b);
    if (ca == '_')
      ca = '-';
    if (cb == '_')
      cb = '-';
    if (ca != cb)
      return false;
  }
  return *a == *b;
}

StanceProtocol
stance_protocol_from_name(const char *name)
{
  if (!name)
    return STANCE_PROTO_UNKNOWN;
  for (size_t i = 0; i < sizeof protocols / sizeof protocols[0]; i++)
    if (name_equal(name, protocols[i].name))
      return protocols[i].id;
  return STANCE_PROTO_UNKNOWN;
}

const char *
stance_protocol_name(StanceProtocol p)
{
  const StanceProtocolInfo *info = stance_protocol_info(p);
  return info ? info->name : "unknown";
}

const char *
stance_side_name(StanceSide s)
{
  switch (s) {
  case STANCE_SIDE_LEFT: return "left";
  case STANCE_SIDE_RIGHT: return "right";
  case STANCE_SIDE_BOTH: return "both";
  default: return "unknown";
  }
}

bool
stance_side_from_name(const char *name, StanceSide *out)
{
  if (!name)
    return false;
  if (name_equal(name, "left") || name_equal(name, "l"))
    *out = STANCE_SIDE_LEFT;
  else if (name_equal(name, "right") || name_equal(name, "r"))
    *out = STANCE_SIDE_RIGHT;
  else if (name_equal(name, "both") || name_equal(name, "bilateral"))
    *out = STANCE_SIDE_BOTH;
  else
    return false;
  return true;
}

bool
stance_protocol_is_split_stance(StanceProtocol p)
{
  return p == STANCE_PROTO_SPLIT_SQUAT || p == STANCE_PROTO_LUNGE || p == STANCE_PROTO_STEP_UP;
}

const char *
stance_side_text(char *buf, size_t n, StanceProtocol p, StanceSide side)
{
  const char *name = stance_side_name(side);
  if (side == STANCE_SIDE_BOTH) {
    snprintf(buf, n, "bilateral");
    return buf;
  }
  switch (p) {
  case STANCE_PROTO_SPLIT_SQUAT:
  case STANCE_PROTO_LUNGE: snprintf(buf, n, "front foot %s", name); break;
  case STANCE_PROTO_STEP_UP: snprintf(buf, n, "stepping leg %s", name); break;
  case STANCE_PROTO_UNKNOWN: snprintf(buf, n, "%s", name); break;
  default: snprintf(buf, n, "%s leg", name); break;
  }
  return buf;
}
