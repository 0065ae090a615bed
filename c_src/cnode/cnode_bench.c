/* Load on a named server: N callers on the one loop, each sending its next
 * gen_server call when the previous reply arrives, so N calls are always in
 * flight. Latencies go to a metrics-core histogram (nanoseconds). */
#include <stdlib.h>
#include <string.h>

#include "cnode_priv.h"
#include "supertester/hist.h"

typedef struct bench_s bench_t;

typedef struct caller_s {
  bench_t *b;
  uint64_t sent_ns;
} caller_t;

struct bench_s {
  st_conn_t *c;
  const st_cnode_bench_opts_t *o;
  st_hist_t *hist;
  uint64_t started, finished, errors;
  uint32_t in_flight;
  bool stopping;
  bool all_done;
  uv_timer_t *timer;
};

static void send_call(caller_t *k);

static void on_reply(void *ud, pending_t *p) {
  caller_t *k = ud;
  bench_t *b = k->b;
  b->in_flight--;
  b->finished++;
  if (p->status == ST_OK)
    (void)st_hist_record(b->hist, uv_hrtime() - k->sent_ns);
  else
    b->errors++;
  if (b->o->calls > 0 && b->started >= b->o->calls) b->stopping = true;
  if (!b->stopping && !b->c->lost)
    send_call(k);
  if (b->in_flight == 0 && (b->stopping || b->c->lost)) b->all_done = true;
}

static void send_call(caller_t *k) {
  bench_t *b = k->b;
  st_conn_t *c = b->c;
  pending_t *p = conn_pending_new(c, PENDING_CALL);
  if (p == NULL) {
    b->stopping = true;
    return;
  }
  p->on_done = on_reply;
  p->ud = k;
  ei_x_buff x;
  encode_call(c, &x, "$gen_call", &p->ref, b->o->request->bytes, b->o->request->len);
  k->sent_ns = uv_hrtime();
  int rc = conn_send_reg(c, b->o->server, &x);
  ei_x_free(&x);
  if (rc != ST_OK) {
    conn_pending_free(c, p);
    b->stopping = true;
    return;
  }
  b->started++;
  b->in_flight++;
}

static void on_duration(uv_timer_t *t) { ((bench_t *)t->data)->stopping = true; }

int st_cnode_bench(st_conn_t *c, const st_cnode_bench_opts_t *o, st_cnode_bench_result_t *out) {
  if (c == NULL || o == NULL || out == NULL || o->request == NULL || o->server == NULL ||
      o->callers == 0 || o->callers > 100000 || (o->duration_ms == 0 && o->calls == 0))
    return ST_EINVAL;
  st_hist_config_t cfg = {.highest_trackable = UINT64_C(60000000000), .significant_digits = 3};
  bench_t b = {.c = c, .o = o};
  caller_t *callers = calloc(o->callers, sizeof *callers);
  b.timer = malloc(sizeof *b.timer);
  if (callers == NULL || b.timer == NULL || st_hist_create(&cfg, &b.hist) != ST_OK) {
    free(callers);
    free(b.timer);
    return ST_ENOMEM;
  }
  uv_timer_init(&c->cn->loop, b.timer);
  b.timer->data = &b;
  if (o->calls == 0) uv_timer_start(b.timer, on_duration, o->duration_ms, 0);
  uint64_t t0 = uv_hrtime();
  for (uint32_t i = 0;
       i < o->callers && !b.stopping && (o->calls == 0 || b.started < o->calls); i++) {
    callers[i].b = &b;
    send_call(&callers[i]);
  }
  if (b.in_flight == 0) b.all_done = true;
  /* Bounded: the run's length plus one call timeout for the last replies. */
  unsigned call_tmo = cnode_timeout(c->cn, o->call_timeout_ms);
  unsigned bound = (o->calls > 0 ? 600000u : o->duration_ms) + call_tmo;
  bool done = cnode_run_until(c->cn, &b.all_done, bound);
  uint64_t elapsed = uv_hrtime() - t0;
  uv_timer_stop(b.timer);
  uv_close((uv_handle_t *)b.timer, (uv_close_cb)free);
  /* Calls still unanswered count as errors; their pendings go now. */
  if (!done) {
    for (pending_t *p = c->pending, *next; p != NULL; p = next) {
      next = p->next;
      if (p->on_done == on_reply) conn_pending_free(c, p);
    }
    b.errors += b.in_flight;
  }
  memset(out, 0, sizeof *out);
  out->calls = st_hist_count(b.hist);
  out->errors = b.errors;
  out->elapsed_s = (double)elapsed / 1e9;
  out->throughput = out->elapsed_s > 0 ? (double)out->calls / out->elapsed_s : 0;
  st_hist_summary_t sum;
  if (st_hist_summarize(b.hist, &sum) == ST_OK) {
    double ps[3] = {50, 90, 99};
    uint64_t v[3] = {0, 0, 0};
    (void)st_hist_percentiles(b.hist, ps, v, 3);
    out->p50_ns = v[0];
    out->p90_ns = v[1];
    out->p99_ns = v[2];
    out->min_ns = sum.min;
    out->max_ns = sum.max;
    out->mean_ns = sum.mean;
  }
  st_hist_destroy(b.hist);
  free(callers);
  if (c->lost) return cnode_fail(c->cn, ST_ENODELOST, "the connection to %s was lost", c->node);
  cnode_ok(c->cn);
  return ST_OK;
}
