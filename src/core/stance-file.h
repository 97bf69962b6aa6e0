/* stance-file.h: the .stance file, one recording per file.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Versioned, little-endian, chunked and checksummed (CRC-32 per chunk); raw counts are always kept,
 * never only derived forces. The byte layout is documented in docs/formats.md. A reader refuses a
 * truncated or corrupted file, or a major version it does not know, with a message that names the
 * offset and what was expected; chunks it does not know (a newer minor version) are skipped.
 *
 * Threads: reentrant; the caller owns the returned recording.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "stance-recording.h"

#ifdef __cplusplus
extern "C" {
#endif

#define STANCE_FILE_VERSION_MAJOR 1
#define STANCE_FILE_VERSION_MINOR 0

/* Writes rec to path atomically (a temporary file in the same folder, fsync, rename). */
int stance_file_write(const StanceRecording *rec, const char *path, StanceError *err);

/* Serialises rec into a malloc'd buffer (*out, *out_len); the caller frees *out. */
int stance_file_encode(const StanceRecording *rec, uint8_t **out, size_t *out_len,
                       StanceError *err);

/* Reads a .stance file. On success *out is a new recording. */
int stance_file_read(const char *path, StanceRecording **out, StanceError *err);

/* Parses a .stance image held in memory (what stance_file_read does after reading the file). */
int stance_file_decode(const uint8_t *buf, size_t len, StanceRecording **out, StanceError *err);

/* True when the first bytes of buf are the .stance magic. */
int stance_file_is_stance(const uint8_t *buf, size_t len);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of len bytes, continuing from crc (start 0). */
uint32_t stance_crc32(uint32_t crc, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
