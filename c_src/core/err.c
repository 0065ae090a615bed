#include "supertester/err.h"

const char *st_strerror(int err) {
  switch (err) {
    case ST_OK: return "success";
    case ST_EINVAL: return "invalid argument";
    case ST_ENOMEM: return "out of memory";
    case ST_ERANGE: return "value outside the trackable range";
    case ST_EEMPTY: return "no data";
    case ST_EDEGENERATE: return "data cannot support the computation";
    case ST_ENOTFOUND: return "no such entry";
    case ST_EEXIST: return "entry already exists";
    case ST_EPERM: return "not permitted";
    case ST_ENOEPMD: return "no epmd on the node's host";
    case ST_ENONODE: return "no such node is running";
    case ST_EAUTH: return "the node refused the connection (wrong cookie?)";
    case ST_ETIMEDOUT: return "timed out";
    case ST_ENODELOST: return "the connection to the node was lost";
    case ST_EAGENT: return "the agent on the node failed";
    case ST_EPROTO: return "unexpected message from the node";
    default: return "unknown error";
  }
}

const char *st_err_name(int err) {
  switch (err) {
    case ST_OK: return "ok";
    case ST_EINVAL: return "einval";
    case ST_ENOMEM: return "enomem";
    case ST_ERANGE: return "erange";
    case ST_EEMPTY: return "eempty";
    case ST_EDEGENERATE: return "edegenerate";
    case ST_ENOTFOUND: return "enotfound";
    case ST_EEXIST: return "eexist";
    case ST_EPERM: return "eperm";
    case ST_ENOEPMD: return "enoepmd";
    case ST_ENONODE: return "enonode";
    case ST_EAUTH: return "eauth";
    case ST_ETIMEDOUT: return "etimedout";
    case ST_ENODELOST: return "enodelost";
    case ST_EAGENT: return "eagent";
    case ST_EPROTO: return "eproto";
    default: return "unknown";
  }
}
