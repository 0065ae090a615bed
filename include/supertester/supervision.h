/* Supervision events reconstructed from what a supervisor does.
 *
 * The NIF traces a supervisor process (spawns, messages it receives, its own
 * exit) and feeds the raw facts here, in order, with the supervisor's
 * children as they were when tracing started. Out come the events a tester
 * wants: a child started, a child terminated (and why), a child restarted
 * (old pid, new pid, and how long the restart took), the supervisor itself
 * terminated.
 *
 * What makes this possible without child ids in the trace: an OTP supervisor
 * handles the exits it receives one at a time, in the order they arrive,
 * and restarts synchronously, in start order:
 *   - one_for_one: the one child that exited;
 *   - one_for_all, rest_for_one: the child that exited and the siblings the
 *     supervisor then shut down (each shutdown is seen as a 'DOWN' message).
 * So the next processes it spawns replace the children of the oldest exit
 * not yet handled (and the siblings shut down with it), in start order; then
 * those of the next exit.  * Whether a child waits for a restart at all follows its restart type:
 * permanent always; transient only after an abnormal exit or a shutdown by
 * the supervisor; temporary never (it leaves the map). A spawn with nobody
 * waiting is a new child (supervisor:start_child): it gets a new index.
 *
 * Pids and exit reasons are opaque 64-bit values to the core; the NIF maps
 * them to terms. Not thread-safe: one reconstruction per caller. */
#ifndef SUPERTESTER_SUPERVISION_H
#define SUPERTESTER_SUPERVISION_H

#include <stddef.h>
#include <stdint.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum st_supv_restart_e {
  ST_SUPV_PERMANENT = 0,
  ST_SUPV_TRANSIENT = 1,
  ST_SUPV_TEMPORARY = 2
} st_supv_restart_t;

/* One child of the map, in start order. pid 0: not running (never started,
 * or restarting when tracing began). */
typedef struct st_supv_child_s {
  uint64_t pid;
  st_supv_restart_t restart;
} st_supv_child_t;

typedef enum st_supv_input_kind_e {
  ST_SUPV_IN_SPAWN = 1,       /* the supervisor spawned `pid` */
  ST_SUPV_IN_CHILD_EXIT = 2,  /* it received {'EXIT', pid, reason} */
  ST_SUPV_IN_CHILD_DOWN = 3,  /* it received {'DOWN', _, process, pid, reason}:
                                 a child it shut down */
  ST_SUPV_IN_SUPERVISOR_EXIT = 4 /* the supervisor exited with reason */
} st_supv_input_kind_t;

/* Input flag: the reason is abnormal (not normal, shutdown or
 * {shutdown, _}); the NIF decides, the core cannot read reasons. */
#define ST_SUPV_ABNORMAL 1u

typedef struct st_supv_input_s {
  st_supv_input_kind_t kind;
  uint32_t flags;
  int64_t time; /* ns, non-decreasing */
  uint64_t pid; /* for SUPERVISOR_EXIT: ignored */
  uint64_t reason;
} st_supv_input_t;

typedef enum st_supv_event_kind_e {
  ST_SUPV_CHILD_STARTED = 1,
  ST_SUPV_CHILD_TERMINATED = 2,
  ST_SUPV_CHILD_RESTARTED = 3,
  ST_SUPV_SUPERVISOR_TERMINATED = 4
} st_supv_event_kind_t;

typedef struct st_supv_event_s {
  st_supv_event_kind_t kind;
  int64_t time;     /* of the input that produced it */
  size_t child;     /* index in the map; new children get the next index */
  uint64_t old_pid; /* TERMINATED: the pid that died; RESTARTED: the old one */
  uint64_t new_pid; /* STARTED, RESTARTED */
  uint64_t reason;  /* TERMINATED, SUPERVISOR_TERMINATED */
  int64_t latency;  /* RESTARTED: time of the spawn minus the time of the
                       exit that caused the restart (the child's own exit,
                       or for a sibling shut down in a cascade the exit
                       that started it); never negative; else 0 */
} st_supv_event_t;

typedef struct st_supv_s st_supv_t;

/* Copies the map; n may be 0. ST_EINVAL for NULL arguments (children may be
 * NULL when n is 0), an unknown restart type or a pid listed twice.
 * Fields an event does not use are 0. */
int st_supv_create(const st_supv_child_t *children, size_t n, st_supv_t **out);
void st_supv_destroy(st_supv_t *s);

/* Feeds one input and writes the events it produces (at most
 * ST_SUPV_MAX_EVENTS_PER_INPUT) to out, returning how many via *n_out.
 * Inputs about pids that are not current children are ignored (a stale
 * 'EXIT' after a shutdown, a helper process): *n_out is 0.
 * ST_EINVAL for a NULL argument or unknown kind; ST_ENOMEM when a new child
 * cannot be added. After SUPERVISOR_EXIT every further input is ignored. */
#define ST_SUPV_MAX_EVENTS_PER_INPUT 2
int st_supv_feed(st_supv_t *s, const st_supv_input_t *in,
                 st_supv_event_t out[ST_SUPV_MAX_EVENTS_PER_INPUT],
                 size_t *n_out);

/* Children known now (the initial map plus new ones), and child i's current
 * pid (0 when it is not running). */
size_t st_supv_child_count(const st_supv_t *s);
uint64_t st_supv_child_pid(const st_supv_t *s, size_t i);
/* Children waiting for a restart. */
size_t st_supv_pending(const st_supv_t *s);

#ifdef __cplusplus
}
#endif

#endif
