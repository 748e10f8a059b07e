// The tunnel's audit line: exactly one per connection decision (SPEC
// "Audit"), to syslog (facility authpriv) and, in the foreground, to stderr.
//
//   cardgate-tunnel: outcome=granted purpose=tls reason=ok user="alice"
//   service="wiki" peer="127.0.0.1:40000" resumed=no cert_issuer="CN=…"
//   cert_serial=1A2B… cert_sha256=… detail="…"
//
// outcome: granted (forwarded to the backend), denied (a refusal by the
// checks or a limit), failed (granted but the backend could not be reached).
// Values are cleaned (no quotes, no control characters, bounded); nothing
// secret is ever in them.
#pragma once

#include <string>

#include "src/error.hpp"

namespace cardgate::tunnel {

struct AuditRecord {
    std::string outcome;  // "granted", "denied", "failed"
    Code code = Code::internal;
    std::string user, service, peer;
    bool resumed = false;
    std::string cert_issuer, cert_serial, cert_sha256;
    std::string detail;
};

std::string format_audit(const AuditRecord& r);

// Sends the line to syslog (openlog was called by main) and, when
// `to_stderr`, to stderr as well. Thread-safe.
void audit(const AuditRecord& r, bool to_stderr);

// Text for a log line: no quotes, no control characters, at most 512 bytes.
std::string clean(std::string_view s);

}  // namespace cardgate::tunnel
