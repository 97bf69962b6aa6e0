/* stance-sim-balance.c: simulated quiet standing, single-leg balance and weigh-in.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#include "stance-sim-private.h"

int
_stance_sim_gen_balance(StanceSimScene *s, StanceError *err)
{
  switch (s->p->protocol) {
  default:
    return stance_error_set(err, STANCE_EINVAL, "protocol '%s' is not one of the balance generator's",
                            stance_protocol_name(s->p->protocol));
  }
}
