// confd's template functions (docs/confd.md lists them). The store functions (get, gets, getv,
// getvs, ls, lsdir, exists) read `kv`, which must outlive every template parsed with the map.
#pragma once

#include "confd/memkv.h"
#include "template/template.h"

namespace berth::confd {

tmpl::FuncMap ConfdFuncs(const KVStore* kv);

}  // namespace berth::confd
