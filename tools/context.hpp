// What several commands need: the config, the PKCS#11 module, a certificate
// named by a file or a pkcs11: URI.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cli.hpp"
#include "pkcs11/module.hpp"
#include "pkcs11/token.hpp"
#include "pkcs11/uri.hpp"
#include "src/config.hpp"
#include "src/x509.hpp"

namespace cardgate::cli {

Result<Config> load_config(const Options& o);
// --module, else the URI's module-path, else token.module.
Result<std::shared_ptr<p11::Module>> load_module(const Options& o, const Config& cfg,
                                                 const p11::Uri* uri = nullptr);

// A pkcs11: URI from the command line: RFC 7512, and no pin-value (argv is public).
Result<p11::Uri> uri_argument(const std::string& arg);

// A certificate named on the command line, with where it came from.
struct NamedCertificate {
    std::optional<Certificate> cert;
    std::string origin;                    // file path or object URI
    std::optional<p11::TokenInfo> token;   // set for pkcs11: URIs
};
Result<NamedCertificate> certificate_argument(const Options& o, const Config& cfg, const std::string& arg);

// Purpose from --purpose (default login).
Result<Purpose> purpose_option(const Options& o);

std::string this_host();
std::string utc(std::time_t t);

}  // namespace cardgate::cli
