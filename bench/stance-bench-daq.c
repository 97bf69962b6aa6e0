/* stance-bench-daq.c: throughput and CPU cost of the host side of the DAQ chain, without USB.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   stance-bench-daq [--frames N] [--ring-samples N] [--seconds S] [--paced S] [--runs N]
 *
 * 1. Decode: stance_wire_frame_decode() over a buffer of N valid 4 kHz frames (18 samples each),
 *    alone and with stance_wire_tracker_accept(): frames/s, MB/s, samples/s, and the ratio to the
 *    real stream of 4000 samples/s x 8 channels (222 frames/s, 114 kB/s). Target: >= 100 x on one
 *    core. Timed by the thread's CPU clock (one core), best of --runs.
 * 2. Ring: samples/s through stance_ring_push/pop between a producer and a consumer thread, in
 *    frame-sized pushes. Best of --runs.
 * 3. Full host path at 1 kHz: an acquisition thread decodes frames, tracks them and pushes the
 *    samples into the ring; a consumer thread pops them into a StanceRecording with
 *    stance_recording_append_counts(). CPU time (getrusage, user + sys, both threads) per second of
 *    streaming, first unpaced over S seconds of data (the work itself), then paced in real time for
 *    --paced seconds (a frame every 11 ms as the board sends them at 1 kHz, the consumer draining
 *    every 16 ms like a UI frame clock), which adds the cost of waking up.
 *
 * Every stage checks its output (every sample's index and counts, sums over the buffer), so a fast
 * but wrong path fails the benchmark (exit 1).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "stance-recording.h"
#include "stance-ring.h"
#include "stance-wire.h"

#define STREAM_HZ 4000.0
#define STREAM_FRAMES_PER_S (STREAM_HZ / STANCE_WIRE_SAMPLES_PER_FRAME)
#define PATH_HZ 1000
#define PATH_SAMPLES_PER_FRAME 11 /* at 1 kHz a frame leaves after 10 ms: 11 samples */
#define RING_CAPACITY 8192

static double
now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the calling thread: the decode stage runs on one core, and this keeps its figure
 * honest on a loaded machine (other processes' time is not counted). */
static double
thread_cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double
cpu_s(void)
{
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0.0;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static void
sleep_s(double s)
{
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* A plausible count for sample index i, channel c: an athlete of about 800 N swaying, plus
 * noise, around a per-channel offset (deterministic, so the consumer can check every value). */
static int32_t
count_at(uint64_t i, int c)
{
  uint64_t h = (i * 8 + (uint64_t)c) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  int32_t noise = (int32_t)(h % 61) - 30;
  int32_t sway = (int32_t)((i / 7 + (uint64_t)c * 13) % 400) - 200;
  return 480000 + 9000 * c + 4 * sway + noise;
}

/* Encodes n_frames consecutive frames of spf samples at rate code rate into buf. */
static int
encode_stream(uint8_t *buf, size_t n_frames, int spf, int rate, int64_t *sum_out)
{
  int64_t sum = 0;
  StanceWireFrame f;
  memset(&f, 0, sizeof f);
  f.rate_code = (uint8_t)rate;
  f.n_samples = (uint8_t)spf;
  StanceError err = {0};
  for (size_t k = 0; k < n_frames; k++) {
    f.seq = (uint32_t)k;
    f.first_sample = (uint64_t)k * (uint64_t)spf;
    for (int s = 0; s < spf; s++) {
      for (int c = 0; c < 8; c++) {
        f.counts[s][c] = count_at(f.first_sample + (uint64_t)s, c);
        sum += f.counts[s][c];
      }
      f.sat[s] = 0;
      f.status[s] = 0;
    }
    if (stance_wire_frame_encode(&f, buf + k * STANCE_WIRE_FRAME_SIZE, &err) != 0) {
      fprintf(stderr, "stance-bench-daq: encoding frame %zu: %s\n", k, err.message);
      return -1;
    }
  }
  *sum_out = sum;
  return 0;
}

/* ---- 1. decode ---- */

static int
bench_decode(size_t n_frames, int runs)
{
  size_t bytes = n_frames * STANCE_WIRE_FRAME_SIZE;
  uint8_t *buf = malloc(bytes);
  if (!buf)
    return -1;
  int64_t want_sum;
  if (encode_stream(buf, n_frames, STANCE_WIRE_SAMPLES_PER_FRAME, STANCE_WIRE_RATE_4000,
                    &want_sum) != 0) {
    free(buf);
    return -1;
  }
  printf("decode: %zu frames of 18 samples at 4000 Hz (%.1f MB, %.0f s of stream), one thread's "
         "CPU time\n",
         n_frames, (double)bytes / 1e6, (double)n_frames / STREAM_FRAMES_PER_S);
  for (int with_tracker = 0; with_tracker < 2; with_tracker++) {
    double best = 1e30;
    for (int run = 0; run < runs; run++) {
      StanceWireTracker t;
      stance_wire_tracker_init(&t);
      StanceError err = {0};
      StanceWireFrame f;
      int64_t sum = 0;
      double t0 = thread_cpu_s();
      for (size_t k = 0; k < n_frames; k++) {
        if (stance_wire_frame_decode(buf + k * STANCE_WIRE_FRAME_SIZE, STANCE_WIRE_FRAME_SIZE, &f,
                                     &err) != 0) {
          fprintf(stderr, "stance-bench-daq: frame %zu does not decode: %s\n", k, err.message);
          free(buf);
          return -1;
        }
        if (with_tracker) {
          uint64_t gap;
          if (stance_wire_tracker_accept(&t, &f, &gap, &err) != 0 || gap != 0) {
            fprintf(stderr, "stance-bench-daq: frame %zu refused: %s\n", k, err.message);
            free(buf);
            return -1;
          }
        }
        /* Use every decoded value, so nothing can be skipped. */
        for (int s = 0; s < f.n_samples; s++)
          for (int c = 0; c < 8; c++)
            sum += f.counts[s][c];
      }
      double dt = thread_cpu_s() - t0;
      if (sum != want_sum || (with_tracker && t.samples != n_frames * 18)) {
        fprintf(stderr, "stance-bench-daq: decoded counts differ from the encoded ones\n");
        free(buf);
        return -1;
      }
      if (dt < best)
        best = dt;
    }
    double fps = (double)n_frames / best;
    printf("  %-26s best %7.3f s  %9.0f frames/s  %7.1f MB/s  %6.2f M samples/s  = %5.0f x the "
           "4 kHz x 8-channel stream\n",
           with_tracker ? "frame_decode + tracker" : "frame_decode", best, fps,
           (double)bytes / best / 1e6, fps * 18 / 1e6, fps / STREAM_FRAMES_PER_S);
  }
  free(buf);
  return 0;
}

/* ---- 2. ring ---- */

typedef struct {
  StanceRing *ring;
  uint64_t n;
  atomic_int go;
  uint64_t producer_waits, consumer_waits;
  int bad;
} RingBench;

static void *
ring_producer(void *arg)
{
  RingBench *b = arg;
  StanceSample batch[STANCE_WIRE_SAMPLES_PER_FRAME];
  memset(batch, 0, sizeof batch);
  while (!atomic_load(&b->go))
    sched_yield();
  for (uint64_t i = 0; i < b->n;) {
    size_t n = b->n - i < 18 ? (size_t)(b->n - i) : 18;
    for (size_t k = 0; k < n; k++) {
      batch[k].index = i + k;
      batch[k].v[0] = (double)(i + k);
      batch[k].v[7] = -(double)(i + k);
    }
    size_t done = 0;
    while (done < n) {
      size_t m = stance_ring_push(b->ring, batch + done, n - done);
      if (m == 0) {
        b->producer_waits++;
        sched_yield();
      }
      done += m;
    }
    i += n;
  }
  return NULL;
}

static void *
ring_consumer(void *arg)
{
  RingBench *b = arg;
  enum { BATCH = 512 };
  StanceSample *out = malloc(BATCH * sizeof *out);
  if (!out) {
    b->bad = 1;
    return NULL;
  }
  while (!atomic_load(&b->go))
    sched_yield();
  uint64_t next = 0;
  while (next < b->n) {
    size_t m = stance_ring_pop(b->ring, out, BATCH);
    if (m == 0) {
      b->consumer_waits++;
      sched_yield();
      continue;
    }
    for (size_t k = 0; k < m; k++, next++)
      if (out[k].index != next || out[k].v[0] != (double)next || out[k].v[7] != -(double)next)
        b->bad = 1;
  }
  free(out);
  return NULL;
}

static int
bench_ring(uint64_t n, int runs)
{
  printf("ring: %llu samples (index + 8 values) through a %d-sample ring, pushes of 18, pops of "
         "up to 512, two threads\n",
         (unsigned long long)n, RING_CAPACITY);
  double best = 1e30;
  for (int run = 0; run < runs; run++) {
    RingBench b = {.n = n};
    b.ring = stance_ring_new(RING_CAPACITY);
    if (!b.ring)
      return -1;
    atomic_init(&b.go, 0);
    pthread_t pt, ct;
    if (pthread_create(&pt, NULL, ring_producer, &b) != 0 ||
        pthread_create(&ct, NULL, ring_consumer, &b) != 0) {
      fprintf(stderr, "stance-bench-daq: cannot start threads\n");
      return -1;
    }
    double t0 = now_s();
    atomic_store(&b.go, 1);
    pthread_join(pt, NULL);
    pthread_join(ct, NULL);
    double dt = now_s() - t0;
    stance_ring_free(b.ring);
    if (b.bad) {
      fprintf(stderr, "stance-bench-daq: the ring delivered a wrong or out-of-order sample\n");
      return -1;
    }
    if (dt < best)
      best = dt;
  }
  double sps = (double)n / best;
  printf("  %-26s best %7.3f s  %9.2f M samples/s  %7.1f MB/s of samples  = %5.0f x the 4 kHz "
         "stream\n",
         "push + pop", best, sps / 1e6, sps * (double)sizeof(StanceSample) / 1e6, sps / STREAM_HZ);
  return 0;
}

/* ---- 3. the full host path at 1 kHz ---- */

typedef struct {
  const uint8_t *frames;
  size_t n_frames;
  StanceRing *ring;
  StanceRecording *rec;
  bool paced;
  double t0;            /* paced: when frame 0 is due */
  double consumer_tick; /* paced: consumer period [s] */
  atomic_int producer_done;
  int bad;
  char why[600];
  StanceWireTracker tracker;
} PathBench;

static void
path_fail(PathBench *b, const char *what, const char *detail)
{
  if (!b->bad)
    snprintf(b->why, sizeof b->why, "%s: %s", what, detail);
  b->bad = 1;
}

/* Acquisition thread: what the USB source does with each received frame. */
static void *
path_producer(void *arg)
{
  PathBench *b = arg;
  StanceSample s[STANCE_WIRE_SAMPLES_PER_FRAME];
  memset(s, 0, sizeof s);
  StanceError err = {0};
  StanceWireFrame f;
  for (size_t k = 0; k < b->n_frames && !b->bad; k++) {
    if (b->paced) {
      /* A frame arrives every 11 ms, as the board sends them at 1 kHz. */
      double due = b->t0 + (double)(k + 1) * PATH_SAMPLES_PER_FRAME / PATH_HZ;
      double wait = due - now_s();
      if (wait > 0)
        sleep_s(wait);
    }
    const uint8_t *p = b->frames + k * STANCE_WIRE_FRAME_SIZE;
    uint64_t gap;
    if (stance_wire_frame_decode(p, STANCE_WIRE_FRAME_SIZE, &f, &err) != 0 ||
        stance_wire_tracker_accept(&b->tracker, &f, &gap, &err) != 0) {
      stance_wire_tracker_refuse(&b->tracker);
      path_fail(b, "frame refused", err.message);
      break;
    }
    for (int i = 0; i < f.n_samples; i++) {
      s[i].index = f.first_sample + (uint64_t)i;
      s[i].status = f.sat[i];
      if (i == 0 && f.dropped)
        s[i].status |= STANCE_STATUS_OVERFLOW;
      if (f.status[i] & STANCE_WIRE_SAMPLE_ADC_CRC)
        s[i].status |= STANCE_STATUS_GAP;
      for (int c = 0; c < 8; c++)
        s[i].v[c] = f.counts[i][c];
    }
    size_t done = 0;
    while (done < f.n_samples) {
      size_t m = stance_ring_push(b->ring, s + done, f.n_samples - done);
      if (m == 0)
        sleep_s(100e-6); /* full: the consumer is behind; wait as a real producer would */
      done += m;
    }
  }
  atomic_store(&b->producer_done, 1);
  return NULL;
}

/* Consumer thread: what the recorder does on each tick. */
static void *
path_consumer(void *arg)
{
  PathBench *b = arg;
  enum { BATCH = 1024 };
  StanceSample *out = malloc(BATCH * sizeof *out);
  if (!out) {
    path_fail(b, "consumer", "out of memory");
    return NULL;
  }
  uint64_t next = 0;
  for (;;) {
    bool done = atomic_load(&b->producer_done);
    size_t m;
    while ((m = stance_ring_pop(b->ring, out, BATCH)) > 0) {
      for (size_t k = 0; k < m; k++) {
        if (out[k].index > next) {
          if (stance_recording_append_gap(b->rec, (size_t)(out[k].index - next)) != 0)
            path_fail(b, "consumer", "append_gap failed");
          next = out[k].index;
        }
        int32_t counts[8];
        for (int c = 0; c < 8; c++)
          counts[c] = (int32_t)out[k].v[c];
        if (stance_recording_append_counts(b->rec, counts, out[k].status) != 0)
          path_fail(b, "consumer", "append_counts failed");
        next++;
      }
    }
    if (done && stance_ring_count(b->ring) == 0)
      break;
    sleep_s(b->paced ? b->consumer_tick : 200e-6);
  }
  free(out);
  return NULL;
}

/* Runs the path over the frames; returns the CPU seconds used, or a negative value. */
static double
run_path(const uint8_t *frames, size_t n_frames, bool paced, int64_t want_sum, double *wall)
{
  PathBench b = {.frames = frames, .n_frames = n_frames, .paced = paced, .consumer_tick = 1 / 60.0};
  atomic_init(&b.producer_done, 0);
  stance_wire_tracker_init(&b.tracker);
  b.ring = stance_ring_new(RING_CAPACITY);
  b.rec = stance_recording_new(STANCE_LAYOUT_CELLS, PATH_HZ, false);
  if (!b.ring || !b.rec) {
    stance_ring_free(b.ring);
    stance_recording_free(b.rec);
    return -1;
  }
  double c0 = cpu_s();
  b.t0 = now_s();
  pthread_t pt, ct;
  if (pthread_create(&pt, NULL, path_producer, &b) != 0 ||
      pthread_create(&ct, NULL, path_consumer, &b) != 0) {
    fprintf(stderr, "stance-bench-daq: cannot start threads\n");
    return -1;
  }
  pthread_join(pt, NULL);
  pthread_join(ct, NULL);
  double cpu = cpu_s() - c0;
  *wall = now_s() - b.t0;
  /* The recording must hold every sample, equal to what was encoded. */
  size_t want_n = n_frames * PATH_SAMPLES_PER_FRAME;
  int64_t sum = 0;
  for (size_t i = 0; i < b.rec->n_samples * 8; i++)
    sum += b.rec->counts[i];
  if (!b.bad && (b.rec->n_samples != want_n || sum != want_sum ||
                 stance_recording_count_gaps(b.rec) != 0 || b.tracker.samples != want_n))
    path_fail(&b, "recording", "does not hold exactly the encoded samples");
  stance_ring_free(b.ring);
  stance_recording_free(b.rec);
  if (b.bad) {
    fprintf(stderr, "stance-bench-daq: %s\n", b.why);
    return -1;
  }
  return cpu;
}

static int
bench_path(double seconds, double paced_seconds, int runs)
{
  size_t n_frames = (size_t)(seconds * PATH_HZ / PATH_SAMPLES_PER_FRAME);
  uint8_t *buf = malloc(n_frames * STANCE_WIRE_FRAME_SIZE);
  if (!buf)
    return -1;
  int64_t sum;
  if (encode_stream(buf, n_frames, PATH_SAMPLES_PER_FRAME, STANCE_WIRE_RATE_1000, &sum) != 0) {
    free(buf);
    return -1;
  }
  double data_s = (double)n_frames * PATH_SAMPLES_PER_FRAME / PATH_HZ;
  printf("full host path at 1000 Hz (frames of 11 samples): decode + tracker + ring push on one "
         "thread,\n  ring pop + stance_recording_append_counts on another\n");
  double best = 1e30, best_wall = 0;
  for (int run = 0; run < runs; run++) {
    double wall;
    double cpu = run_path(buf, n_frames, false, sum, &wall);
    if (cpu < 0) {
      free(buf);
      return -1;
    }
    if (cpu < best) {
      best = cpu;
      best_wall = wall;
    }
  }
  printf("  %-26s %.0f s of data in %.3f s: CPU %.3f s = %6.1f us of CPU per second of "
         "streaming (%.4f %% of a core)\n",
         "unpaced (the work)", data_s, best_wall, best, best / data_s * 1e6, best / data_s * 100);
  if (paced_seconds > 0) {
    size_t n_paced = (size_t)(paced_seconds * PATH_HZ / PATH_SAMPLES_PER_FRAME);
    if (n_paced > n_frames)
      n_paced = n_frames;
    int64_t paced_sum = 0;
    for (uint64_t i = 0; i < (uint64_t)n_paced * PATH_SAMPLES_PER_FRAME; i++)
      for (int c = 0; c < 8; c++)
        paced_sum += count_at(i, c);
    double wall;
    double cpu = run_path(buf, n_paced, true, paced_sum, &wall);
    if (cpu < 0) {
      free(buf);
      return -1;
    }
    printf("  %-26s %.1f s in real time: CPU %.4f s = %6.3f ms of CPU per second of streaming "
           "(%.3f %% of a core)\n",
           "paced (with wake-ups)", wall, cpu, cpu / wall * 1e3, cpu / wall * 100);
  }
  free(buf);
  return 0;
}

static void
usage(FILE *to)
{
  fprintf(to, "usage: stance-bench-daq [--frames N] [--ring-samples N] [--seconds S] [--paced S] "
              "[--runs N]\n"
              "  --frames N        4 kHz frames to decode (default 50000, 25.6 MB)\n"
              "  --ring-samples N  samples through the ring (default 20000000)\n"
              "  --seconds S       seconds of 1 kHz data through the full path (default 600)\n"
              "  --paced S         real-time seconds of the paced run, 0 to skip (default 5)\n"
              "  --runs N          timed runs per stage; the best is reported (default 3)\n");
}

int
main(int argc, char **argv)
{
  long frames = 50000, runs = 3;
  long long ring_samples = 20000000;
  double seconds = 600, paced = 5;
  static const struct option longopts[] = {
      {"frames", required_argument, NULL, 'f'},
      {"ring-samples", required_argument, NULL, 'r'},
      {"seconds", required_argument, NULL, 's'},
      {"paced", required_argument, NULL, 'p'},
      {"runs", required_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    char *end = NULL;
    switch (c) {
    case 'f': frames = strtol(optarg, &end, 10); break;
    case 'r': ring_samples = strtoll(optarg, &end, 10); break;
    case 's': seconds = strtod(optarg, &end); break;
    case 'p': paced = strtod(optarg, &end); break;
    case 'n': runs = strtol(optarg, &end, 10); break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
    if (end && *end) {
      fprintf(stderr, "stance-bench-daq: '%s' is not a number\n", optarg);
      return 2;
    }
  }
  if (optind != argc || frames < 1 || runs < 1 || ring_samples < 1 || !(seconds >= 1) ||
      !(paced >= 0)) {
    usage(stderr);
    return 2;
  }
  if (bench_decode((size_t)frames, (int)runs) != 0 ||
      bench_ring((uint64_t)ring_samples, (int)runs) != 0 ||
      bench_path(seconds, paced, (int)runs) != 0)
    return 1;
  return 0;
}
