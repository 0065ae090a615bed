/* Terms: the public st_term_t (an encoded term a caller can keep and send
 * again) and the small readers the C-node uses on replies. Readers check
 * shapes and return ST_EPROTO instead of trusting the peer. */
#include <stdlib.h>
#include <string.h>

#include "cnode_priv.h"

int term_tuple(const char *buf, int *index, int arity) {
  int got;
  if (ei_decode_tuple_header(buf, index, &got) < 0 || got != arity) return ST_EPROTO;
  return ST_OK;
}

int term_atom(const char *buf, int *index, char *out, size_t cap) {
  char atom[MAXATOMLEN_UTF8];
  if (ei_decode_atom_as(buf, index, atom, sizeof atom, ERLANG_UTF8, NULL, NULL) < 0)
    return ST_EPROTO;
  if (strlen(atom) >= cap) return ST_EPROTO;
  strcpy(out, atom);
  return ST_OK;
}

int term_expect_atom(const char *buf, int *index, const char *atom) {
  char got[MAXATOMLEN_UTF8];
  int at = *index;
  if (term_atom(buf, &at, got, sizeof got) != ST_OK || strcmp(got, atom) != 0) return ST_EPROTO;
  *index = at;
  return ST_OK;
}

int term_ok(const char *buf, int *index) {
  int at = *index;
  if (term_tuple(buf, &at, 2) != ST_OK || term_expect_atom(buf, &at, "ok") != ST_OK)
    return ST_EPROTO;
  *index = at;
  return ST_OK;
}

int term_long(const char *buf, int *index, long long *out) {
  return ei_decode_longlong(buf, index, out) < 0 ? ST_EPROTO : ST_OK;
}

int term_print(const char *buf, int *index, char **out) {
  char *s = NULL;
  int at = *index;
  if (ei_s_print_term(&s, buf, &at) < 0) {
    free(s);
    return ST_EPROTO;
  }
  *out = s;
  *index = at;
  return ST_OK;
}

int term_binary_text(const char *buf, int *index, char **out) {
  int type, size;
  if (ei_get_type(buf, index, &type, &size) < 0 || type != ERL_BINARY_EXT) return ST_EPROTO;
  char *s = malloc((size_t)size + 1);
  if (s == NULL) return ST_ENOMEM;
  long len = 0;
  if (ei_decode_binary(buf, index, s, &len) < 0) {
    free(s);
    return ST_EPROTO;
  }
  s[len] = '\0';
  *out = s;
  return ST_OK;
}

int term_copy(const char *buf, int *index, st_term_t **out) {
  int end = *index;
  if (ei_skip_term(buf, &end) < 0) return ST_EPROTO;
  st_term_t *t = malloc(sizeof *t);
  if (t == NULL) return ST_ENOMEM;
  t->len = end - *index;
  t->bytes = malloc((size_t)t->len);
  if (t->bytes == NULL) {
    free(t);
    return ST_ENOMEM;
  }
  memcpy(t->bytes, buf + *index, (size_t)t->len);
  *index = end;
  *out = t;
  return ST_OK;
}

int term_encode_name(ei_x_buff *x, const char *name) {
  size_t len = name != NULL ? strlen(name) : 0;
  if (len == 0 || len >= MAXATOMLEN) return ST_EINVAL;
  return ei_x_encode_atom(x, name) < 0 ? ST_ENOMEM : ST_OK;
}

/* -------------------------------------------------------------- public */

int st_term_atom(const char *name, st_term_t **out) {
  if (out == NULL) return ST_EINVAL;
  ei_x_buff x;
  ei_x_new(&x);
  int rc = term_encode_name(&x, name);
  int index = 0;
  if (rc == ST_OK) rc = term_copy(x.buff, &index, out);
  ei_x_free(&x);
  return rc;
}

int st_term_parse(st_conn_t *c, const char *text, st_term_t **out) {
  if (c == NULL || text == NULL || out == NULL) return ST_EINVAL;
  ei_x_buff req, reply;
  ei_x_new(&req);
  ei_x_new(&reply);
  ei_x_encode_tuple_header(&req, 2);
  ei_x_encode_atom(&req, "parse_term");
  ei_x_encode_binary(&req, text, (int)strlen(text));
  int rc = agent_request(c, &req, 0, NULL, NULL, &reply);
  if (rc == ST_EAGENT) {
    rc = cnode_fail(c->cn, ST_EINVAL, "'%s' is not an Erlang term: %s", text, c->cn->error);
  } else if (rc == ST_OK) {
    int index = 0;
    if (term_ok(reply.buff, &index) != ST_OK ||
        term_copy(reply.buff, &index, out) != ST_OK)
      rc = cnode_fail(c->cn, ST_EPROTO, "the agent's parse reply has the wrong shape");
  }
  ei_x_free(&req);
  ei_x_free(&reply);
  return rc;
}

char *st_term_format(const st_term_t *t) {
  if (t == NULL) return NULL;
  char *s = NULL;
  int index = 0;
  return term_print(t->bytes, &index, &s) == ST_OK ? s : NULL;
}

const char *st_term_bytes(const st_term_t *t, size_t *len) {
  if (t == NULL) return NULL;
  if (len != NULL) *len = (size_t)t->len;
  return t->bytes;
}

void st_term_free(st_term_t *t) {
  if (t == NULL) return;
  free(t->bytes);
  free(t);
}
