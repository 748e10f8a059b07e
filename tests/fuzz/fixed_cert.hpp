// The certificate the fuzz targets map: one fixed leaf, so that corpus inputs
// can name its digests and fields and stay meaningful between runs.
//
// Made once with OpenSSL (EC P-256, issued by "CN=Example Issuing CA,O=Example
// Corp", serial 1A2B3C): subject UID=alice,CN=Alice Example,OU=Engineering,
// OU=Staff,O=Example Corp,C=DE (OU twice, so a template can meet an ambiguous
// attribute), SAN email alice@example.com and UPN Alice.Smith@corp.example,
// EKU clientAuth + msSmartcardLogin, policy 2.16.840.1.101.3.2.1.3.13, a
// subjectKeyIdentifier. The values below are checked at start-up.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "x509.hpp"

namespace cardgate::fuzz {

inline constexpr std::string_view fixed_cert_pem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICgzCCAiqgAwIBAgIDGis8MAoGCCqGSM49BAMCMDQxFTATBgNVBAoMDEV4YW1w\n"
    "bGUgQ29ycDEbMBkGA1UEAwwSRXhhbXBsZSBJc3N1aW5nIENBMCAXDTI2MTEyNzA0\n"
    "MDEyMFoYDzIxMjYxMTAzMDQwMTIwWjB5MQswCQYDVQQGEwJERTEVMBMGA1UECgwM\n"
    "RXhhbXBsZSBDb3JwMQ4wDAYDVQQLDAVTdGFmZjEUMBIGA1UECwwLRW5naW5lZXJp\n"
    "bmcxFjAUBgNVBAMMDUFsaWNlIEV4YW1wbGUxFTATBgoJkiaJk/IsZAEBDAVhbGlj\n"
    "ZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABH21UP8yDp4AYKepmAwQJWFx3tzn\n"
    "VtRSQX+HkoEnks/HVjoXm54mByjmc0+NNd+bT7L9OeZT4h/41BSAIjg/PDijgeMw\n"
    "geAwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwHwYDVR0lBBgwFgYIKwYB\n"
    "BQUHAwIGCisGAQQBgjcUAgIwRgYDVR0RBD8wPYERYWxpY2VAZXhhbXBsZS5jb22g\n"
    "KAYKKwYBBAGCNxQCA6AaDBhBbGljZS5TbWl0aEBjb3JwLmV4YW1wbGUwHQYDVR0O\n"
    "BBYEFFVxMgRbd9WretGRARiHQRx4Qyt8MBcGA1UdIAQQMA4wDAYKYIZIAWUDAgED\n"
    "DTAfBgNVHSMEGDAWgBTOBVAwDwmGBlkw8cXAAzwr+c3VLTAKBggqhkjOPQQDAgNH\n"
    "ADBEAiBML3jKJosWtqiV5RWKCw9z0rXOxcCJQxhsTQ/X/gneUgIgP0GJ3H5bXFuq\n"
    "wCgBqqNhqjBGSU9AFdnn+mbogHLfvgg=\n"
    "-----END CERTIFICATE-----\n";

inline constexpr std::string_view fixed_cert_sha256 = "e4810c682d96f9a3b726e94127f59dbc75f579cb4c9a04776eb414cdd6b3bf67";
inline constexpr std::string_view fixed_cert_spki_sha256 = "617587e6e4e05a80dfb0e1312c5625fd1b433704fc3201ac7d821ef0b88678e1";
inline constexpr std::string_view fixed_cert_ski = "557132045b77d5ab7ad191011887411c78432b7c";
inline constexpr std::string_view fixed_cert_serial = "1A2B3C";
inline constexpr std::string_view fixed_cert_issuer = "CN=Example Issuing CA,O=Example Corp";
inline constexpr std::string_view fixed_cert_subject =
    "UID=alice,CN=Alice Example,OU=Engineering,OU=Staff,O=Example Corp,C=DE";

// Reports a broken invariant and aborts, so that libFuzzer keeps the input.
[[noreturn]] inline void invariant_failed(const char* file, int line, const char* what, std::string_view detail) {
    std::fprintf(stderr, "%s:%d: invariant violated: %s\n  %.*s\n", file, line, what,
                 static_cast<int>(detail.size()), detail.data());
    std::abort();
}

// The fixed certificate, parsed once; aborts if it is not the one described above.
inline const Certificate& fixed_cert() {
    static const Certificate cert = [] {
        auto c = Certificate::from_pem(fixed_cert_pem, "fixed fuzz certificate");
        if (!c) invariant_failed(__FILE__, __LINE__, "the fixed certificate parses", c.error().detail());
        const bool as_described = c->sha256() == fixed_cert_sha256 && c->spki_sha256() == fixed_cert_spki_sha256 &&
                                  c->ski() == fixed_cert_ski && c->serial_hex() == fixed_cert_serial &&
                                  c->issuer() == fixed_cert_issuer && c->subject() == fixed_cert_subject;
        if (!as_described) invariant_failed(__FILE__, __LINE__, "the fixed certificate is as described", c->subject());
        return std::move(*c);
    }();
    return cert;
}

}  // namespace cardgate::fuzz

// Aborts with the condition's text and a detail when `cond` is false.
#define FUZZ_REQUIRE(cond, detail)                                                          \
    do {                                                                                    \
        if (!(cond)) ::cardgate::fuzz::invariant_failed(__FILE__, __LINE__, #cond, (detail)); \
    } while (0)
