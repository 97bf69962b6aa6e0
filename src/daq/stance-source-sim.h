/* stance-source-sim.h: the simulated plates as a streaming device source.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Streams the simulator (stance-sim.h, plain C physics) through the same interface as a board:
 * layout CELLS, 8 raw counts per sample, the simulator's calibration, rates 500-4000 Hz. The
 * pacing thread releases samples by the wall clock (realtime) or as fast as the consumer drains
 * (realtime FALSE: for tests and `record` of a fixed duration without waiting). When the simulated
 * protocol ends, the stream continues with the next repetition (seed + 1), so a live view never
 * runs dry; a fixed-length recording is cut by its consumer.
 */
#pragma once

#include "stance-sim.h"
#include "stance-source.h"

G_BEGIN_DECLS

#define STANCE_TYPE_SIM_SOURCE (stance_sim_source_get_type())
G_DECLARE_FINAL_TYPE(StanceSimSource, stance_sim_source, STANCE, SIM_SOURCE, StanceSource)

/* params are copied; their rate is the initial rate. NULL + STANCE_DAQ_ERROR_INVALID when the
 * parameters do not validate. */
StanceSource *stance_sim_source_new(const StanceSimParams *params, gboolean realtime,
                                    GError **error);

G_END_DECLS
