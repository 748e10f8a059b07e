// Service manager notifications (sd_notify(3)) for cardgate-tunnel.service,
// a Type=notify unit: READY=1 once every listener is bound, RELOADING=1 while
// a SIGHUP reload runs (READY=1 again after it, whether it kept the old or
// took the new configuration), STOPPING=1 when a signal stops the server.
// Without a service manager ($NOTIFY_SOCKET unset) or built without
// libsystemd, every call does nothing.
#pragma once

namespace cardgate::tunnel {

void notify_ready();
void notify_reloading();
void notify_stopping();

}  // namespace cardgate::tunnel
