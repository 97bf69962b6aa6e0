/* stance-sim-strength.c: simulated isometric pulls and squats, split squat, lunge, step-up, single-leg squat and RDL, barbell sets.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "stance-sim-private.h"

int
_stance_sim_gen_strength(StanceSimScene *s, StanceError *err)
{
  switch (s->p->protocol) {
  default:
    return stance_error_set(err, STANCE_EINVAL, "protocol '%s' is not one of the strength generator's",
                            stance_protocol_name(s->p->protocol));
  }
}
