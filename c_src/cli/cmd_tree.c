/* supertester tree: the supervision tree, indented on a terminal, nested
 * objects in JSON. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void print_tree(const st_sup_tree_t *t, int depth) {
  if (depth == 0)
    printf("%s %s  %s, intensity %ld per %ld s\n", t->name != NULL ? t->name : "(unnamed)",
           t->pid, t->strategy, t->intensity, t->period);
  for (size_t i = 0; i < t->n_children; i++) {
    const st_sup_child_t *ch = &t->children[i];
    printf("%*s%-*s %-12s %-10s %s", 2 * (depth + 1), "", 24 - 2 * depth, ch->id, ch->pid,
           ch->supervisor ? "supervisor" : "worker", ch->restart);
    if (ch->sub != NULL)
      printf("  %s, intensity %ld per %ld s", ch->sub->strategy, ch->sub->intensity,
             ch->sub->period);
    printf("\n");
    if (ch->sub != NULL) print_tree(ch->sub, depth + 1);
  }
}

static void json_tree(st_json_t *j, const st_sup_tree_t *t) {
  st_json_key(j, "name");
  if (t->name != NULL) st_json_string(j, t->name);
  else st_json_null(j);
  st_json_key(j, "pid");
  st_json_string(j, t->pid);
  st_json_key(j, "strategy");
  st_json_string(j, t->strategy);
  st_json_key(j, "intensity");
  st_json_int(j, t->intensity);
  st_json_key(j, "period");
  st_json_int(j, t->period);
  st_json_key(j, "children");
  st_json_begin_array(j);
  for (size_t i = 0; i < t->n_children; i++) {
    const st_sup_child_t *ch = &t->children[i];
    st_json_begin_object(j);
    st_json_key(j, "id");
    st_json_string(j, ch->id);
    st_json_key(j, "pid");
    st_json_string(j, ch->pid);
    st_json_key(j, "type");
    st_json_string(j, ch->supervisor ? "supervisor" : "worker");
    st_json_key(j, "restart");
    st_json_string(j, ch->restart);
    if (ch->sub != NULL) {
      st_json_key(j, "supervisor");
      st_json_begin_object(j);
      json_tree(j, ch->sub);
      st_json_end_object(j);
    }
    st_json_end_object(j);
  }
  st_json_end_array(j);
}

int cmd_tree(cli_t *cli) {
  if (cli->supervisor == NULL && cli->app == NULL)
    return cli_fail(cli, ST_EINVAL, "tree needs --supervisor NAME or --app APP");
  st_sup_tree_t *tree = NULL;
  int rc = st_cnode_tree(cli->conns[0], cli->supervisor, cli->supervisor ? NULL : cli->app, &tree);
  if (rc != ST_OK) return cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
  if (cli->json) json_tree(&cli->out, tree);
  else print_tree(tree, 0);
  st_sup_tree_free(tree);
  return EXIT_OK;
}
