/* stance-condition.h: signal conditioning of force series (plain C, GSL and FFTW).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Force series here are arrays of newtons at one rate, with an optional per-sample "bad" mask
 * (1 = gap or saturated sample: never used for weighing, spectra or filtering, never
 * interpolated). Nothing here modifies its input except where a function says it writes `out`.
 *
 *  - weighing: body weight and its SD from a window of quiet standing, by a named rule
 *    (the stillest window, as Stance does by default, or the first window of the recording, as
 *    the shiny-vertical-jump app and AccuPower do);
 *  - unloaded plates: offset and noise of a plate while nobody stands on it (before stepping on,
 *    flight), used for zeroing and for the "5 SD of the unloaded plate" takeoff threshold;
 *  - zero-lag Butterworth low-pass (forward-backward; the cutoff given is the -3 dB point of the
 *    combined filter, Winter's correction applied to the single pass);
 *  - Welch power spectrum of the still period (FFTW): noise floor and mains hum at 50/60 Hz;
 *  - Winter's residual analysis suggesting a cutoff;
 *  - spikes by a Hampel (median-absolute-deviation) filter (own sliding-window code: GSL's
 *    gsl_filter_impulse cannot leave bad samples out of its windows): flagged, never removed.
 *
 * Threads: reentrant; FFTW plans are made with FFTW_ESTIMATE under a process-wide lock inside
 * stance-condition.c (FFTW's planner is not thread-safe), execution is lock-free.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stance-error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Weighing ---- */

typedef enum {
  STANCE_WEIGH_STILLEST = 0, /* the window of lowest SD among loaded, gap-free windows */
  STANCE_WEIGH_FIRST,        /* the first window_s of the recording (must be loaded and clean) */
  STANCE_WEIGH_AUTO,         /* analysis options only (resolved by stance_analyse()): FIRST when
                                that window is still, else STILLEST */
} StanceWeighRule;

typedef struct {
  StanceWeighRule rule;
  double window_s;    /* window length, default 1.0 s (at least 1 s for STILLEST) */
  double min_force_n; /* a window counts as loaded when its mean exceeds this (default 200 N;
                         pass about 100 N for a single-leg stance of a child) */
  double max_sd_n;    /* the window is "still" only when its SD is at most this (default 15 N) */
  double max_cv_pct;  /* ... and its SD at most this % of its mean (default 2 %) */
  size_t search_from; /* search [search_from, search_to) only; search_to 0 = to the end */
  size_t search_to;
} StanceWeighOptions;

void stance_weigh_options_default(StanceWeighOptions *o);

typedef struct {
  bool found;    /* a window met the stillness criteria */
  double mean_n; /* mean force of the window (body weight when found) */
  double sd_n;   /* its sample SD */
  size_t start, len;
  /* When !found: the best window seen (lowest SD), for the flag's message; len 0 when no loaded
   * window exists at all. */
} StanceWeighing;

/* Weighs f[0..n). Returns 0 (check out->found) or STANCE_EINVAL / STANCE_ENODATA (fewer samples
 * than one window: the message says how many are needed). */
int stance_cond_weigh(const double *f, const uint8_t *bad, size_t n, double rate_hz,
                      const StanceWeighOptions *o, StanceWeighing *out, StanceError *err);

/* ---- Unloaded plates ---- */

typedef struct {
  bool found;        /* an unloaded stretch of at least min_s was found */
  double mean_n;     /* offset of the plate unloaded (what zeroing removes) */
  double sd_n;       /* its noise */
  size_t start, len; /* the longest unloaded stretch */
} StanceUnloaded;

/* Finds the longest stretch of at least min_s (e.g. 0.1 s) where f stays below load_threshold_n
 * (e.g. 50 N: nobody on the plate, including a plate whose zero has drifted a little) and
 * measures it, ignoring its first and last 10 ms (the edges of takeoff and landing). */
int stance_cond_unloaded(const double *f, const uint8_t *bad, size_t n, double rate_hz,
                         double load_threshold_n, double min_s, StanceUnloaded *out,
                         StanceError *err);

/* ---- Filtering ---- */

/* Zero-lag Butterworth low-pass of x into y (may alias x): a Butterworth of order/2 run forward
 * and backward (order is the total, even, 2..8), its single-pass cutoff corrected so the pair is
 * -3 dB at cutoff_hz. Runs separately on each stretch between bad samples (bad samples copied
 * through untouched); stretches shorter than 3 * order samples are copied unfiltered. The ends
 * are padded by odd reflection (3 * order samples) to avoid start-up transients. STANCE_EINVAL
 * when order is odd or out of range, or cutoff_hz is not in (0, rate/2). */
int stance_cond_lowpass(const double *x, const uint8_t *bad, size_t n, double rate_hz, int order,
                        double cutoff_hz, double *y, StanceError *err);

/* Winter's residual analysis (Winter, Biomechanics and Motor Control of Human Movement, 4th ed.,
 * 2009, sect. 3.4.4.3): residual R(fc) = RMS(x - lowpass(x, fc)) for fc from 1 Hz up to
 * min(rate / 4, 100 Hz) in 1 Hz steps; a line fitted to the residuals of the highest fifth of
 * cutoffs (the noise region) gives the noise intercept a; the suggested cutoff is the lowest fc
 * with R(fc) <= a. Uses the bad-free stretch [start, start + len). */
int stance_cond_residual_cutoff(const double *x, size_t start, size_t len, double rate_hz,
                                double *cutoff_hz, StanceError *err);

/* ---- Spectrum ---- */

typedef struct {
  double noise_floor_n; /* RMS of the detrended still signal's spectrum from 1 Hz to rate/2, N */
  double mains_hz;      /* 50 or 60 when a hum line stands out, else 0 */
  double mains_amp_n;   /* amplitude of that line (sinusoid amplitude, N) */
  double df_hz;         /* frequency resolution of the estimate */
} StanceSpectrumQuality;

/* Welch power spectral density of x[start, start + len) (Hann windows of seg_len samples, 50 %
 * overlap, mean removed per segment, one-sided, N^2/Hz): psd[k] at k * rate / seg_len for
 * k = 0..seg_len/2. The caller allocates psd with seg_len/2 + 1 values. seg_len is a power of
 * two >= 16 and <= len. */
int stance_cond_welch(const double *x, size_t start, size_t len, double rate_hz, size_t seg_len,
                      double *psd, StanceError *err);

/* Noise floor and mains hum of a still stretch (at least 1 s, rate >= 200 Hz for the hum): a line
 * at 50 or 60 Hz counts as hum when its power exceeds 10 times the median PSD of the 30-90 Hz
 * band (the line's own bins left out). */
int stance_cond_spectrum_quality(const double *x, size_t start, size_t len, double rate_hz,
                                 StanceSpectrumQuality *out, StanceError *err);

/* The process-wide lock around FFTW's planner (plan creation and destruction, fftw_malloc of
 * plan buffers): every FFTW user in the analysis takes it; executing a plan needs no lock. */
void stance_fftw_lock(void);
void stance_fftw_unlock(void);

/* ---- Spikes ---- */

/* Hampel filter: sample i is a spike when |x[i] - median| > k * 1.4826 * MAD over the window
 * i +- half_window (defaults 5 samples and k = 6 when 0 is passed), and the deviation also
 * exceeds min_dev_n (so quantisation noise on a still plate is never a spike; 0 = the default
 * max(10 N, 10 x the series' noise SD from its first differences)). Sets spike[i] to 1
 * (0 elsewhere) and *n_spikes. Bad samples are never spikes. */
int stance_cond_spikes(const double *x, const uint8_t *bad, size_t n, int half_window, double k,
                       double min_dev_n, uint8_t *spike, size_t *n_spikes, StanceError *err);

#ifdef __cplusplus
}
#endif
