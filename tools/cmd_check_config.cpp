// cardgate check-config: parse strictly, then load every file the config names.
#include "cli.hpp"

#include "src/config.hpp"
#include "src/trust.hpp"

namespace cardgate::cli {

int cmd_check_config(const Options& o, Output& out) {
    if (!o.args.empty()) return out.fail(Error(Code::usage, "check-config takes no arguments"));
    const std::string path = config_path(o);
    out.doc()["config"] = path;
    auto cfg = Config::load(path);
    if (!cfg) return out.fail(cfg.error());
    auto store = TrustStore::create(cfg->trust);
    if (!store) return out.fail(store.error());
    // The module is checked, not loaded: loading runs its code.
    if (auto m = check_trusted_file(cfg->token.module); !m)
        return out.fail(Error(m.code(), "token.module: " + m.error().detail()));
    if (cfg->mapping.bindings) {
        auto b = read_protected_file(*cfg->mapping.bindings);
        if (!b) return out.fail(Error(b.code(), "mapping.bindings: " + b.error().detail()));
    }
    out.line(path + ": OK");
    out.line("  token.module   " + cfg->token.module);
    out.line("  trust.anchors  " + std::to_string(cfg->trust.anchors.size()) + " file(s), intermediates " +
             std::to_string(cfg->trust.intermediates.size()) + ", CRLs " + std::to_string(cfg->trust.crls.size()));
    out.line("  mapping rules  " + std::to_string(cfg->mapping.rules.size()));
    out.doc()["anchors"] = cfg->trust.anchors;
    out.doc()["intermediates"] = cfg->trust.intermediates;
    out.doc()["crls"] = cfg->trust.crls;
    out.doc()["mapping_rules"] = cfg->mapping.rules.size();
    return out.finish(Code::ok);
}

}  // namespace cardgate::cli
