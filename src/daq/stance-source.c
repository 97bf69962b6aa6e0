/* stance-source.c: the device-source base class (see stance-source.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * What the base does for every source:
 *  - captures the owner GMainContext at construction; signals are emitted there;
 *  - checks the state before each call and names the current and the expected state when a call
 *    comes at the wrong time (start() before open(), open() twice, set_rate() while streaming);
 *  - owns the sample ring, sized by time when the source is opened (at least 4 s at the highest
 *    rate the source offers), resets it and the counters at start();
 *  - counts (atomics, readable from any thread);
 *  - queues "event" emissions from any thread onto the owner context. An event carries the stream
 *    generation it was raised in; stop() and close() start a new generation, so an event raised by
 *    a stream that the owner has since stopped is dropped instead of changing the state of the
 *    next one;
 *  - runs the pacing thread of the sources that release samples they hold (simulator, replay):
 *    the clock or the ring's room decides how many go out, and stop() ends and joins the thread;
 *  - dispose stops and closes through the subclass's virtual methods. A subclass therefore keeps
 *    what its stop() and close() need until finalize (the base's dispose runs after the
 *    subclass's own dispose has chained up).
 */
#include "stance-source.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

G_DEFINE_QUARK(stance - daq - error - quark, stance_daq_error)

/* The ring holds at least this much time at the highest rate: the consumer (a UI frame tick, the
 * CLI's 50 ms timer) can stall for seconds (a window being dragged, a slow disk) without losing a
 * sample. */
#define RING_SECONDS 4.0
#define RING_MIN_SAMPLES 1024

/* Pacing by the clock: the thread wakes this often (µs). 5 ms is finer than a board's 10 ms USB
 * transfers and costs 200 wake-ups a second. */
#define PACE_TICK_US 5000
/* Pacing by the ring's room and the ring is full: wait this long before looking again (µs),
 * instead of spinning. */
#define PACE_FULL_WAIT_US 2000

typedef struct {
  GMainContext *context; /* owner context, referenced */
  StanceRing *ring;      /* NULL until the first open() */
  StanceSourceInfo info;
  StanceSourceState state;
  atomic_uint generation;

  /* The pacing thread (_stance_source_start_pacing), NULL when none runs. pace_lock guards
   * pace_stop; pace_cond wakes the thread early when a stop is asked. */
  GThread *pace_thread;
  GMutex pace_lock;
  GCond pace_cond;
  gboolean pace_stop;

  _Atomic uint64_t samples, gap_samples, frames, frames_lost, crc_errors, board_overflows,
      ring_overflows, disconnects;
} StanceSourcePrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE(StanceSource, stance_source, G_TYPE_OBJECT)

enum { PROP_0, PROP_STATE, N_PROPS };
static GParamSpec *props[N_PROPS];

enum { SIGNAL_EVENT, N_SIGNALS };
static guint signals[N_SIGNALS];

const char *
stance_source_state_name(StanceSourceState state)
{
  switch (state) {
  case STANCE_SOURCE_CLOSED: return "closed";
  case STANCE_SOURCE_OPEN: return "open";
  case STANCE_SOURCE_STREAMING: return "streaming";
  case STANCE_SOURCE_WAITING: return "waiting for the board";
  case STANCE_SOURCE_ENDED: return "ended";
  }
  return "unknown";
}

static const char *
event_name(StanceSourceEvent kind)
{
  switch (kind) {
  case STANCE_SOURCE_EVENT_DISCONNECTED: return "disconnected";
  case STANCE_SOURCE_EVENT_RECONNECTED: return "reconnected";
  case STANCE_SOURCE_EVENT_ENDED: return "ended";
  case STANCE_SOURCE_EVENT_FAULT: return "fault";
  }
  return "unknown";
}

/* ---- GObject ---- */

static void
stance_source_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  StanceSource *self = STANCE_SOURCE(object);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  switch (prop_id) {
  case PROP_STATE: g_value_set_int(value, (int)priv->state); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void
stance_source_dispose(GObject *object)
{
  StanceSource *self = STANCE_SOURCE(object);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  /* Stopping joins the acquisition thread, which uses the ring: before anything is freed. */
  if (priv->state != STANCE_SOURCE_CLOSED) {
    stance_source_stop(self);
    stance_source_close(self);
  }
  G_OBJECT_CLASS(stance_source_parent_class)->dispose(object);
}

static void
stance_source_finalize(GObject *object)
{
  StanceSource *self = STANCE_SOURCE(object);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  stance_ring_free(priv->ring);
  g_main_context_unref(priv->context);
  g_mutex_clear(&priv->pace_lock);
  g_cond_clear(&priv->pace_cond);
  G_OBJECT_CLASS(stance_source_parent_class)->finalize(object);
}

static void
stance_source_class_init(StanceSourceClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  oc->get_property = stance_source_get_property;
  oc->dispose = stance_source_dispose;
  oc->finalize = stance_source_finalize;

  /* A plain int: the header declares no GEnum type for StanceSourceState. */
  props[PROP_STATE] = g_param_spec_int(
      "state", "State", "StanceSourceState: closed, open, streaming, waiting or ended",
      STANCE_SOURCE_CLOSED, STANCE_SOURCE_ENDED, STANCE_SOURCE_CLOSED,
      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(oc, N_PROPS, props);

  /* event (int kind, GError *error_or_null): the error is only valid during the emission
   * (STATIC_SCOPE: handlers that keep it copy it). */
  signals[SIGNAL_EVENT] =
      g_signal_new("event", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                   G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
stance_source_init(StanceSource *self)
{
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  priv->context = g_main_context_ref_thread_default();
  priv->state = STANCE_SOURCE_CLOSED;
  atomic_init(&priv->generation, 1);
  g_mutex_init(&priv->pace_lock);
  g_cond_init(&priv->pace_cond);
}

/* ---- State ---- */

static gboolean
check_state(StanceSource *self, const char *call, GError **error, int n_ok,
            const StanceSourceState *ok, const char *expected)
{
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  for (int k = 0; k < n_ok; k++)
    if (priv->state == ok[k])
      return TRUE;
  g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_STATE,
              "%s() is not valid now: the source is %s (expected %s)", call,
              stance_source_state_name(priv->state), expected);
  return FALSE;
}

void
_stance_source_set_state(StanceSource *self, StanceSourceState state)
{
  g_return_if_fail(STANCE_IS_SOURCE(self));
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  if (priv->state == state)
    return;
  priv->state = state;
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATE]);
}

StanceSourceState
stance_source_get_state(StanceSource *self)
{
  g_return_val_if_fail(STANCE_IS_SOURCE(self), STANCE_SOURCE_CLOSED);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  return priv->state;
}

/* ---- Info ---- */

void
_stance_source_set_info(StanceSource *self, const StanceSourceInfo *info)
{
  g_return_if_fail(STANCE_IS_SOURCE(self) && info);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  priv->info = *info;
  /* Strings are always terminated, whatever the subclass copied in. */
  priv->info.kind[sizeof priv->info.kind - 1] = '\0';
  priv->info.description[sizeof priv->info.description - 1] = '\0';
  priv->info.serial[sizeof priv->info.serial - 1] = '\0';
  priv->info.firmware_version[sizeof priv->info.firmware_version - 1] = '\0';
  priv->info.hardware[sizeof priv->info.hardware - 1] = '\0';
  priv->info.n_rates = CLAMP(priv->info.n_rates, 0, (int)G_N_ELEMENTS(priv->info.rates_hz));
}

const StanceSourceInfo *
stance_source_get_info(StanceSource *self)
{
  g_return_val_if_fail(STANCE_IS_SOURCE(self), NULL);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  return priv->state == STANCE_SOURCE_CLOSED ? NULL : &priv->info;
}

GMainContext *
_stance_source_get_context(StanceSource *self)
{
  g_return_val_if_fail(STANCE_IS_SOURCE(self), NULL);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  return priv->context;
}

/* "500, 1000, 2000 or 4000 Hz" */
static void
rates_text(const StanceSourceInfo *info, char *buf, size_t n)
{
  size_t used = 0;
  buf[0] = '\0';
  for (int k = 0; k < info->n_rates && used < n; k++) {
    const char *sep = k == 0 ? "" : k == info->n_rates - 1 ? " or " : ", ";
    used += (size_t)g_snprintf(buf + used, n - used, "%s%g", sep, info->rates_hz[k]);
  }
  if (used < n)
    g_snprintf(buf + used, n - used, " Hz");
}

/* ---- Calls ---- */

gboolean
stance_source_open(StanceSource *self, GError **error)
{
  g_return_val_if_fail(STANCE_IS_SOURCE(self), FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  static const StanceSourceState ok[] = {STANCE_SOURCE_CLOSED};
  if (!check_state(self, "open", error, 1, ok, "closed: open it once, or close it first"))
    return FALSE;
  StanceSourceClass *klass = STANCE_SOURCE_GET_CLASS(self);
  memset(&priv->info, 0, sizeof priv->info);
  if (!klass->open(self, error))
    return FALSE;

  /* The ring, by time: RING_SECONDS at the highest rate the source can run. */
  double top = priv->info.rate_hz;
  for (int k = 0; k < priv->info.n_rates; k++)
    top = MAX(top, priv->info.rates_hz[k]);
  double want = isfinite(top) && top > 0 ? ceil(top * RING_SECONDS) : RING_MIN_SAMPLES;
  size_t need = want > (double)(1u << 26) ? (size_t)1 << 26 : MAX((size_t)want, RING_MIN_SAMPLES);
  if (!priv->ring || stance_ring_capacity(priv->ring) < need) {
    StanceRing *r = stance_ring_new(need);
    if (!r) {
      if (klass->close)
        klass->close(self);
      g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_IO,
                  "out of memory for a ring of %zu samples", need);
      return FALSE;
    }
    stance_ring_free(priv->ring);
    priv->ring = r;
  }
  stance_ring_reset(priv->ring);
  _stance_source_set_state(self, STANCE_SOURCE_OPEN);
  return TRUE;
}

gboolean
stance_source_set_rate(StanceSource *self, double rate_hz, GError **error)
{
  g_return_val_if_fail(STANCE_IS_SOURCE(self), FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  static const StanceSourceState ok[] = {STANCE_SOURCE_OPEN};
  if (!check_state(self, "set_rate", error, 1, ok, "open and not streaming: stop it first"))
    return FALSE;
  gboolean known = FALSE;
  for (int k = 0; k < priv->info.n_rates; k++)
    if (priv->info.rates_hz[k] == rate_hz)
      known = TRUE;
  if (!known) {
    char rates[128];
    rates_text(&priv->info, rates, sizeof rates);
    g_set_error(error, STANCE_DAQ_ERROR, STANCE_DAQ_ERROR_RATE,
                "%g Hz is not a supported rate (expected %s; source: %s)", rate_hz, rates,
                priv->info.description[0] ? priv->info.description : priv->info.kind);
    return FALSE;
  }
  StanceSourceClass *klass = STANCE_SOURCE_GET_CLASS(self);
  if (klass->set_rate && !klass->set_rate(self, rate_hz, error))
    return FALSE;
  priv->info.rate_hz = rate_hz;
  return TRUE;
}

gboolean
stance_source_start(StanceSource *self, GError **error)
{
  g_return_val_if_fail(STANCE_IS_SOURCE(self), FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  static const StanceSourceState ok[] = {STANCE_SOURCE_OPEN};
  const char *expected = priv->state == STANCE_SOURCE_CLOSED
                             ? "open: call open() first"
                             : "open and not streaming: stop it before starting again";
  if (!check_state(self, "start", error, 1, ok, expected))
    return FALSE;
  /* A fresh stream: the index starts at 0, nothing of an earlier stream is left to read. */
  stance_ring_reset(priv->ring);
  atomic_store(&priv->samples, 0);
  atomic_store(&priv->gap_samples, 0);
  atomic_store(&priv->frames, 0);
  atomic_store(&priv->frames_lost, 0);
  atomic_store(&priv->crc_errors, 0);
  atomic_store(&priv->board_overflows, 0);
  atomic_store(&priv->ring_overflows, 0);
  atomic_store(&priv->disconnects, 0);
  /* STREAMING before the thread starts: an ENDED queued by a very short stream must find the
   * state it moves on from. */
  _stance_source_set_state(self, STANCE_SOURCE_STREAMING);
  StanceSourceClass *klass = STANCE_SOURCE_GET_CLASS(self);
  if (!klass->start(self, error)) {
    atomic_fetch_add(&priv->generation, 1);
    _stance_source_set_state(self, STANCE_SOURCE_OPEN);
    return FALSE;
  }
  return TRUE;
}

void
stance_source_stop(StanceSource *self)
{
  g_return_if_fail(STANCE_IS_SOURCE(self));
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  if (priv->state != STANCE_SOURCE_STREAMING && priv->state != STANCE_SOURCE_WAITING &&
      priv->state != STANCE_SOURCE_ENDED)
    return; /* not streaming: nothing to stop (stop is idempotent) */
  if (priv->pace_thread) {
    g_mutex_lock(&priv->pace_lock);
    priv->pace_stop = TRUE;
    g_cond_broadcast(&priv->pace_cond);
    g_mutex_unlock(&priv->pace_lock);
    g_thread_join(priv->pace_thread);
    priv->pace_thread = NULL;
  }
  if (STANCE_SOURCE_GET_CLASS(self)->stop)
    STANCE_SOURCE_GET_CLASS(self)->stop(self);
  /* The acquisition thread is joined: whatever it queued belongs to a finished stream. */
  atomic_fetch_add(&priv->generation, 1);
  _stance_source_set_state(self, STANCE_SOURCE_OPEN);
}

void
stance_source_close(StanceSource *self)
{
  g_return_if_fail(STANCE_IS_SOURCE(self));
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  if (priv->state == STANCE_SOURCE_CLOSED)
    return;
  stance_source_stop(self);
  if (STANCE_SOURCE_GET_CLASS(self)->close)
    STANCE_SOURCE_GET_CLASS(self)->close(self);
  atomic_fetch_add(&priv->generation, 1);
  _stance_source_set_state(self, STANCE_SOURCE_CLOSED);
}

/* ---- Samples and counters ---- */

size_t
stance_source_read(StanceSource *self, StanceSample *out, size_t max)
{
  g_return_val_if_fail(STANCE_IS_SOURCE(self), 0);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  if (!priv->ring || max == 0)
    return 0;
  return stance_ring_pop(priv->ring, out, max);
}

size_t
_stance_source_push(StanceSource *self, const StanceSample *s, size_t n)
{
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  size_t done = stance_ring_push(priv->ring, s, n);
  atomic_fetch_add_explicit(&priv->samples, done, memory_order_relaxed);
  if (done < n) {
    /* The consumer fell behind: the refused samples are lost and show up as an index jump. */
    atomic_fetch_add_explicit(&priv->ring_overflows, n - done, memory_order_relaxed);
    atomic_fetch_add_explicit(&priv->gap_samples, n - done, memory_order_relaxed);
  }
  return done;
}

size_t
_stance_source_ring_space(StanceSource *self)
{
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  return stance_ring_capacity(priv->ring) - stance_ring_count(priv->ring);
}

void
_stance_source_count(StanceSource *self, const StanceSourceStats *d)
{
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  atomic_fetch_add_explicit(&priv->samples, d->samples, memory_order_relaxed);
  atomic_fetch_add_explicit(&priv->gap_samples, d->gap_samples, memory_order_relaxed);
  atomic_fetch_add_explicit(&priv->frames, d->frames, memory_order_relaxed);
  atomic_fetch_add_explicit(&priv->frames_lost, d->frames_lost, memory_order_relaxed);
  atomic_fetch_add_explicit(&priv->crc_errors, d->crc_errors, memory_order_relaxed);
  atomic_fetch_add_explicit(&priv->board_overflows, d->board_overflows, memory_order_relaxed);
  atomic_fetch_add_explicit(&priv->ring_overflows, d->ring_overflows, memory_order_relaxed);
  atomic_fetch_add_explicit(&priv->disconnects, d->disconnects, memory_order_relaxed);
}

void
stance_source_get_stats(StanceSource *self, StanceSourceStats *out)
{
  g_return_if_fail(STANCE_IS_SOURCE(self) && out);
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  out->samples = atomic_load_explicit(&priv->samples, memory_order_relaxed);
  out->gap_samples = atomic_load_explicit(&priv->gap_samples, memory_order_relaxed);
  out->frames = atomic_load_explicit(&priv->frames, memory_order_relaxed);
  out->frames_lost = atomic_load_explicit(&priv->frames_lost, memory_order_relaxed);
  out->crc_errors = atomic_load_explicit(&priv->crc_errors, memory_order_relaxed);
  out->board_overflows = atomic_load_explicit(&priv->board_overflows, memory_order_relaxed);
  out->ring_overflows = atomic_load_explicit(&priv->ring_overflows, memory_order_relaxed);
  out->disconnects = atomic_load_explicit(&priv->disconnects, memory_order_relaxed);
}

/* ---- Pacing thread ---- */

gboolean
_stance_source_start_pacing(StanceSource *self, const char *name, GThreadFunc func, GError **error)
{
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  g_return_val_if_fail(priv->pace_thread == NULL, FALSE);
  priv->pace_stop = FALSE; /* no thread runs: nothing else reads it now */
  priv->pace_thread = g_thread_try_new(name, func, self, error);
  if (!priv->pace_thread) {
    g_prefix_error(error, "cannot start the %s thread: ", name);
    return FALSE;
  }
  return TRUE;
}

gboolean
_stance_source_pacing_stopped(StanceSource *self)
{
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  g_mutex_lock(&priv->pace_lock);
  gboolean s = priv->pace_stop;
  g_mutex_unlock(&priv->pace_lock);
  return s;
}

/* Sleeps until the monotonic time `until` or a stop request. Returns TRUE when stopping. */
static gboolean
pace_wait_until(StanceSourcePrivate *priv, gint64 until)
{
  g_mutex_lock(&priv->pace_lock);
  while (!priv->pace_stop)
    if (!g_cond_wait_until(&priv->pace_cond, &priv->pace_lock, until))
      break;
  gboolean s = priv->pace_stop;
  g_mutex_unlock(&priv->pace_lock);
  return s;
}

size_t
_stance_source_pace(StanceSource *self, double rate_hz, gint64 t0, guint64 released, size_t max)
{
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  while (!_stance_source_pacing_stopped(self)) {
    if (rate_hz > 0) {
      gint64 now = g_get_monotonic_time();
      /* Samples due by now: floor(elapsed * rate) + 1 (sample 0 is due at t0). Doubles hold
       * µs * Hz exactly far beyond any session's length. */
      guint64 due = (guint64)floor((double)(now - t0) * rate_hz / 1e6) + 1;
      if (due > released)
        return (size_t)MIN(due - released, (guint64)max);
      if (pace_wait_until(priv, now + PACE_TICK_US))
        return 0;
    } else {
      size_t space = _stance_source_ring_space(self);
      if (space > 0)
        return MIN(space, max);
      if (pace_wait_until(priv, g_get_monotonic_time() + PACE_FULL_WAIT_US))
        return 0;
    }
  }
  return 0;
}

/* ---- Events ---- */

typedef struct {
  GWeakRef source;
  StanceSourceEvent kind;
  GError *error;
  unsigned generation;
} QueuedEvent;

static void
queued_event_free(gpointer data)
{
  QueuedEvent *ev = data;
  g_weak_ref_clear(&ev->source);
  g_clear_error(&ev->error);
  g_free(ev);
}

static gboolean
dispatch_event(gpointer data)
{
  QueuedEvent *ev = data;
  StanceSource *self = g_weak_ref_get(&ev->source);
  if (!self)
    return G_SOURCE_REMOVE; /* the source is gone */
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  if (ev->generation != atomic_load(&priv->generation)) {
    /* Raised by a stream the owner has stopped since: it no longer describes this source. */
    g_debug("stance-source: dropping a stale '%s' event", event_name(ev->kind));
    g_object_unref(self);
    return G_SOURCE_REMOVE;
  }
  if (priv->state == STANCE_SOURCE_STREAMING || priv->state == STANCE_SOURCE_WAITING) {
    switch (ev->kind) {
    case STANCE_SOURCE_EVENT_DISCONNECTED:
      _stance_source_set_state(self, STANCE_SOURCE_WAITING);
      break;
    case STANCE_SOURCE_EVENT_RECONNECTED:
      _stance_source_set_state(self, STANCE_SOURCE_STREAMING);
      break;
    case STANCE_SOURCE_EVENT_ENDED:
    case STANCE_SOURCE_EVENT_FAULT: _stance_source_set_state(self, STANCE_SOURCE_ENDED); break;
    }
  }
  g_signal_emit(self, signals[SIGNAL_EVENT], 0, (int)ev->kind, ev->error);
  g_object_unref(self);
  return G_SOURCE_REMOVE;
}

void
_stance_source_emit_event(StanceSource *self, StanceSourceEvent kind, const GError *error)
{
  g_return_if_fail(STANCE_IS_SOURCE(self));
  StanceSourcePrivate *priv = stance_source_get_instance_private(self);
  QueuedEvent *ev = g_new0(QueuedEvent, 1);
  g_weak_ref_init(&ev->source, self);
  ev->kind = kind;
  ev->error = error ? g_error_copy(error) : NULL;
  ev->generation = atomic_load(&priv->generation);
  /* Always queued, even when called on the owner thread: handlers never run inside a subclass's
   * call stack. */
  GSource *idle = g_idle_source_new();
  g_source_set_priority(idle, G_PRIORITY_DEFAULT);
  g_source_set_callback(idle, dispatch_event, ev, queued_event_free);
  g_source_set_static_name(idle, "[stance] source event");
  g_source_attach(idle, priv->context);
  g_source_unref(idle);
}
