/* stance-bundle-private.h: what stance-session.c and stance-bundle.c share (private to
 * src/store).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Threads: as the store, one thread at a time.
 */
#pragma once

#include "stance-error.h"
#include "stance-session.h"

G_BEGIN_DECLS

/* "ATH-" + the first 8 hex digits of SHA-256(uuid) into out (13 bytes with the NUL). */
void _stance_pseudonym(const char *uuid, char out[13]);

/* "YYYY-07-01" of a "YYYY-MM-DD" birth date into out (11 bytes); "" when the date is empty.
 * Mid-year: an age computed from it is right within six months. */
void _stance_pseudonym_birth(const char *birth_date, char out[11]);

/* Sets error from a core StanceError: STANCE_STORE_ERROR_FULL when the reason is a full disk,
 * else code. The message is "<what>: <err message>", with " '<path>'" after what when the core
 * message does not name the path itself. */
void _stance_set_error_from_core(GError **error, gint code, const StanceError *err,
                                 const char *what, const char *path);

/* The bundle export of stance_session_export() (stance-bundle.c): the session into a new store
 * file at a temporary path beside path, renamed to path at the end. */
gboolean _stance_bundle_export(StanceStore *store, gint64 session_id, const char *path,
                               const StanceExportOptions *opt, GError **error);

G_END_DECLS
