// cardgate check-config: parse strictly, then load every file the config names.
#include "cli.hpp"

#include "src/bindings.hpp"
#include "src/config.hpp"
#include "src/duration.hpp"
#include "src/revocation.hpp"
#include "src/trust.hpp"

namespace cardgate::cli {

int cmd_check_config(const Options& o, Output& out) {
    if (!o.args.empty()) return out.fail(Error(Code::usage, "check-config takes no arguments"));
    const std::string path = config_path(o);
    out.doc()["config"] = path;
    auto cfg = Config::load(path, std::nullopt);  // always the full, strict parse: never the derived index
    if (!cfg) return out.fail(cfg.error());
    auto store = TrustStore::create(cfg->trust);
    if (!store) return out.fail(store.error());
    // Every CRL file verified now, as a check would: with its CA, strictly.
    // In memory only: check-config writes nothing to trust.cache_dir.
    std::vector<std::string> crl_report;
    {
        TrustConfig trust = cfg->trust;
        trust.cache_dir.clear();
        if (auto ok = RevocationChecker(trust).verify_crl_files(crl_report); !ok) return out.fail(ok.error());
    }
    // The module is checked, not loaded: loading runs its code.
    if (auto m = check_trusted_file(cfg->token.module); !m)
        return out.fail(Error(m.code(), "token.module: " + m.error().detail()));
    std::size_t bindings = 0;
    std::vector<std::string> warnings;
    if (cfg->mapping.bindings) {
        // Every line, every problem (not only the first), with file:line.
        auto rep = BindingsFile::check(*cfg->mapping.bindings);
        if (!rep) return out.fail(Error(rep.code(), "mapping.bindings: " + rep.error().detail()));
        if (!rep->errors.empty()) {
            for (std::size_t i = 1; i < rep->errors.size(); ++i) out.line("error: " + rep->errors[i]);
            out.doc()["binding_errors"] = rep->errors;
            return out.fail(Error(Code::config_value, rep->errors.front() +
                                                          (rep->errors.size() > 1 ? " (and " + std::to_string(rep->errors.size() - 1) + " more)" : "")));
        }
        bindings = rep->bindings;
        warnings = rep->warnings;
    }
    for (const auto& r : cfg->mapping.rules)
        if (r.strong)
            warnings.push_back(cfg->path + ":" + std::to_string(r.line) +
                               ": rule declared strong: make sure every field it keys on is assigned by your CA, "
                               "never copied from the certificate request");
    for (const auto& w : warnings) out.line("warning: " + w);
    out.line(path + ": OK");
    out.line("  token.module   " + cfg->token.module);
    out.line("  trust.anchors  " + std::to_string(cfg->trust.anchors.size()) + " file(s), intermediates " +
             std::to_string(cfg->trust.intermediates.size()) + ", CRLs " + std::to_string(cfg->trust.crls.size()));
    out.line("  mapping rules  " + std::to_string(cfg->mapping.rule_count()));
    if (cfg->mapping.bindings)
        out.line("  bindings       " + std::to_string(bindings) + " in " + *cfg->mapping.bindings);
    const TrustConfig& t = cfg->trust;
    std::string rev = t.revocation.empty() ? "none" : t.checks_ocsp() ? (t.checks_crl() ? "ocsp,crl" : "ocsp") : "crl";
    if (t.fetch_crls) rev += ", CRLs downloaded from the distribution points";
    if (t.checks_ocsp()) rev += t.ocsp_responder ? ", OCSP at " + *t.ocsp_responder : ", OCSP at each AIA URL";
    rev += std::string(", on unknown: ") + (t.on_unknown_allow ? "ALLOW" : "deny");
    if (t.max_staleness.count() > 0) rev += ", grace " + format_duration(t.max_staleness);
    out.line("  revocation     " + rev);
    if (!t.revocation.empty())
        out.line("  cache_dir      " + t.cache_dir +
                 (check_trusted_directory(t.cache_dir) ? "" : " (not usable: nothing is kept between checks)"));
    for (const auto& l : crl_report) out.line("  crl            " + l);
    for (const auto& svc : cfg->tls.services)
        out.line("  tls.service    " + svc.name + ": " + svc.listen.text + " -> " + svc.backend.text +
                 " (cardgate-tunnel --check server loads its key)");
    for (const auto& c : cfg->tls.clients)
        out.line("  tls.client     " + c.name + ": " + c.listen.text + " -> " + c.connect.text);
    out.doc()["anchors"] = cfg->trust.anchors;
    out.doc()["intermediates"] = cfg->trust.intermediates;
    out.doc()["crls"] = cfg->trust.crls;
    out.doc()["mapping_rules"] = cfg->mapping.rule_count();
    out.doc()["bindings"] = bindings;
    out.doc()["warnings"] = warnings;
    out.doc()["tls_services"] = cfg->tls.services.size();
    out.doc()["tls_clients"] = cfg->tls.clients.size();
    return out.finish(Code::ok);
}

}  // namespace cardgate::cli
