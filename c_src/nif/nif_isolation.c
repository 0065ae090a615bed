/* Test isolation: ids, bounded names, per-test records and snapshots.
 *
 * Global state (one per VM, carried over on upgrade): the test id generator
 * and the name pools, behind one mutex.
 *
 * A record resource is the C side of one test's isolation context. It
 * holds, in a private environment, a copy of every tracked term, and a
 * monitor on every tracked process: when one dies, the down callback drops
 * it from the record and gives its name back to the pool, so cleanup only
 * ever sees live processes and never polls. A record may also watch an
 * owner process: when the owner dies, the down callback sends
 * {supertester_owner_down, Record} to a janitor process, which cleans up
 * for an owner that never called teardown.
 *
 * A snapshot resource keeps sorted, de-duplicated copies of the processes,
 * ETS tables and registered names that existed before a test; a diff
 * against the current lists says what appeared and what went away. */
#include <stdio.h>
#include <string.h>

#include "nif_priv.h"
#include "supertester/names.h"
#include "supertester/record.h"
#include "supertester/set.h"

/* Entry kinds in the core record. */
enum { KIND_PROCESS = 1, KIND_ETS = 2, KIND_CLEANUP = 3 };

struct st_nif_iso_state_s {
  st_idgen_t ids;
  ErlNifMutex *names_lock;
  st_namepool_t *names;
};

st_nif_iso_state_t *st_nif_iso_state_new(void) {
  st_nif_iso_state_t *s = enif_alloc(sizeof *s);
  if (s == NULL) return NULL;
  st_idgen_init(&s->ids, 1);
  s->names_lock = enif_mutex_create("supertester_names");
  if (s->names_lock == NULL || st_namepool_create(&s->names) != ST_OK) {
    if (s->names_lock) enif_mutex_destroy(s->names_lock);
    enif_free(s);
    return NULL;
  }
  return s;
}

void st_nif_iso_state_free(st_nif_iso_state_t *s) {
  if (s == NULL) return;
  st_namepool_destroy(s->names);
  enif_mutex_destroy(s->names_lock);
  enif_free(s);
}

static void release_slot(st_nif_iso_state_t *iso, uint64_t pool_key, uint32_t slot) {
  enif_mutex_lock(iso->names_lock);
  st_namepool_release(iso->names, pool_key, slot);
  enif_mutex_unlock(iso->names_lock);
}

/* ------------------------------------------------------------- records */

typedef struct entry_s {
  ERL_NIF_TERM key;  /* copy in the record's environment */
  ERL_NIF_TERM info; /* idem */
  int monitored;
  ErlNifMonitor mon;
  int named; /* a process holding a name from the pools */
  ERL_NIF_TERM pool_key;
  uint32_t slot;
} entry_t;

typedef struct record_res_s {
  ErlNifMutex *lock;
  st_record_t *rec;
  ErlNifEnv *terms;
  st_nif_iso_state_t *iso;
  int closed; /* taken: nothing more may be tracked */
  uint64_t next_cleanup_key;
  int watching_owner;
  ErlNifMonitor owner_mon;
  ErlNifPid janitor;
} record_res_t;

static void free_entry(void *data, void *ctx) {
  (void)ctx;
  enif_free(data);
}

/* Processes are keyed by their pid's term, an immediate unique while the
 * process lives; other terms by their internal hash, with collisions
 * resolved by probing the next key and comparing the stored term. */
static uint64_t pid_key(const ErlNifPid *pid) { return (uint64_t)pid->pid; }

/* Finds the key of `term` under `kind`: returns 1 and sets *key when the
 * term is recorded, 0 and sets *key to a free key when it is not. */
static int locate(ErlNifEnv *env, record_res_t *res, int kind, ERL_NIF_TERM term,
                  uint64_t *key) {
  ErlNifPid pid;
  uint64_t k;
  if (kind == KIND_PROCESS && enif_get_local_pid(env, term, &pid)) {
    k = pid_key(&pid);
    *key = k;
    return st_record_find(res->rec, kind, k, NULL) == ST_OK;
  }
  k = enif_hash(ERL_NIF_INTERNAL_HASH, term, 0);
  for (;; k++) {
    st_record_entry_t e;
    if (st_record_find(res->rec, kind, k, &e) != ST_OK) {
      *key = k;
      return 0;
    }
    if (enif_compare(((entry_t *)e.data)->key, term) == 0) {
      *key = k;
      return 1;
    }
  }
}

static void record_dtor(ErlNifEnv *env, void *obj) {
  (void)env;
  record_res_t *res = obj;
  /* Monitors go with the resource; names still held by live processes
   * stay held (teardown, not garbage collection, gives them back). */
  if (res->rec) st_record_destroy(res->rec, free_entry, NULL);
  if (res->terms) enif_free_env(res->terms);
  if (res->lock) enif_mutex_destroy(res->lock);
}

static void notify_janitor(ErlNifEnv *env, record_res_t *res) {
  ErlNifEnv *msg_env = enif_alloc_env();
  if (msg_env == NULL) return;
  ERL_NIF_TERM msg = enif_make_tuple2(
      msg_env, enif_make_atom(msg_env, "supertester_owner_down"),
      enif_make_resource(msg_env, res));
  enif_send(env, &res->janitor, msg_env, msg);
  enif_free_env(msg_env);
}

static void record_down(ErlNifEnv *env, void *obj, ErlNifPid *pid,
                        ErlNifMonitor *mon) {
  record_res_t *res = obj;
  enif_mutex_lock(res->lock);
  if (res->watching_owner && enif_compare_monitors(mon, &res->owner_mon) == 0) {
    res->watching_owner = 0;
    int open = !res->closed;
    enif_mutex_unlock(res->lock);
    if (open) notify_janitor(env, res);
    return;
  }
  st_record_entry_t e;
  if (st_record_remove(res->rec, KIND_PROCESS, pid_key(pid), &e) == ST_OK) {
    entry_t *entry = e.data;
    /* The process is gone, and with it its registration: the name is free. */
    if (entry->named) release_slot(res->iso, (uint64_t)entry->pool_key, entry->slot);
    enif_free(entry);
  }
  enif_mutex_unlock(res->lock);
}

bool st_nif_isolation_open(ErlNifEnv *env, st_nif_priv_t *priv,
                           ErlNifResourceFlags flags) {
  ErlNifResourceTypeInit record_init = {.dtor = record_dtor, .down = record_down};
  priv->record_type = enif_open_resource_type_x(env, "supertester_record",
                                                &record_init, flags, NULL);
  return priv->record_type != NULL;
}

static ERL_NIF_TERM error_atom(ErlNifEnv *env, ERL_NIF_TERM reason) {
  return enif_make_tuple2(env, ST_ATOM(env, error), reason);
}

static bool get_record(ErlNifEnv *env, ERL_NIF_TERM term, record_res_t **out) {
  return enif_get_resource(env, term, st_nif_priv(env)->record_type, (void **)out);
}

/* iso_new_id() -> pos_integer() */
ERL_NIF_TERM st_nif_iso_new_id(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  (void)argv;
  return enif_make_uint64(env, st_idgen_next(&st_nif_priv(env)->iso->ids));
}

/* The name "<PoolKey>#<Slot>", without the "Elixir." of module names. */
static bool make_name(ErlNifEnv *env, ERL_NIF_TERM pool_key, uint32_t slot,
                      ERL_NIF_TERM *out) {
  char key[256], name[256];
  if (enif_get_atom(env, pool_key, key, sizeof key, ERL_NIF_LATIN1) <= 0) return false;
  const char *shown = strncmp(key, "Elixir.", 7) == 0 ? key + 7 : key;
  int len = snprintf(name, sizeof name, "%s#%u", shown, (unsigned)slot);
  if (len < 0 || len >= 256) return false; /* atoms hold 255 characters */
  *out = enif_make_atom_len(env, name, (size_t)len);
  return true;
}

/* iso_name_acquire(PoolKey :: atom()) -> {Name :: atom(), Slot}
 * The lowest free slot of the pool; Name is built once per slot ever. */
ERL_NIF_TERM st_nif_iso_name_acquire(ErlNifEnv *env, int argc,
                                     const ERL_NIF_TERM argv[]) {
  (void)argc;
  char probe[256];
  if (enif_get_atom(env, argv[0], probe, sizeof probe, ERL_NIF_LATIN1) <= 0 ||
      strlen(probe) > 240)
    return st_nif_badarg(env, argv[0]);
  st_nif_iso_state_t *iso = st_nif_priv(env)->iso;
  uint32_t slot;
  enif_mutex_lock(iso->names_lock);
  int rc = st_namepool_acquire(iso->names, (uint64_t)argv[0], &slot);
  enif_mutex_unlock(iso->names_lock);
  if (rc != ST_OK) return st_nif_error(env, rc);
  ERL_NIF_TERM name;
  if (!make_name(env, argv[0], slot, &name)) {
    release_slot(iso, (uint64_t)argv[0], slot);
    return st_nif_badarg(env, argv[0]);
  }
  return enif_make_tuple2(env, name, enif_make_uint(env, slot));
}

/* iso_name_release(PoolKey, Slot) -> ok | {error, not_found} */
ERL_NIF_TERM st_nif_iso_name_release(ErlNifEnv *env, int argc,
                                     const ERL_NIF_TERM argv[]) {
  (void)argc;
  unsigned slot;
  if (!enif_is_atom(env, argv[0])) return st_nif_badarg(env, argv[0]);
  if (!enif_get_uint(env, argv[1], &slot)) return st_nif_badarg(env, argv[1]);
  st_nif_iso_state_t *iso = st_nif_priv(env)->iso;
  enif_mutex_lock(iso->names_lock);
  int rc = st_namepool_release(iso->names, (uint64_t)argv[0], slot);
  enif_mutex_unlock(iso->names_lock);
  return rc == ST_OK ? ST_ATOM(env, ok) : st_nif_error(env, rc);
}

/* iso_name_stats() -> #{in_use, created}: names held now, names ever built */
ERL_NIF_TERM st_nif_iso_name_stats(ErlNifEnv *env, int argc,
                                   const ERL_NIF_TERM argv[]) {
  (void)argc;
  (void)argv;
  st_nif_iso_state_t *iso = st_nif_priv(env)->iso;
  enif_mutex_lock(iso->names_lock);
  size_t in_use = st_namepool_in_use(iso->names);
  uint64_t created = st_namepool_high_water(iso->names);
  enif_mutex_unlock(iso->names_lock);
  ERL_NIF_TERM keys[] = {ST_ATOM(env, in_use), ST_ATOM(env, created)};
  ERL_NIF_TERM values[] = {enif_make_uint64(env, in_use), enif_make_uint64(env, created)};
  return st_nif_make_map(env, keys, values, 2);
}

/* iso_record_new() -> {ok, Rec} */
ERL_NIF_TERM st_nif_iso_record_new(ErlNifEnv *env, int argc,
                                   const ERL_NIF_TERM argv[]) {
  (void)argc;
  (void)argv;
  st_nif_priv_t *priv = st_nif_priv(env);
  record_res_t *res = enif_alloc_resource(priv->record_type, sizeof *res);
  if (res == NULL) return st_nif_error(env, ST_ENOMEM);
  memset(res, 0, sizeof *res);
  res->iso = priv->iso;
  res->next_cleanup_key = 1;
  res->lock = enif_mutex_create("supertester_record");
  res->terms = enif_alloc_env();
  int rc = (res->lock == NULL || res->terms == NULL) ? ST_ENOMEM
                                                     : st_record_create(&res->rec);
  if (rc != ST_OK) {
    enif_release_resource(res);
    return st_nif_error(env, rc);
  }
  ERL_NIF_TERM ref = enif_make_resource(env, res);
  enif_release_resource(res);
  return st_nif_ok(env, ref);
}

/* iso_record_watch(Rec, Owner, Janitor) -> ok | {error, noproc | closed}
 * From now on the owner's death is reported to the janitor (once). */
ERL_NIF_TERM st_nif_iso_record_watch(ErlNifEnv *env, int argc,
                                     const ERL_NIF_TERM argv[]) {
  (void)argc;
  record_res_t *res;
  ErlNifPid owner, janitor;
  if (!get_record(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  if (!enif_get_local_pid(env, argv[1], &owner)) return st_nif_badarg(env, argv[1]);
  if (!enif_get_local_pid(env, argv[2], &janitor)) return st_nif_badarg(env, argv[2]);
  ERL_NIF_TERM result = ST_ATOM(env, ok);
  enif_mutex_lock(res->lock);
  if (res->closed) {
    result = error_atom(env, ST_ATOM(env, closed));
  } else if (!res->watching_owner) {
    res->janitor = janitor;
    if (enif_monitor_process(env, res, &owner, &res->owner_mon) == 0)
      res->watching_owner = 1;
    else
      result = error_atom(env, ST_ATOM(env, noproc));
  }
  enif_mutex_unlock(res->lock);
  return result;
}

static int kind_of(ErlNifEnv *env, ERL_NIF_TERM atom) {
  if (enif_compare(atom, ST_ATOM(env, process)) == 0) return KIND_PROCESS;
  if (enif_compare(atom, ST_ATOM(env, ets)) == 0) return KIND_ETS;
  if (enif_compare(atom, ST_ATOM(env, cleanup)) == 0) return KIND_CLEANUP;
  return 0;
}

static ERL_NIF_TERM kind_atom(ErlNifEnv *env, int kind) {
  switch (kind) {
    case KIND_PROCESS: return ST_ATOM(env, process);
    case KIND_ETS: return ST_ATOM(env, ets);
    default: return ST_ATOM(env, cleanup);
  }
}

/* Records an entry; a process is monitored first, so a dead one is never
 * recorded. Called with the record locked. */
static ERL_NIF_TERM track_locked(ErlNifEnv *env, record_res_t *res, int kind,
                                 ERL_NIF_TERM key_term, ERL_NIF_TERM info,
                                 const ERL_NIF_TERM *name_spec) {
  if (res->closed) return error_atom(env, ST_ATOM(env, closed));
  uint64_t key;
  if (kind == KIND_CLEANUP) {
    key = res->next_cleanup_key++;
  } else if (locate(env, res, kind, key_term, &key)) {
    return error_atom(env, ST_ATOM(env, exists));
  }
  entry_t *entry = enif_alloc(sizeof *entry);
  if (entry == NULL) return st_nif_error(env, ST_ENOMEM);
  memset(entry, 0, sizeof *entry);
  if (kind == KIND_PROCESS) {
    ErlNifPid pid;
    enif_get_local_pid(env, key_term, &pid);
    if (enif_monitor_process(env, res, &pid, &entry->mon) != 0) {
      enif_free(entry);
      return error_atom(env, ST_ATOM(env, noproc));
    }
    entry->monitored = 1;
    if (name_spec != NULL) {
      unsigned slot;
      enif_get_uint(env, name_spec[1], &slot);
      entry->named = 1;
      entry->pool_key = name_spec[0];
      entry->slot = slot;
    }
  }
  entry->key = enif_make_copy(res->terms, key_term);
  entry->info = enif_make_copy(res->terms, info);
  uint64_t seq;
  int rc = st_record_push(res->rec, kind, key, entry, &seq);
  if (rc != ST_OK) {
    if (entry->monitored) enif_demonitor_process(env, res, &entry->mon);
    enif_free(entry);
    return st_nif_error(env, rc);
  }
  return st_nif_ok(env, enif_make_uint64(env, seq));
}

/* iso_record_track(Rec, Kind, Key, Info) -> {ok, Seq} | {error, exists |
 *   noproc | closed}; Kind is process (Key a local pid), ets (Key a table)
 *   or cleanup (Key the action, usually a fun). */
ERL_NIF_TERM st_nif_iso_record_track(ErlNifEnv *env, int argc,
                                     const ERL_NIF_TERM argv[]) {
  (void)argc;
  record_res_t *res;
  ErlNifPid pid;
  if (!get_record(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  int kind = kind_of(env, argv[1]);
  if (kind == 0) return st_nif_badarg(env, argv[1]);
  if (kind == KIND_PROCESS && !enif_get_local_pid(env, argv[2], &pid))
    return st_nif_badarg(env, argv[2]);
  enif_mutex_lock(res->lock);
  ERL_NIF_TERM result = track_locked(env, res, kind, argv[2], argv[3], NULL);
  enif_mutex_unlock(res->lock);
  return result;
}

/* iso_record_track_process(Rec, Pid, Info, {PoolKey, Slot}) -> as above.
 * The name slot goes back to its pool when the process dies. */
ERL_NIF_TERM st_nif_iso_record_track_process(ErlNifEnv *env, int argc,
                                             const ERL_NIF_TERM argv[]) {
  (void)argc;
  record_res_t *res;
  ErlNifPid pid;
  const ERL_NIF_TERM *spec;
  int arity;
  unsigned slot;
  if (!get_record(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  if (!enif_get_local_pid(env, argv[1], &pid)) return st_nif_badarg(env, argv[1]);
  if (!enif_get_tuple(env, argv[3], &arity, &spec) || arity != 2 ||
      !enif_is_atom(env, spec[0]) || !enif_get_uint(env, spec[1], &slot))
    return st_nif_badarg(env, argv[3]);
  enif_mutex_lock(res->lock);
  ERL_NIF_TERM result = track_locked(env, res, KIND_PROCESS, argv[1], argv[2], spec);
  enif_mutex_unlock(res->lock);
  return result;
}

/* iso_record_untrack(Rec, Kind, Key) -> ok | {error, not_found}
 * Forgets an entry without acting on it (a process's name stays held). */
ERL_NIF_TERM st_nif_iso_record_untrack(ErlNifEnv *env, int argc,
                                       const ERL_NIF_TERM argv[]) {
  (void)argc;
  record_res_t *res;
  if (!get_record(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  int kind = kind_of(env, argv[1]);
  if (kind == 0 || kind == KIND_CLEANUP) return st_nif_badarg(env, argv[1]);
  enif_mutex_lock(res->lock);
  uint64_t key;
  st_record_entry_t e;
  ERL_NIF_TERM result = error_atom(env, ST_ATOM(env, not_found));
  if (locate(env, res, kind, argv[2], &key) &&
      st_record_remove(res->rec, kind, key, &e) == ST_OK) {
    entry_t *entry = e.data;
    if (entry->monitored) enif_demonitor_process(env, res, &entry->mon);
    enif_free(entry);
    result = ST_ATOM(env, ok);
  }
  enif_mutex_unlock(res->lock);
  return result;
}

/* {Kind, Key, Info, Name} with Name = {PoolKey, Slot} | none; built in env
 * from the entry's stored terms. */
static ERL_NIF_TERM entry_term(ErlNifEnv *env, const st_record_entry_t *e) {
  const entry_t *entry = e->data;
  ERL_NIF_TERM name = entry->named
                          ? enif_make_tuple2(env, enif_make_copy(env, entry->pool_key),
                                             enif_make_uint(env, entry->slot))
                          : ST_ATOM(env, none);
  return enif_make_tuple4(env, kind_atom(env, e->kind), enif_make_copy(env, entry->key),
                          enif_make_copy(env, entry->info), name);
}

/* iso_record_entries(Rec) -> [{Kind, Key, Info, Name}], newest first */
ERL_NIF_TERM st_nif_iso_record_entries(ErlNifEnv *env, int argc,
                                       const ERL_NIF_TERM argv[]) {
  (void)argc;
  record_res_t *res;
  if (!get_record(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  enif_mutex_lock(res->lock);
  ERL_NIF_TERM list = enif_make_list(env, 0);
  st_record_iter_t it;
  st_record_entry_t e;
  st_record_iter_init(&it, res->rec);
  while (st_record_iter_next(&it, &e)) list = enif_make_list_cell(env, entry_term(env, &e), list);
  enif_mutex_unlock(res->lock);
  ERL_NIF_TERM newest_first;
  enif_make_reverse_list(env, list, &newest_first);
  return newest_first;
}

/* iso_record_take(Rec) -> [{Kind, Key, Info, Name}], newest first
 * Empties and closes the record: monitors are dropped, the owner is no
 * longer watched, later tracking is refused. Names are NOT given back:
 * the caller releases them once the processes are stopped. */
ERL_NIF_TERM st_nif_iso_record_take(ErlNifEnv *env, int argc,
                                    const ERL_NIF_TERM argv[]) {
  (void)argc;
  record_res_t *res;
  if (!get_record(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  enif_mutex_lock(res->lock);
  res->closed = 1;
  if (res->watching_owner) {
    enif_demonitor_process(env, res, &res->owner_mon);
    res->watching_owner = 0;
  }
  ERL_NIF_TERM list = enif_make_list(env, 0);
  st_record_entry_t e;
  while (st_record_pop(res->rec, &e) == ST_OK) {
    entry_t *entry = e.data;
    if (entry->monitored) enif_demonitor_process(env, res, &entry->mon);
    list = enif_make_list_cell(env, entry_term(env, &e), list);
    enif_free(entry);
  }
  enif_clear_env(res->terms);
  enif_mutex_unlock(res->lock);
  ERL_NIF_TERM newest_first;
  enif_make_reverse_list(env, list, &newest_first);
  return newest_first;
}

/* iso_record_counts(Rec) -> #{process, ets, cleanup} */
ERL_NIF_TERM st_nif_iso_record_counts(ErlNifEnv *env, int argc,
                                      const ERL_NIF_TERM argv[]) {
  (void)argc;
  record_res_t *res;
  if (!get_record(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  enif_mutex_lock(res->lock);
  size_t p = st_record_count(res->rec, KIND_PROCESS);
  size_t t = st_record_count(res->rec, KIND_ETS);
  size_t c = st_record_count(res->rec, KIND_CLEANUP);
  enif_mutex_unlock(res->lock);
  ERL_NIF_TERM keys[] = {ST_ATOM(env, process), ST_ATOM(env, ets), ST_ATOM(env, cleanup)};
  ERL_NIF_TERM values[] = {enif_make_uint64(env, p), enif_make_uint64(env, t),
                           enif_make_uint64(env, c)};
  return st_nif_make_map(env, keys, values, 3);
}

/* ----------------------------------------------------------- snapshots */

#define SNAPSHOT_SETS 3

typedef struct snapshot_res_s {
  ErlNifEnv *env;
  ERL_NIF_TERM *items[SNAPSHOT_SETS];
  size_t n[SNAPSHOT_SETS];
} snapshot_res_t;

static void snapshot_dtor(ErlNifEnv *env, void *obj) {
  (void)env;
  snapshot_res_t *snap = obj;
  for (int i = 0; i < SNAPSHOT_SETS; i++) enif_free(snap->items[i]);
  if (snap->env) enif_free_env(snap->env);
}

bool st_nif_snapshot_open(ErlNifEnv *env, st_nif_priv_t *priv,
                          ErlNifResourceFlags flags) {
  priv->snapshot_type = enif_open_resource_type(env, NULL, "supertester_snapshot",
                                                snapshot_dtor, flags, NULL);
  return priv->snapshot_type != NULL;
}

static int compare_terms(const void *a, const void *b, void *ctx) {
  (void)ctx;
  return enif_compare(*(const ERL_NIF_TERM *)a, *(const ERL_NIF_TERM *)b);
}

/* Copies a proper list into a sorted, duplicate-free array (terms copied
 * into copy_env when it is not NULL). */
static int sorted_set(ErlNifEnv *env, ErlNifEnv *copy_env, ERL_NIF_TERM list,
                      ERL_NIF_TERM **out, size_t *n) {
  unsigned len;
  if (!enif_get_list_length(env, list, &len)) return ST_EINVAL;
  ERL_NIF_TERM *items = enif_alloc((len ? len : 1) * sizeof *items);
  if (items == NULL) return ST_ENOMEM;
  ERL_NIF_TERM head;
  for (unsigned i = 0; enif_get_list_cell(env, list, &head, &list); i++)
    items[i] = copy_env ? enif_make_copy(copy_env, head) : head;
  int rc = st_set_sort(items, len, sizeof *items, compare_terms, NULL);
  if (rc != ST_OK) {
    enif_free(items);
    return rc;
  }
  *n = st_set_unique(items, len, sizeof *items, compare_terms, NULL);
  *out = items;
  return ST_OK;
}

static size_t total_length(ErlNifEnv *env, const ERL_NIF_TERM lists[], int n) {
  size_t total = 0;
  unsigned len;
  for (int i = 0; i < n; i++)
    if (enif_get_list_length(env, lists[i], &len)) total += len;
  return total;
}

static ERL_NIF_TERM snapshot_now(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  for (int i = 0; i < SNAPSHOT_SETS; i++)
    if (!enif_is_list(env, argv[i])) return st_nif_badarg(env, argv[i]);
  snapshot_res_t *snap =
      enif_alloc_resource(st_nif_priv(env)->snapshot_type, sizeof *snap);
  if (snap == NULL) return st_nif_error(env, ST_ENOMEM);
  memset(snap, 0, sizeof *snap);
  snap->env = enif_alloc_env();
  int rc = snap->env ? ST_OK : ST_ENOMEM;
  for (int i = 0; i < SNAPSHOT_SETS && rc == ST_OK; i++)
    rc = sorted_set(env, snap->env, argv[i], &snap->items[i], &snap->n[i]);
  if (rc != ST_OK) {
    enif_release_resource(snap);
    return rc == ST_EINVAL ? st_nif_badarg(env, enif_make_list_from_array(env, argv, 3))
                           : st_nif_error(env, rc);
  }
  ERL_NIF_TERM ref = enif_make_resource(env, snap);
  enif_release_resource(snap);
  return st_nif_ok(env, ref);
}

/* iso_snapshot(Processes, EtsTables, Names) -> {ok, Snapshot} */
ERL_NIF_TERM st_nif_iso_snapshot(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  return st_nif_run_sized(env, "iso_snapshot", total_length(env, argv, SNAPSHOT_SETS),
                          ST_NIF_DIRTY_LIST_ELEMENTS, snapshot_now, argc, argv);
}

typedef struct {
  ErlNifEnv *env;
  ERL_NIF_TERM added, removed;
} diff_acc_t;

static void emit_removed(const void *elem, void *ctx) {
  diff_acc_t *acc = ctx;
  acc->removed = enif_make_list_cell(
      acc->env, enif_make_copy(acc->env, *(const ERL_NIF_TERM *)elem), acc->removed);
}

static void emit_added(const void *elem, void *ctx) {
  diff_acc_t *acc = ctx;
  acc->added = enif_make_list_cell(acc->env, *(const ERL_NIF_TERM *)elem, acc->added);
}

static ERL_NIF_TERM diff_now(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  snapshot_res_t *snap;
  if (!enif_get_resource(env, argv[0], st_nif_priv(env)->snapshot_type, (void **)&snap))
    return st_nif_badarg(env, argv[0]);
  ERL_NIF_TERM keys[] = {ST_ATOM(env, processes), ST_ATOM(env, ets), ST_ATOM(env, names)};
  ERL_NIF_TERM values[SNAPSHOT_SETS];
  for (int i = 0; i < SNAPSHOT_SETS; i++) {
    ERL_NIF_TERM *now;
    size_t n;
    int rc = sorted_set(env, NULL, argv[i + 1], &now, &n);
    if (rc == ST_EINVAL) return st_nif_badarg(env, argv[i + 1]);
    if (rc != ST_OK) return st_nif_error(env, rc);
    diff_acc_t acc = {env, enif_make_list(env, 0), enif_make_list(env, 0)};
    st_set_diff(snap->items[i], snap->n[i], now, n, sizeof *now, compare_terms, NULL,
                emit_removed, emit_added, &acc);
    enif_free(now);
    ERL_NIF_TERM added, removed;
    enif_make_reverse_list(env, acc.added, &added);
    enif_make_reverse_list(env, acc.removed, &removed);
    ERL_NIF_TERM pkeys[] = {ST_ATOM(env, added), ST_ATOM(env, removed)};
    ERL_NIF_TERM pvalues[] = {added, removed};
    values[i] = st_nif_make_map(env, pkeys, pvalues, 2);
  }
  return st_nif_make_map(env, keys, values, SNAPSHOT_SETS);
}

/* iso_snapshot_diff(Snapshot, Processes, EtsTables, Names) ->
 *   #{processes | ets | names => #{added => [_], removed => [_]}}, sorted */
ERL_NIF_TERM st_nif_iso_snapshot_diff(ErlNifEnv *env, int argc,
                                      const ERL_NIF_TERM argv[]) {
  return st_nif_run_sized(env, "iso_snapshot_diff",
                          total_length(env, argv + 1, SNAPSHOT_SETS),
                          ST_NIF_DIRTY_LIST_ELEMENTS, diff_now, argc, argv);
}
