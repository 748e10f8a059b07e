#include "harden.hpp"

#include <sys/prctl.h>
#include <sys/resource.h>

#include "config.h"

namespace cardgate {

void harden_process() noexcept {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
#ifndef CARDGATE_SANITIZERS
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

}  // namespace cardgate
