/* Error codes shared by every part of the Supertester C core.
 *
 * Functions that can fail return one of these (0 is success) and fill an out
 * parameter; a function that returns an error leaves its out parameters
 * untouched. Only the NIF and C-node layers turn codes into Erlang terms. */
#ifndef SUPERTESTER_ERR_H
#define SUPERTESTER_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
  ST_OK = 0,
  ST_EINVAL = -1,      /* an argument is outside its documented domain */
  ST_ENOMEM = -2,      /* allocation failed */
  ST_ERANGE = -3,      /* value outside the trackable range */
  ST_EEMPTY = -4,      /* no data to compute from */
  ST_EDEGENERATE = -5, /* data cannot support the computation (e.g. all x equal) */
  ST_ENOTFOUND = -6,   /* no such entry */
  ST_EEXIST = -7,      /* the entry is already there */
  ST_EPERM = -8,       /* refused: e.g. a cookie file others can read */
  /* The C-node's: why a live node could not be reached or used. */
  ST_ENOEPMD = -9,     /* no epmd answers on the node's host */
  ST_ENONODE = -10,    /* epmd knows no node of that name: not running */
  ST_EAUTH = -11,      /* the node refused the handshake: wrong cookie */
  ST_ETIMEDOUT = -12,  /* a bounded wait ran out */
  ST_ENODELOST = -13,  /* the connection to the node dropped */
  ST_EAGENT = -14,     /* the agent on the node failed or answered an error */
  ST_EPROTO = -15      /* a message of the wrong shape */
};

/* A sentence for a person ("value outside the trackable range"). */
const char *st_strerror(int err);

/* A short machine name ("erange"), stable across versions. */
const char *st_err_name(int err);

#ifdef __cplusplus
}
#endif

#endif
