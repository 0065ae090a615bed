/* A seeded chaos run against a live supervisor: the chaos core draws the
 * plan from the seed and the children's start order (the same plan the
 * Erlang ChaosHelpers would draw), the loop waits for each action's time,
 * and each kill is a kill_child: the agent waits for the supervisor to
 * handle it and says whether the restarts matched the strategy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnode_priv.h"
#include "supertester/chaos.h"
#include "supertester/hist.h"

void st_cnode_chaos_report_free(st_cnode_chaos_report_t *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->n_kills; i++) {
    free(r->kills[i].victim);
    free(r->kills[i].error);
  }
  free(r->kills);
  free(r->plan);
  free(r);
}

/* The plan: drawn from the options, or parsed from opts->plan. */
static int make_plan(st_conn_t *c, const st_cnode_chaos_opts_t *o, uint32_t n_targets,
                     st_chaos_params_t *p, st_chaos_action_t **actions, size_t *n) {
  int rc;
  if (o->plan != NULL) {
    rc = st_chaos_plan_parse(o->plan, p, NULL, 0, n);
    if (rc == ST_ERANGE || (rc == ST_OK && *n == 0)) {
      *actions = calloc(*n > 0 ? *n : 1, sizeof **actions);
      if (*actions == NULL) return ST_ENOMEM;
      rc = st_chaos_plan_parse(o->plan, p, *actions, *n, n);
    }
    if (rc != ST_OK) return cnode_fail(c->cn, ST_EINVAL, "'%s' is not a chaos plan", o->plan);
    if (p->n_targets != n_targets)
      return cnode_fail(c->cn, ST_EINVAL,
                        "the plan was drawn for %u children; the supervisor has %u",
                        p->n_targets, n_targets);
    return ST_OK;
  }
  *p = (st_chaos_params_t){.seed = o->seed,
                           .kill_rate = o->kill_rate,
                           .duration_ms = o->duration_ms,
                           .interval_ms = o->interval_ms,
                           .jitter_pct = o->jitter_pct,
                           .max_kills = o->max_kills > 0 ? o->max_kills : ST_CNODE_CHAOS_MAX_KILLS,
                           .n_targets = n_targets,
                           .n_reasons = 1};
  rc = st_chaos_plan(p, NULL, 0, n);
  if (rc != ST_ERANGE && rc != ST_OK)
    return cnode_fail(c->cn, ST_EINVAL,
                      "chaos options out of range (kill rate 0..1, interval >= 1 ms, "
                      "jitter 0..100)");
  *actions = calloc(*n > 0 ? *n : 1, sizeof **actions);
  if (*actions == NULL) return ST_ENOMEM;
  return st_chaos_plan(p, *actions, *n, n);
}

static int64_t now_us(void) { return (int64_t)(uv_hrtime() / 1000); }

/* Every child that ran at the start runs again; for a dynamic supervisor,
 * whose children are named by pid, as many run as at the start. */
static bool all_recovered(const st_sup_tree_t *before, const st_sup_tree_t *after) {
  if (before->n_children > 0 && before->children[0].id[0] == '<') {
    size_t ran = 0, runs = 0;
    for (size_t i = 0; i < before->n_children; i++)
      ran += st_sup_child_running(&before->children[i]);
    for (size_t i = 0; i < after->n_children; i++)
      runs += st_sup_child_running(&after->children[i]);
    return runs >= ran;
  }
  for (size_t i = 0; i < before->n_children; i++) {
    if (!st_sup_child_running(&before->children[i])) continue;
    bool found = false;
    for (size_t j = 0; j < after->n_children && !found; j++)
      found = strcmp(before->children[i].id, after->children[j].id) == 0 &&
              st_sup_child_running(&after->children[j]);
    if (!found) return false;
  }
  return true;
}

static void summarize(st_cnode_chaos_report_t *r) {
  st_hist_config_t cfg = {.highest_trackable = UINT64_C(3600000000), .significant_digits = 3};
  st_hist_t *h = NULL;
  if (st_hist_create(&cfg, &h) != ST_OK) return;
  for (size_t i = 0; i < r->n_kills; i++)
    if (r->kills[i].status == ST_OK) (void)st_hist_record(h, (uint64_t)r->kills[i].recovery_us);
  double ps[3] = {50, 99, 100};
  uint64_t v[3];
  if (st_hist_percentiles(h, ps, v, 3) == ST_OK) {
    r->recovery_p50_us = v[0];
    r->recovery_p99_us = v[1];
    r->recovery_max_us = v[2];
  }
  st_hist_destroy(h);
}

/* Runs the plan's actions at their times. */
static void run_actions(st_conn_t *c, const char *sup, const st_cnode_chaos_opts_t *o,
                        const st_sup_tree_t *tree, const st_chaos_action_t *a, size_t n,
                        st_cnode_chaos_report_t *r) {
  bool dynamic = tree->n_children > 0 && tree->children[0].id[0] == '<';
  int64_t start = now_us();
  for (size_t i = 0; i < n && !r->supervisor_crashed && !c->lost; i++) {
    int64_t wait_ms = (int64_t)a[i].at_ms - (now_us() - start) / 1000;
    if (wait_ms > 0) st_cnode_pause(c->cn, (unsigned)wait_ms);
    /* A dynamic supervisor's children are named by pid, and a restarted
     * one has a new pid: their order (pid order) is read again before each
     * kill, so target k is the k-th child running now. */
    st_sup_tree_t *now = NULL;
    if (dynamic && st_cnode_tree(c, sup, NULL, &now) == ST_OK && now->n_children <= a[i].target) {
      st_sup_tree_free(now);
      now = NULL;
    }
    const st_sup_child_t *victim = &(now != NULL ? now : tree)->children[a[i].target];
    st_cnode_chaos_kill_t *k = &r->kills[r->n_kills++];
    k->at_ms = a[i].at_ms;
    k->victim = strdup(victim->id);
    st_kill_report_t *kr = NULL;
    k->status = st_cnode_kill_child(c, sup, victim->id_term, o->recovery_timeout_ms, &kr);
    st_sup_tree_free(now);
    if (k->status == ST_OK) {
      k->as_promised = kr->as_promised;
      k->recovery_us = kr->elapsed_us;
      if (kr->as_promised) r->as_promised++;
    } else {
      r->failed++;
      k->error = strdup(st_cnode_error(c->cn));
      if (strstr(st_cnode_error(c->cn), "supervisor_died") != NULL) r->supervisor_crashed = true;
    }
    if (o->on_kill != NULL) o->on_kill(o->ud, i + 1, n, kr);
    st_kill_report_free(kr);
  }
}

int st_cnode_chaos(st_conn_t *c, const char *sup, const st_cnode_chaos_opts_t *o,
                   st_cnode_chaos_report_t **out) {
  if (c == NULL || sup == NULL || o == NULL || out == NULL) return ST_EINVAL;
  st_sup_tree_t *tree = NULL;
  int rc = st_cnode_tree(c, sup, NULL, &tree);
  if (rc != ST_OK) return rc;
  if (tree->n_children == 0) {
    st_sup_tree_free(tree);
    return cnode_fail(c->cn, ST_EINVAL, "%s has no children to kill", sup);
  }
  st_chaos_params_t params;
  st_chaos_action_t *actions = NULL;
  size_t n = 0;
  rc = make_plan(c, o, (uint32_t)tree->n_children, &params, &actions, &n);
  st_cnode_chaos_report_t *r = calloc(1, sizeof *r);
  if (rc == ST_OK && r == NULL) rc = ST_ENOMEM;
  if (rc == ST_OK) {
    r->kills = calloc(n > 0 ? n : 1, sizeof *r->kills);
    size_t len = st_chaos_plan_format(&params, actions, n, NULL, 0);
    r->plan = malloc(len + 1);
    if (r->kills == NULL || r->plan == NULL) rc = ST_ENOMEM;
    else st_chaos_plan_format(&params, actions, n, r->plan, len + 1);
  }
  if (rc != ST_OK) {
    free(actions);
    st_sup_tree_free(tree);
    st_cnode_chaos_report_free(r);
    return rc;
  }
  r->seed = params.seed;
  snprintf(r->strategy, sizeof r->strategy, "%s", tree->strategy);
  int64_t start = now_us();
  run_actions(c, sup, o, tree, actions, n, r);
  free(actions);
  if (c->lost) {
    st_sup_tree_free(tree);
    st_cnode_chaos_report_free(r);
    return cnode_fail(c->cn, ST_ENODELOST, "the connection to %s was lost during the run",
                      c->node);
  }
  st_sup_tree_t *after = NULL;
  if (!r->supervisor_crashed && st_cnode_tree(c, sup, NULL, &after) == ST_OK)
    r->recovered = all_recovered(tree, after);
  else
    r->supervisor_crashed = true;
  r->elapsed_us = now_us() - start;
  summarize(r);
  st_sup_tree_free(after);
  st_sup_tree_free(tree);
  cnode_ok(c->cn);
  *out = r;
  return ST_OK;
}
