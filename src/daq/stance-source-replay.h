/* stance-source-replay.h: a recorded file played back as a device source.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reads a .stance file (or any file stance-import understands) at open() and streams it at
 * `speed` times real time (1.0 = as recorded; 0 = as fast as the consumer drains). The layout,
 * rate, calibration and status bits are the file's; gap samples in the file come out as index
 * jumps, exactly as from a board. At the end the source emits ENDED.
 */
#pragma once

#include "stance-source.h"

G_BEGIN_DECLS

#define STANCE_TYPE_REPLAY_SOURCE (stance_replay_source_get_type())
G_DECLARE_FINAL_TYPE(StanceReplaySource, stance_replay_source, STANCE, REPLAY_SOURCE, StanceSource)

/* speed >= 0 and finite, else NULL + STANCE_DAQ_ERROR_INVALID. The file is read by open(). */
StanceSource *stance_replay_source_new(const char *path, double speed, GError **error);

G_END_DECLS
