/* stance-sim-jumps.c: simulated CMJ, SJ, DJ, single-leg CMJ, single-leg hops and pogo hops.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "stance-sim-private.h"

int
_stance_sim_gen_jumps(StanceSimScene *s, StanceError *err)
{
  switch (s->p->protocol) {
  default:
    return stance_error_set(err, STANCE_EINVAL, "protocol '%s' is not one of the jumps generator's",
                            stance_protocol_name(s->p->protocol));
  }
}
