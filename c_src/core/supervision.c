/* Supervision-event reconstruction; see include/supertester/supervision.h.
 *
 * The map is an array of children in start order. Two structures keep every
 * input at O(1) or O(log n) however many children there are (a
 * simple_one_for_one pool can hold thousands):
 *   - an index from current pid to child: open addressing with linear
 *     probing and backward-shift deletion (as in record.c). It is sized for
 *     every child of the map, not only the running ones, so a restart never
 *     allocates: only a new child can fail with ST_ENOMEM;
 *   - a binary min-heap of the children waiting for a restart, ordered by
 *     (episode, start order), so a spawn goes to the right one. An episode
 *     is one exit the supervisor has to handle: each 'EXIT' opens one, in
 *     the order they arrive (a one_for_one supervisor restarts in that
 *     order); the siblings it then shuts down ('DOWN') join the episode
 *     it is handling, the oldest open one, and restart in start order.
 *
 * Invariants: cap is a power of two, len <= cap, the heap array has room
 * for cap entries (a child waits at most once), the index has 2 * cap
 * buckets (load at most one half). */
#include "supertester/supervision.h"

#include "mix.h"

#include <stdbool.h>
#include <stdlib.h>

typedef struct {
  uint64_t pid;      /* current pid, 0 when not running */
  uint64_t last_pid; /* the pid it had when it last terminated */
  int64_t fail_time; /* waiting: time of the exit that caused the restart */
  uint64_t episode;  /* waiting: the exit being handled, see above */
  st_supv_restart_t restart;
  bool has_fail_time; /* false when no CHILD_EXIT preceded the wait */
} child_t;

typedef struct {
  uint64_t pid; /* 0: empty bucket */
  size_t child;
} bucket_t;

struct st_supv_s {
  child_t *children;
  size_t len, cap;
  size_t *heap; /* indices of the waiting children, smallest on top */
  size_t nwaiting;
  uint64_t episodes; /* episodes opened so far */
  bucket_t *index;
  size_t nbuckets;
  int64_t last_fail; /* time of the last CHILD_EXIT of a current child */
  bool has_last_fail;
  bool supervisor_gone;
};

#define MIN_CAP 8

/* A cap for which no array size (cap children, cap heap slots, 2 * cap
 * buckets) overflows size_t. */
#define MAX_CAP (SIZE_MAX / (sizeof(child_t) + 2 * sizeof(bucket_t)))

/* ------------------------------------------------------------------ index */

/* Bucket holding pid, or the empty bucket where it would go. */
static size_t probe(const st_supv_t *s, uint64_t pid) {
  size_t mask = s->nbuckets - 1;
  size_t i = (size_t)st__mix64(pid) & mask;
  while (s->index[i].pid != 0 && s->index[i].pid != pid) i = (i + 1) & mask;
  return i;
}

/* The child whose current pid is pid, or SIZE_MAX. */
static size_t child_of(const st_supv_t *s, uint64_t pid) {
  size_t b = probe(s, pid);
  return s->index[b].pid == 0 ? SIZE_MAX : s->index[b].child;
}

static void index_insert(st_supv_t *s, uint64_t pid, size_t child) {
  size_t b = probe(s, pid);
  s->index[b] = (bucket_t){pid, child};
}

/* Backward-shift deletion: later members of the probe run move into the
 * hole unless their home bucket lies cyclically in (hole, i]. */
static void index_delete(st_supv_t *s, uint64_t pid) {
  size_t mask = s->nbuckets - 1;
  size_t hole = probe(s, pid);
  size_t i = hole;
  for (;;) {
    i = (i + 1) & mask;
    if (s->index[i].pid == 0) break;
    size_t home = (size_t)st__mix64(s->index[i].pid) & mask;
    int home_after_hole = hole <= i ? (home > hole && home <= i)
                                    : (home > hole || home <= i);
    if (!home_after_hole) {
      s->index[hole] = s->index[i];
      hole = i;
    }
  }
  s->index[hole].pid = 0;
}

/* ------------------------------------------------------------------- heap */

/* Whether waiting child a restarts before waiting child b. */
static bool before(const st_supv_t *s, size_t a, size_t b) {
  uint64_t ea = s->children[a].episode, eb = s->children[b].episode;
  return ea < eb || (ea == eb && a < b);
}

static void heap_push(st_supv_t *s, size_t child) {
  size_t i = s->nwaiting++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(s, child, s->heap[parent])) break;
    s->heap[i] = s->heap[parent];
    i = parent;
  }
  s->heap[i] = child;
}

/* Removes and returns the smallest index; the heap must not be empty. */
static size_t heap_pop(st_supv_t *s) {
  size_t top = s->heap[0];
  size_t n = --s->nwaiting;
  if (n == 0) return top;
  size_t last = s->heap[n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && before(s, s->heap[c + 1], s->heap[c])) c++;
    if (!before(s, s->heap[c], last)) break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  s->heap[i] = last;
  return top;
}

/* ---------------------------------------------------------------- storage */

/* Sizes the three arrays for cap children. On failure what was already
 * reallocated stays (bigger blocks, unused) and s->cap is unchanged, so the
 * reconstruction is intact and a later call simply tries again. */
static int reserve(st_supv_t *s, size_t cap) {
  if (cap > MAX_CAP) return ST_ENOMEM;
  child_t *c = realloc(s->children, cap * sizeof *c);
  if (c == NULL) return ST_ENOMEM;
  s->children = c;
  size_t *h = realloc(s->heap, cap * sizeof *h);
  if (h == NULL) return ST_ENOMEM;
  s->heap = h;
  bucket_t *fresh = calloc(2 * cap, sizeof *fresh);
  if (fresh == NULL) return ST_ENOMEM;
  free(s->index);
  s->index = fresh;
  s->nbuckets = 2 * cap;
  s->cap = cap;
  for (size_t i = 0; i < s->len; i++)
    if (s->children[i].pid != 0) index_insert(s, s->children[i].pid, i);
  return ST_OK;
}

static bool valid_restart(st_supv_restart_t r) {
  return r == ST_SUPV_PERMANENT || r == ST_SUPV_TRANSIENT ||
         r == ST_SUPV_TEMPORARY;
}

int st_supv_create(const st_supv_child_t *children, size_t n,
                   st_supv_t **out) {
  if (out == NULL || (children == NULL && n > 0)) return ST_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!valid_restart(children[i].restart)) return ST_EINVAL;
  if (n > MAX_CAP) return ST_ENOMEM;
  size_t cap = MIN_CAP;
  while (cap < n) cap *= 2;

  st_supv_t *s = calloc(1, sizeof *s);
  if (s == NULL) return ST_ENOMEM;
  int rc = reserve(s, cap);
  if (rc != ST_OK) {
    st_supv_destroy(s);
    return rc;
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t pid = children[i].pid;
    /* One pid cannot be two children: the map would be ambiguous. */
    if (pid != 0 && child_of(s, pid) != SIZE_MAX) {
      st_supv_destroy(s);
      return ST_EINVAL;
    }
    s->children[i] = (child_t){.pid = pid, .restart = children[i].restart};
    if (pid != 0) index_insert(s, pid, i);
    s->len++;
  }
  *out = s;
  return ST_OK;
}

void st_supv_destroy(st_supv_t *s) {
  if (s == NULL) return;
  free(s->children);
  free(s->heap);
  free(s->index);
  free(s);
}

/* ----------------------------------------------------------------- inputs */

/* later - earlier, 0 when later is not after earlier, saturated at
 * INT64_MAX; computed without signed overflow. */
static int64_t elapsed(int64_t earlier, int64_t later) {
  if (later <= earlier) return 0;
  uint64_t d = (uint64_t)later - (uint64_t)earlier;
  return d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}

static int on_spawn(st_supv_t *s, const st_supv_input_t *in,
                    st_supv_event_t *ev, size_t *n_ev) {
  if (child_of(s, in->pid) != SIZE_MAX) return ST_OK; /* already a child */
  if (s->nwaiting > 0) {
    size_t i = heap_pop(s);
    child_t *c = &s->children[i];
    c->pid = in->pid;
    index_insert(s, in->pid, i);
    *ev = (st_supv_event_t){
        .kind = ST_SUPV_CHILD_RESTARTED,
        .time = in->time,
        .child = i,
        .old_pid = c->last_pid,
        .new_pid = in->pid,
        .latency = c->has_fail_time ? elapsed(c->fail_time, in->time) : 0};
    *n_ev = 1;
    return ST_OK;
  }
  if (s->len == s->cap) {
    /* cap <= MAX_CAP, so the doubling cannot wrap; reserve refuses a cap
     * beyond MAX_CAP. */
    int rc = reserve(s, s->cap * 2);
    if (rc != ST_OK) return rc;
  }
  size_t i = s->len++;
  s->children[i] = (child_t){.pid = in->pid, .restart = ST_SUPV_PERMANENT};
  index_insert(s, in->pid, i);
  *ev = (st_supv_event_t){.kind = ST_SUPV_CHILD_STARTED,
                          .time = in->time,
                          .child = i,
                          .new_pid = in->pid};
  *n_ev = 1;
  return ST_OK;
}

/* CHILD_EXIT (the child died on its own) or CHILD_DOWN (the supervisor
 * shut it down). */
static void on_termination(st_supv_t *s, const st_supv_input_t *in,
                           st_supv_event_t *ev, size_t *n_ev) {
  size_t i = child_of(s, in->pid);
  if (i == SIZE_MAX) return; /* stale, or not a child */
  child_t *c = &s->children[i];
  bool exited = in->kind == ST_SUPV_IN_CHILD_EXIT;
  index_delete(s, in->pid);
  c->last_pid = in->pid;
  c->pid = 0;
  if (exited) {
    s->last_fail = in->time;
    s->has_last_fail = true;
  }
  bool waits;
  switch (c->restart) {
  case ST_SUPV_PERMANENT: waits = true; break;
  case ST_SUPV_TRANSIENT:
    waits = !exited || (in->flags & ST_SUPV_ABNORMAL) != 0;
    break;
  default: waits = false; break; /* temporary: leaves the map */
  }
  if (waits) {
    if (!exited && s->nwaiting > 0) {
      /* Shut down while the supervisor handles the oldest open episode:
       * it restarts with that one, caused by the same exit. */
      const child_t *front = &s->children[s->heap[0]];
      c->episode = front->episode;
      c->fail_time = front->fail_time;
      c->has_fail_time = front->has_fail_time;
    } else {
      /* An exit opens an episode; so does a shutdown outside any
       * (terminate_child), caused by the last exit if any. */
      c->episode = ++s->episodes;
      c->fail_time = s->last_fail;
      c->has_fail_time = s->has_last_fail;
    }
    heap_push(s, i);
  }
  *ev = (st_supv_event_t){.kind = ST_SUPV_CHILD_TERMINATED,
                          .time = in->time,
                          .child = i,
                          .old_pid = in->pid,
                          .reason = in->reason};
  *n_ev = 1;
}

int st_supv_feed(st_supv_t *s, const st_supv_input_t *in,
                 st_supv_event_t out[ST_SUPV_MAX_EVENTS_PER_INPUT],
                 size_t *n_out) {
  if (s == NULL || in == NULL || out == NULL || n_out == NULL)
    return ST_EINVAL;
  switch (in->kind) {
  case ST_SUPV_IN_SPAWN:
  case ST_SUPV_IN_CHILD_EXIT:
  case ST_SUPV_IN_CHILD_DOWN:
    if (in->pid == 0) return ST_EINVAL;
    break;
  case ST_SUPV_IN_SUPERVISOR_EXIT: break;
  default: return ST_EINVAL;
  }
  /* Events are built here and copied out only on success. */
  st_supv_event_t ev;
  size_t n_ev = 0;
  if (!s->supervisor_gone) {
    switch (in->kind) {
    case ST_SUPV_IN_SPAWN: {
      int rc = on_spawn(s, in, &ev, &n_ev);
      if (rc != ST_OK) return rc;
      break;
    }
    case ST_SUPV_IN_SUPERVISOR_EXIT:
      s->supervisor_gone = true;
      ev = (st_supv_event_t){.kind = ST_SUPV_SUPERVISOR_TERMINATED,
                             .time = in->time,
                             .reason = in->reason};
      n_ev = 1;
      break;
    default: on_termination(s, in, &ev, &n_ev); break;
    }
  }
  if (n_ev > 0) out[0] = ev;
  *n_out = n_ev;
  return ST_OK;
}

/* ---------------------------------------------------------------- queries */

size_t st_supv_child_count(const st_supv_t *s) {
  return s == NULL ? 0 : s->len;
}

uint64_t st_supv_child_pid(const st_supv_t *s, size_t i) {
  return s == NULL || i >= s->len ? 0 : s->children[i].pid;
}

size_t st_supv_pending(const st_supv_t *s) {
  return s == NULL ? 0 : s->nwaiting;
}
