// libsystemd's sd_notify rather than a datagram of our own to $NOTIFY_SOCKET:
// it handles the abstract-namespace socket names and credentials, and the
// protocol's later additions, and it is one small library Debian always has.
#include "tls/tunnel/notify.hpp"

#include "config.h"

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace cardgate::tunnel {

namespace {

void notify(const char* state) {
#if HAVE_LIBSYSTEMD
    // unset_environment = 0: the reload sends READY=1 again later. A failure
    // to notify is the service manager's to report (a start timeout).
    (void)sd_notify(0, state);
#else
    (void)state;
#endif
}

}  // namespace

void notify_ready() { notify("READY=1\nSTATUS=serving"); }
void notify_reloading() { notify("RELOADING=1\nSTATUS=reloading the configuration"); }
void notify_stopping() { notify("STOPPING=1\nSTATUS=stopping"); }

}  // namespace cardgate::tunnel
