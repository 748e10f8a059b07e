// cardgate map: which account a certificate maps to, and why.
//
// The certificate is validated first (an invalid certificate maps to nothing
// in every front end); the mapping is explained either way, so an
// administrator can fix both at once. The exit code is the validation
// failure when there is one, else the mapping's.
#include "context.hpp"

#include "src/clock.hpp"
#include "src/mapping.hpp"
#include "src/trust.hpp"

namespace cardgate::cli {

int cmd_map(const Options& o, Output& out) {
    if (o.args.size() != 1) return out.fail(Error(Code::usage, "map takes one CERT file or pkcs11: URI"));
    auto purpose = purpose_option(o);
    if (!purpose) return out.fail(purpose.error());
    if (o.user && !account_name_problem(*o.user).empty())
        return out.fail(Error(Code::usage, "--user: \"" + *o.user + "\" " + account_name_problem(*o.user)));
    auto cfg = load_config(o);
    if (!cfg) return out.fail(cfg.error());
    auto store = TrustStore::create(cfg->trust);
    if (!store) return out.fail(store.error());
    NssAccounts accounts;
    auto mapper = Mapper::create(std::move(cfg->mapping), cfg->path, accounts);
    if (!mapper) return out.fail(mapper.error());
    auto named = certificate_argument(o, *cfg, o.args[0]);
    if (!named) return out.fail(named.error());
    const Certificate& cert = *named->cert;

    SystemClock clock;
    const Verdict v = store->validate(cert, *purpose, cfg->purpose(*purpose), clock);
    std::optional<std::string_view> user;
    if (o.user) user = *o.user;
    const MapResult m = mapper->map(cert, *purpose, user, /*explain=*/true);

    auto& d = out.doc();
    d["purpose"] = purpose_name(*purpose);
    d["certificate"] = {{"origin", named->origin}, {"subject", cert.subject()}, {"issuer", cert.issuer()},
                        {"serial", cert.serial_hex()}, {"sha256", cert.sha256()},
                        {"spki_sha256", cert.spki_sha256()}};
    if (o.user) d["user"] = *o.user;
    d["validation"] = {{"verdict", v.ok() ? "valid" : "invalid"}, {"code", name(v.code)}, {"detail", v.detail}};
    Json steps = Json::array();
    for (const auto& s : m.steps) {
        Json j = {{"source", s.source}, {"matched", s.matched}, {"detail", s.detail}};
        if (s.matched) j["account"] = s.account;
        steps.push_back(j);
    }
    d["steps"] = steps;
    Json cands = Json::array();
    for (const auto& c : m.candidates)
        cands.push_back({{"account", c.account}, {"strength", strength_name(c.strength)}, {"source", c.source}});
    d["candidates"] = cands;
    if (!v.ok()) {
        // The exit code is the validation's; so is "error".
        d["error"] = {{"code", name(v.code)}, {"message", describe(v.code)}, {"detail", v.detail}};
        if (!m.ok()) d["mapping_error"] = {{"code", name(m.code)}, {"message", describe(m.code)}, {"detail", m.detail}};
    }
    if (m.ok()) {
        const Identity& id = *m.identity;
        d["identity"] = {{"account", id.account},   {"uid", id.uid},       {"gid", id.gid},
                         {"groups", id.groups},     {"strength", strength_name(id.strength)},
                         {"source", id.source},     {"privileges", id.privileges}};
    } else if (v.ok()) {
        d["error"] = {{"code", name(m.code)}, {"message", describe(m.code)}, {"detail", m.detail}};
    }

    out.line("certificate  " + cert.subject());
    out.line("  issuer     " + cert.issuer());
    out.line("  serial     " + cert.serial_hex());
    out.line("  sha256     " + cert.sha256());
    out.line("  from       " + named->origin);
    out.line("validation   " + std::string(v.ok() ? "valid" : "INVALID (" + std::string(name(v.code)) + "): " + v.detail) +
             " for " + std::string(purpose_name(*purpose)));
    if (o.user) out.line("user asked   " + *o.user);
    for (const auto& s : m.steps)
        out.line(std::string(s.matched ? "  [ match ] " : "  [   -   ] ") + s.source + ": " +
                 (s.matched ? s.account + " (" + s.detail + ")" : s.detail));
    if (m.ok()) {
        const Identity& id = *m.identity;
        out.line("account      " + id.account + " (uid " + std::to_string(id.uid) + ")");
        out.line("strength     " + std::string(strength_name(id.strength)) + ", by " + id.source);
        std::string groups;
        for (const auto& g : id.groups) groups += (groups.empty() ? "" : " ") + g;
        out.line("groups       " + groups);
        std::string privs;
        for (const auto& p : id.privileges) privs += (privs.empty() ? "" : " ") + p;
        out.line("privileges   " + privs);
    } else {
        out.line("result       NOT MAPPED (" + std::string(name(m.code)) + "): " + m.detail);
    }
    if (!v.ok()) {
        out.line("verdict      INVALID certificate: it maps to nothing until it validates");
        return out.finish(v.code);
    }
    return out.finish(m.code);
}

}  // namespace cardgate::cli
