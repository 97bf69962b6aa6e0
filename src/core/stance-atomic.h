/* stance-atomic.h: files written atomically: all of the new content or none of it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The data goes to a temporary file beside the target (".<name>.XXXXXX", same folder so that
 * rename() is atomic), which commit flushes, fsyncs, closes and renames over the target, then
 * fsyncs the folder (best effort). A failure at any step removes the temporary file and leaves any
 * existing target untouched; the message names the path, the OS reason and the step. A new file is
 * created 0600 (athletes' health data: readable by its owner only); a file being replaced keeps its
 * permission bits.
 *
 * Every writer of a user-visible file uses this: .stance and C3D files, CLI outputs, CSV exports,
 * the PDF report. Threads: reentrant; a StanceAtomicFile belongs to one thread.
 */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "stance-error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  FILE *fp;       /* write here between open and commit */
  char *path;     /* the target */
  char *tmp_path; /* the temporary file */
} StanceAtomicFile;

/* Creates the temporary file (STANCE_EIO naming the folder when it cannot). */
int stance_atomic_open(StanceAtomicFile *f, const char *path, StanceError *err);
/* Flushes, syncs, closes and renames; on failure removes the temporary file. Either way f is
 * released. A write error that happened earlier on f->fp (a full disk) is reported here. */
int stance_atomic_commit(StanceAtomicFile *f, StanceError *err);
/* Removes the temporary file and releases f (safe on a released or zeroed f). */
void stance_atomic_abort(StanceAtomicFile *f);

/* Writes len bytes of buf to path atomically. */
int stance_atomic_write(const char *path, const void *buf, size_t len, StanceError *err);

#ifdef __cplusplus
}
#endif
