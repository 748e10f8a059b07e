// The one error catalogue of cardgate.
//
// Every fallible function returns a Result<T> (result.hpp) whose error carries a
// Code from this enum. Each code has a stable name (for --json and audit lines),
// a human message and a category that decides the process exit code (SPEC
// "Exit codes"). describe()/category() switch over every enumerator without a
// default: label, so adding a code without its message fails to compile
// (-Werror=switch).
#pragma once

#include <string_view>

namespace cardgate {

enum class Code {
    ok,

    // --- usage and configuration (exit 2) ---
    usage,
    config_io,             // config file cannot be read
    config_syntax,         // TOML syntax error
    config_unknown_key,    // key not in the schema
    config_type,           // value of the wrong type
    config_value,          // value of the right type but not allowed
    config_missing,        // required key absent
    config_file,           // a file named by the config (anchor, CRL, module) is unusable
    uri_syntax,            // malformed RFC 7512 pkcs11: URI

    // --- certificate validation refusals (exit 1) ---
    cert_parse,            // not a certificate (DER/PEM garbage)
    cert_expired,
    cert_not_yet_valid,
    cert_untrusted,        // no path to a configured anchor
    cert_bad_signature,    // a signature in the chain does not verify
    cert_not_ca,           // an issuer lacks basicConstraints CA:TRUE or keyCertSign
    cert_path_length,      // pathLenConstraint exceeded
    cert_key_usage,        // keyUsage present without digitalSignature
    cert_eku,              // none of the purpose's EKUs present
    cert_revoked,
    cert_revocation_unknown,  // CRL missing, stale or unusable and on_unknown = "deny"
    cert_weak_algorithm,   // SHA-1/MD5 signature or key too small
    cert_policy,           // other chain-building refusal (critical extension, name constraints, ...)

    // --- proof of possession refusals (exit 1) ---
    proof_bad_signature,   // the card's signature does not verify with the certificate key
    proof_key_mismatch,    // the key on the card is not the certificate's key
    proof_no_key,          // no private key on the card for this certificate

    // --- mapping refusals (exit 1) ---
    map_unmapped,          // no binding or rule maps the certificate
    map_ambiguous,         // the certificate maps to several accounts
    map_other_user,        // it maps, but not to the user asked for
    map_unknown_account,   // the mapped account does not exist (NSS)
    map_system_account,    // uid 0 or below mapping.min_uid, and allow_root = false
    map_weak,              // only a weak rule maps it and mapping.require_strong = true

    // --- login refusals (exit 1) ---
    login_cancelled,       // the person cancelled (no PIN, no choice)
    login_service,         // the service is not in login.services
    admin_only,            // an administrator's command run by someone else (cardgate pin: root only)

    // --- TLS refusals (exit 1) ---
    tls_no_client_cert,    // the client presented no certificate
    tls_handshake,         // the TLS handshake failed (protocol, peer's signature, server certificate)
    tls_service_denied,    // mapped, but not allowed for this [[tls.service]]
    tls_limit,             // refused by a limit (handshakes in flight, handshake or idle timeout)
    tls_backend,           // the backend could not be reached
    tls_client_not_owner,  // a client tunnel's local peer is not its owner (or its uid cannot be established)

    // --- token and reader (exit 3) ---
    p11_load,              // module cannot be loaded / C_GetFunctionList missing
    p11_init,              // C_Initialize failed
    p11_no_token,          // no token present / matching
    p11_no_object,         // object named by a URI not found
    p11_ambiguous,         // URI matches several objects where one is needed
    p11_pin_incorrect,
    p11_pin_locked,
    p11_pin_invalid,       // PIN rejected as malformed (length, characters)
    p11_pin_expired,       // CKR_PIN_EXPIRED / must be changed
    p11_pin_required,      // login needed but no PIN source given
    p11_device_removed,    // token or device removed mid-operation
    p11_device_error,      // CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, ...
    p11_mechanism,         // no acceptable mechanism for this key
    p11_timeout,           // card operation exceeded token.timeout
    p11_function_failed,   // any other CKR_* (named in the detail)

    // --- internal (exit 4) ---
    internal,
    crypto,                // an OpenSSL call failed unexpectedly
    random,                // CSPRNG failure
    io,                    // I/O error not attributable to config
};

enum class Category {
    success,    // exit 0
    denied,     // exit 1
    usage,      // exit 2: usage or config error
    token,      // exit 3: token/reader error
    internal,   // exit 4
};

// Stable snake_case identifier of the code, for --json output and audit lines.
std::string_view name(Code c) noexcept;
// One-sentence human description, no trailing period.
std::string_view describe(Code c) noexcept;
Category category(Code c) noexcept;
// Exit code of a program that ends on this code (SPEC "Exit codes").
int exit_code(Code c) noexcept;

}  // namespace cardgate
