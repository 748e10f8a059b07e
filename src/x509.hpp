// X.509 certificates: parsing and the fields cardgate decides on.
//
// A Certificate is valid by construction: from_der/from_pem/load parse it,
// refuse malformed or duplicated extensions (the same EXFLAG_INVALID test
// OpenSSL's verifier makes) and SAN strings with embedded NUL bytes, and
// extract every field once. After that the accessors cannot fail.
#pragma once

#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "ossl.hpp"
#include "result.hpp"

namespace cardgate {

// Key usage bits (RFC 5280 section 4.2.1.3), OpenSSL's KU_* values.
namespace key_usage {
inline constexpr std::uint32_t digital_signature = 0x0080;
inline constexpr std::uint32_t non_repudiation = 0x0040;
inline constexpr std::uint32_t key_encipherment = 0x0020;
inline constexpr std::uint32_t data_encipherment = 0x0010;
inline constexpr std::uint32_t key_agreement = 0x0008;
inline constexpr std::uint32_t key_cert_sign = 0x0004;
inline constexpr std::uint32_t crl_sign = 0x0002;
}  // namespace key_usage

// OID of the Microsoft User Principal Name otherName (MS-WCCE; used by smart card logon).
inline constexpr std::string_view upn_oid = "1.3.6.1.4.1.311.20.2.3";

class Certificate {
public:
    // `origin` (a path, "card", ...) starts the detail of a cert_parse error.
    static Result<Certificate> from_der(std::span<const std::uint8_t> der, std::string_view origin = "DER input");
    // The PEM text must hold exactly one CERTIFICATE block.
    static Result<Certificate> from_pem(std::string_view pem, std::string_view origin = "PEM input");
    // PEM or DER, recognised from the bytes.
    static Result<Certificate> from_bytes(std::string_view bytes, std::string_view origin);
    // Reads a PEM or DER file. Code::io when it cannot be read, cert_parse when it is not one certificate.
    static Result<Certificate> load(const std::string& path);
    // Takes a new reference (X509_up_ref) to a certificate the caller keeps owning.
    static Result<Certificate> from_x509(X509* borrowed, std::string_view origin = "certificate");

    Certificate(const Certificate& other);  // shares the X509 (X509_up_ref)
    Certificate(Certificate&&) = default;  // moves the X509, copies the (const) fields
    Certificate& operator=(const Certificate&) = delete;
    Certificate& operator=(Certificate&&) = delete;
    ~Certificate() = default;

    // Borrowed; valid while this Certificate lives. Do not modify it.
    X509* x509() const noexcept { return x509_.get(); }
    // The DER encoding.
    std::vector<std::uint8_t> der() const;

    // RFC 4514 strings (OpenSSL XN_FLAG_RFC2253: most specific RDN first, RFC
    // 4514 escaping) with non-ASCII characters left as UTF-8, not \XX-escaped.
    const std::string& subject() const noexcept { return f_.subject; }
    const std::string& issuer() const noexcept { return f_.issuer; }
    // Upper-case hex without leading zeros ("1A2B3C"; "-…" for a negative serial).
    const std::string& serial_hex() const noexcept { return f_.serial; }
    // Lower-case hex SHA-256 of the DER certificate / of the DER SubjectPublicKeyInfo.
    const std::string& sha256() const noexcept { return f_.sha256; }
    const std::string& spki_sha256() const noexcept { return f_.spki_sha256; }
    std::time_t not_before() const noexcept { return f_.not_before; }
    std::time_t not_after() const noexcept { return f_.not_after; }
    // "RSA-2048", "EC P-256", "EC P-384", "Ed25519", ...
    const std::string& key_type() const noexcept { return f_.key_type; }

    // Extended key usage OIDs in dotted form; has_eku() tells an absent extension from an empty list.
    bool has_eku() const noexcept { return f_.has_eku; }
    const std::vector<std::string>& eku() const noexcept { return f_.eku; }
    bool has_eku_oid(std::string_view oid) const;
    // Key usage bits (key_usage::*); 0 when the extension is absent.
    bool has_key_usage() const noexcept { return f_.has_key_usage; }
    std::uint32_t key_usage() const noexcept { return f_.key_usage; }

    // subjectAltName rfc822Name entries and UPN otherNames (UTF8String), in certificate order.
    const std::vector<std::string>& emails() const noexcept { return f_.emails; }
    const std::vector<std::string>& upns() const noexcept { return f_.upns; }

    // certificatePolicies policy OIDs in dotted form, in certificate order.
    const std::vector<std::string>& policies() const noexcept { return f_.policies; }
    // Lower-case hex of the subjectKeyIdentifier; empty when absent.
    const std::string& ski() const noexcept { return f_.ski; }
    // The subjectKeyIdentifier is derived from this certificate's own key by
    // a method of RFC 5280 4.2.1.2 or RFC 7093 (a hash of the key bits or of
    // the SubjectPublicKeyInfo), so nobody can claim another key's SKI. A CA
    // that copies extensions from requests could otherwise put any value there.
    bool ski_from_key() const noexcept { return f_.ski_from_key; }

    // X509_check_ca() != 0: basicConstraints cA, or keyCertSign, or a v1 self-signed root.
    bool is_ca() const noexcept { return f_.is_ca; }
    // Self-issued: subject equals issuer and the key identifiers agree. The
    // self-signature is not verified (see x509.cpp).
    bool is_self_signed() const noexcept { return f_.self_signed; }

private:
    struct Fields {
        std::string subject, issuer, serial, sha256, spki_sha256, key_type;
        std::time_t not_before = 0, not_after = 0;
        bool has_eku = false;
        std::vector<std::string> eku;
        bool has_key_usage = false;
        std::uint32_t key_usage = 0;
        std::vector<std::string> emails, upns;
        std::vector<std::string> policies;
        std::string ski;
        bool ski_from_key = false;
        bool is_ca = false;
        bool self_signed = false;
    };
    Certificate(ossl::X509Ptr x, Fields f) : x509_(std::move(x)), f_(std::move(f)) {}
    static Result<Certificate> adopt(ossl::X509Ptr x, std::string_view origin);
    friend Result<std::vector<Certificate>> parse_certificates(std::string_view bytes, std::string_view origin);

    ossl::X509Ptr x509_;
    const Fields f_;
};

// Every certificate in a file's bytes: a PEM bundle (one or more CERTIFICATE
// blocks) or a single DER certificate. cert_parse when there is none or one is bad.
Result<std::vector<Certificate>> parse_certificates(std::string_view bytes, std::string_view origin);

// The DER encoding of a certificate; empty when it cannot be encoded.
std::string encode_der(X509* x);

// RFC 4514 form of an X509_NAME, as Certificate::subject() prints it.
std::string name_to_string(const X509_NAME* name);

// Lower-case hex.
std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace cardgate
