// cardgate revocation status|refresh: what each revocation source says about
// every certificate of a badge's chain, and fetching ahead of time (for the
// systemd timer, cardgate-revocation-refresh.timer).
#include <algorithm>
#include <ctime>

#include "context.hpp"

#include "src/clock.hpp"
#include "src/revocation.hpp"
#include "src/trust.hpp"

namespace cardgate::cli {
namespace {

std::string_view state_name(RevState s) {
    switch (s) {
    case RevState::good: return "good";
    case RevState::revoked: return "revoked";
    case RevState::unknown: return "unknown";
    case RevState::not_checked: return "not_checked";
    }
    return "unknown";
}

int status(const Options& o, Output& out) {
    if (o.args.size() != 2) return out.fail(Error(Code::usage, "revocation status takes one CERT file or pkcs11: URI"));
    auto cfg = load_config(o);
    if (!cfg) return out.fail(cfg.error());
    if (cfg->trust.revocation.empty())
        return out.fail(Error(Code::config_value, "trust.revocation is \"none\": no revocation source is configured"));
    auto checker = std::make_shared<const RevocationChecker>(
        cfg->trust, o.offline ? RevocationChecker::Network::avoid : RevocationChecker::Network::use);
    auto store = TrustStore::create(cfg->trust, checker);
    if (!store) return out.fail(store.error());
    auto named = certificate_argument(o, *cfg, o.args[1]);
    if (!named) return out.fail(named.error());
    const Certificate& cert = *named->cert;

    SystemClock clock;
    const std::time_t now = clock.now();
    const Purpose p = Purpose::login;  // the path and its revocation do not depend on the purpose
    Verdict v = store->validate(cert, p, cfg->purpose(p), clock);

    auto& d = out.doc();
    d["certificate"] = {{"origin", named->origin}, {"subject", cert.subject()}, {"serial", cert.serial_hex()}};
    d["revocation"] = cfg->trust.checks_ocsp() ? (cfg->trust.checks_crl() ? "ocsp,crl" : "ocsp") : "crl";
    d["offline"] = o.offline;
    out.line("certificate  " + cert.subject() + " (serial " + cert.serial_hex() + ")");
    out.line("from         " + named->origin);

    // A path that does not validate has no revocation to show.
    const bool chain_ok = std::any_of(v.steps.begin(), v.steps.end(), [](const Step& s) { return s.name == "chain" && s.ok; });
    if (!chain_ok) {
        d["error"] = {{"code", name(v.code)}, {"message", describe(v.code)}, {"detail", v.detail}};
        out.line("chain        INVALID (" + std::string(name(v.code)) + "): " + v.detail);
        return out.finish(v.code);
    }
    for (const auto& r : v.revocation) out.line("  " + describe(r, now));
    d["chain"] = revocation_json(v.revocation, now);
    // Only the path's steps decide here: key usage and EKU belong to a purpose.
    Code code = Code::ok;
    for (const auto& s : v.steps)
        if (!s.ok && (s.name == "chain" || s.name == "revocation")) code = v.code;
    if (code != Code::ok) d["error"] = {{"code", name(code)}, {"message", describe(code)}, {"detail", v.detail}};
    out.line(code == Code::ok ? "status       not revoked" : "status       " + std::string(name(code)) + ": " + v.detail);
    return out.finish(code);
}

int refresh(const Options& o, Output& out) {
    if (o.args.size() != 1) return out.fail(Error(Code::usage, "revocation refresh takes no argument"));
    auto cfg = load_config(o);
    if (!cfg) return out.fail(cfg.error());
    if (cfg->trust.revocation.empty())
        return out.fail(Error(Code::config_value, "trust.revocation is \"none\": nothing to refresh"));
    RevocationChecker checker(cfg->trust);
    std::vector<std::string> report;
    if (auto ok = checker.refresh(std::time(nullptr), report); !ok) return out.fail(ok.error());
    Json lines = Json::array();
    std::size_t problems = 0;
    for (const auto& l : report) {
        out.line(l);
        lines.push_back(l);
        if (l.starts_with("problem: ")) ++problems;
    }
    out.doc()["report"] = lines;
    out.doc()["problems"] = problems;
    if (problems == 0) return out.finish(Code::ok);
    // The timer's unit fails visibly (systemctl --failed) while a source is unreachable.
    out.doc()["error"] = {{"code", name(Code::cert_revocation_unknown)},
                          {"message", std::to_string(problems) + " item(s) could not be refreshed"}};
    return out.finish(Code::cert_revocation_unknown);
}

}  // namespace

Json revocation_json(const std::vector<CertRevocation>& statuses, std::time_t now) {
    Json list = Json::array();
    for (const auto& r : statuses) {
        Json j = {{"depth", r.depth}, {"subject", r.subject}, {"status", state_name(r.state)}};
        if (r.state == RevState::good || r.state == RevState::revoked) {
            j["source"] = r.source;
            j["this_update"] = utc(static_cast<std::time_t>(r.this_update));
            j["age_seconds"] = now - r.this_update;
            j["expires"] = utc(static_cast<std::time_t>(r.expires));
            j["stale"] = r.stale;
            j["kept"] = r.cached;
        }
        if (r.state == RevState::revoked) {
            j["revoked_at"] = utc(static_cast<std::time_t>(r.revoked_at));
            j["reason"] = crl_reason_name(r.reason);
        }
        if (!r.detail.empty()) j["detail"] = r.detail;
        list.push_back(std::move(j));
    }
    return list;
}

int cmd_revocation(const Options& o, Output& out) {
    if (o.args.empty()) return out.fail(Error(Code::usage, "revocation needs a subcommand: status or refresh"));
    if (o.args[0] == "status") return status(o, out);
    if (o.args[0] == "refresh") return refresh(o, out);
    return out.fail(Error(Code::usage, "unknown revocation subcommand \"" + o.args[0] + "\" (status or refresh)"));
}

}  // namespace cardgate::cli
