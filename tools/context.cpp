#include "context.hpp"

#include <unistd.h>

#include "src/trust.hpp"

namespace cardgate::cli {

Result<Config> load_config(const Options& o) {
    if (!o.index_dir) return Config::load(config_path(o));
    if (o.index_dir->empty() || o.index_dir->front() != '/')
        return Error(Code::usage, "--index-dir: \"" + *o.index_dir + "\" is not an absolute path");
    auto c = CG_TRY(Config::load(config_path(o), *o.index_dir));
    c.mapping.index_dir = *o.index_dir;
    return c;
}

Result<std::shared_ptr<p11::Module>> load_module(const Options& o, const Config& cfg, const p11::Uri* uri) {
    // The module is code that runs with our privileges: only the config or an
    // explicit --module names it, never a URI someone pasted.
    if (uri && (uri->module_path || uri->module_name))
        return Error(Code::usage, "module-path and module-name in a URI are not honoured: set token.module or use --module");
    const std::string path = o.module.value_or(cfg.token.module);
    CG_TRY_VOID(check_trusted_file(path));
    return p11::Module::load(path, cfg.token.timeout);
}

Result<p11::Uri> uri_argument(const std::string& arg) {
    auto uri = CG_TRY(p11::Uri::parse(arg));
    // argv is readable by every local user (/proc/PID/cmdline) and cannot be
    // wiped reliably: a PIN never travels there.
    if (uri.has_pin_value())
        return Error(Code::usage, "pin-value in a command-line URI is visible to every user of this machine; use "
                                  "pin-source=file:PATH or --pin-source file:PATH");
    return uri;
}

Result<NamedCertificate> certificate_argument(const Options& o, const Config& cfg, const std::string& arg) {
    NamedCertificate nc;
    if (!arg.starts_with("pkcs11:")) {
        auto cert = Certificate::load(arg);
        // A file named on the command line that cannot be read is the caller's mistake.
        if (!cert && cert.code() == Code::io) return Error(Code::usage, cert.error().detail());
        nc.cert.emplace(CG_TRY(std::move(cert)));
        nc.origin = arg;
        return nc;
    }
    auto uri = CG_TRY(uri_argument(arg));
    if (uri.type && *uri.type != p11::ObjectClass::certificate && *uri.type != p11::ObjectClass::private_key)
        return Error(Code::usage, "the URI must name a certificate (type=cert) or its key (type=private)");
    uri.type = p11::ObjectClass::certificate;
    auto module = CG_TRY(load_module(o, cfg, &uri));
    auto located = CG_TRY(p11::locate_certificate(module, uri));
    nc.cert.emplace(CG_TRY(Certificate::from_der(located.object.value, located.object.uri)));
    nc.origin = located.object.uri;
    nc.token = located.token;
    return nc;
}

Result<Purpose> purpose_option(const Options& o) {
    if (!o.purpose) return Purpose::login;
    auto p = purpose_from(*o.purpose);
    if (!p) return Error(Code::usage, "--purpose must be login, tls or door, not '" + *o.purpose + "'");
    return *p;
}

std::string this_host() {
    char name[256] = {0};
    if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
    return name;
}

std::string utc(std::time_t t) { return format_utc(t); }

}  // namespace cardgate::cli
