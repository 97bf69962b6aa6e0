/* stance-bytes.h: fixed-width integers and doubles in a byte buffer, little- and big-endian.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Header-only (static inline, nothing to link) and needing only <stdint.h> and <string.h>, so the
 * same definitions serve the host core (stance-file.c, src/store/stance-c3d.c) and the wire codec
 * (src/daq/stance-wire.c), which the firmware also compiles with nothing but those two headers.
 *
 * Every value is moved a byte at a time: the code does not depend on the machine's byte order or on
 * the buffer's alignment. The caller owns the buffers and has checked their length; these
 * functions read or write exactly 2, 4 or 8 bytes at p. They touch no shared state, so any thread
 * may call them.
 */
#ifndef STANCE_BYTES_H
#define STANCE_BYTES_H

#include <stdint.h>
#include <string.h>

/* ---- little-endian ---- */

static inline void
stance_put_le16(uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static inline void
stance_put_le32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static inline void
stance_put_le64(uint8_t *p, uint64_t v)
{
  stance_put_le32(p, (uint32_t)v);
  stance_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t
stance_get_le16(const uint8_t *p)
{
  return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t
stance_get_le32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t
stance_get_le64(const uint8_t *p)
{
  return (uint64_t)stance_get_le32(p) | (uint64_t)stance_get_le32(p + 4) << 32;
}

/* ---- big-endian (C3D files written by MIPS processors) ---- */

static inline void
stance_put_be16(uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static inline void
stance_put_be32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static inline uint16_t
stance_get_be16(const uint8_t *p)
{
  return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
stance_get_be32(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- floats and doubles as their IEEE 754 bit patterns ----
 *
 * memcpy, not a pointer cast or a union, so there is no aliasing question; compilers turn these
 * into a register move. No floating-point arithmetic is done: NaN payloads and the sign of zero
 * survive, and the firmware build needs no FPU or soft-float routine for them. */

static inline uint32_t
stance_f32_bits(float f)
{
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float
stance_bits_f32(uint32_t u)
{
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static inline void
stance_put_le_f64(uint8_t *p, double v)
{
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  stance_put_le64(p, u);
}

static inline double
stance_get_le_f64(const uint8_t *p)
{
  uint64_t u = stance_get_le64(p);
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}

#endif /* STANCE_BYTES_H */
