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
    default: return "unknown";
  }
}
