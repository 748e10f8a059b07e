// Process hardening for programs that hold a PIN for a moment: no core dump,
// and (except under the sanitizers, whose leak check attaches with ptrace)
// not dumpable, so the user cannot ptrace or read the process's memory.
#pragma once

namespace cardgate {

void harden_process() noexcept;

}  // namespace cardgate
