// The audit line: see audit.hpp.
#include "tls/tunnel/audit.hpp"

#include <syslog.h>

#include <cstdio>
#include <mutex>

namespace cardgate::tunnel {

std::string clean(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 512)) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7F || c == '"' || c == '\\' ? '?' : c);
    }
    return out;
}

std::string format_audit(const AuditRecord& r) {
    auto q = [](std::string_view v) { return "\"" + clean(v) + "\""; };
    auto bare = [](std::string_view v) { return v.empty() ? std::string("-") : clean(v); };
    return "cardgate-tunnel: outcome=" + clean(r.outcome) + " purpose=tls reason=" + std::string(name(r.code)) +
           " user=" + q(r.user) + " service=" + q(r.service) + " peer=" + q(r.peer) +
           " resumed=" + (r.resumed ? "yes" : "no") + " cert_issuer=" + q(r.cert_issuer) +
           " cert_serial=" + bare(r.cert_serial) + " cert_sha256=" + bare(r.cert_sha256) + " detail=" + q(r.detail);
}

void audit(const AuditRecord& r, bool to_stderr) {
    const std::string line = format_audit(r);
    const int prio = r.outcome == "granted" ? LOG_NOTICE : LOG_WARNING;
    syslog(LOG_AUTHPRIV | prio, "%s", line.c_str());
    if (to_stderr) {
        static std::mutex m;
        std::lock_guard<std::mutex> lock(m);
        std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
    }
}

}  // namespace cardgate::tunnel
