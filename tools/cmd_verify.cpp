// cardgate verify: the validation verdict, step by step.
#include "context.hpp"

#include "src/clock.hpp"
#include "src/trust.hpp"

namespace cardgate::cli {

int cmd_verify(const Options& o, Output& out) {
    if (o.args.size() != 1) return out.fail(Error(Code::usage, "verify takes one CERT file or pkcs11: URI"));
    auto purpose = purpose_option(o);
    if (!purpose) return out.fail(purpose.error());
    auto cfg = load_config(o);
    if (!cfg) return out.fail(cfg.error());
    auto store = TrustStore::create(cfg->trust);
    if (!store) return out.fail(store.error());
    auto named = certificate_argument(o, *cfg, o.args[0]);
    if (!named) return out.fail(named.error());
    const Certificate& cert = *named->cert;

    SystemClock clock;
    Verdict v = store->validate(cert, *purpose, cfg->purpose(*purpose), clock);

    auto& d = out.doc();
    d["purpose"] = purpose_name(*purpose);
    d["certificate"] = {{"origin", named->origin},      {"subject", cert.subject()},
                        {"issuer", cert.issuer()},      {"serial", cert.serial_hex()},
                        {"sha256", cert.sha256()},      {"key", cert.key_type()},
                        {"not_before", utc(cert.not_before())}, {"not_after", utc(cert.not_after())}};
    if (named->token) d["certificate"]["token"] = {{"label", named->token->label}, {"serial", named->token->serial}};
    Json steps = Json::array();
    for (const auto& s : v.steps) steps.push_back({{"step", s.name}, {"ok", s.ok}, {"detail", s.detail}});
    d["steps"] = steps;
    d["chain"] = v.chain_subjects;
    if (!v.revocation.empty()) d["revocation"] = revocation_json(v.revocation, clock.now());
    d["verdict"] = v.ok() ? "valid" : "invalid";
    if (!v.ok()) d["error"] = {{"code", name(v.code)}, {"message", describe(v.code)}, {"detail", v.detail}};

    out.line("certificate  " + cert.subject());
    out.line("  issuer     " + cert.issuer());
    out.line("  serial     " + cert.serial_hex());
    out.line("  key        " + cert.key_type());
    out.line("  valid      " + utc(cert.not_before()) + " .. " + utc(cert.not_after()));
    out.line("  sha256     " + cert.sha256());
    out.line("  from       " + named->origin);
    out.line("purpose      " + std::string(purpose_name(*purpose)));
    for (const auto& s : v.steps)
        out.line(std::string(s.ok ? "  [ ok ] " : "  [FAIL] ") + s.name + (s.detail.empty() ? "" : ": " + s.detail));
    if (v.ok()) {
        out.line("verdict      VALID for " + std::string(purpose_name(*purpose)));
    } else {
        out.line("verdict      INVALID (" + std::string(name(v.code)) + "): " + std::string(describe(v.code)));
        if (!v.detail.empty()) out.line("reason       " + v.detail);
    }
    return out.finish(v.code);
}

}  // namespace cardgate::cli
