// Message table for the error catalogue: see error.hpp.
#include "error.hpp"

#include "result.hpp"

namespace cardgate {

std::string_view name(Code c) noexcept {
    switch (c) {
    case Code::ok: return "ok";
    case Code::usage: return "usage";
    case Code::config_io: return "config_io";
    case Code::config_syntax: return "config_syntax";
    case Code::config_unknown_key: return "config_unknown_key";
    case Code::config_type: return "config_type";
    case Code::config_value: return "config_value";
    case Code::config_missing: return "config_missing";
    case Code::config_file: return "config_file";
    case Code::uri_syntax: return "uri_syntax";
    case Code::cert_parse: return "cert_parse";
    case Code::cert_expired: return "cert_expired";
    case Code::cert_not_yet_valid: return "cert_not_yet_valid";
    case Code::cert_untrusted: return "cert_untrusted";
    case Code::cert_bad_signature: return "cert_bad_signature";
    case Code::cert_not_ca: return "cert_not_ca";
    case Code::cert_path_length: return "cert_path_length";
    case Code::cert_key_usage: return "cert_key_usage";
    case Code::cert_eku: return "cert_eku";
    case Code::cert_revoked: return "cert_revoked";
    case Code::cert_revocation_unknown: return "cert_revocation_unknown";
    case Code::cert_weak_algorithm: return "cert_weak_algorithm";
    case Code::cert_policy: return "cert_policy";
    case Code::proof_bad_signature: return "proof_bad_signature";
    case Code::proof_key_mismatch: return "proof_key_mismatch";
    case Code::proof_no_key: return "proof_no_key";
    case Code::map_unmapped: return "map_unmapped";
    case Code::map_ambiguous: return "map_ambiguous";
    case Code::map_other_user: return "map_other_user";
    case Code::map_unknown_account: return "map_unknown_account";
    case Code::map_system_account: return "map_system_account";
    case Code::map_weak: return "map_weak";
    case Code::login_cancelled: return "login_cancelled";
    case Code::login_service: return "login_service";
    case Code::admin_only: return "admin_only";
    case Code::tls_no_client_cert: return "tls_no_client_cert";
    case Code::tls_handshake: return "tls_handshake";
    case Code::tls_service_denied: return "tls_service_denied";
    case Code::tls_limit: return "tls_limit";
    case Code::tls_backend: return "tls_backend";
    case Code::tls_client_not_owner: return "tls_client_not_owner";
    case Code::p11_load: return "p11_load";
    case Code::p11_init: return "p11_init";
    case Code::p11_no_token: return "p11_no_token";
    case Code::p11_no_object: return "p11_no_object";
    case Code::p11_ambiguous: return "p11_ambiguous";
    case Code::p11_pin_incorrect: return "p11_pin_incorrect";
    case Code::p11_pin_locked: return "p11_pin_locked";
    case Code::p11_pin_invalid: return "p11_pin_invalid";
    case Code::p11_pin_expired: return "p11_pin_expired";
    case Code::p11_pin_required: return "p11_pin_required";
    case Code::p11_device_removed: return "p11_device_removed";
    case Code::p11_device_error: return "p11_device_error";
    case Code::p11_mechanism: return "p11_mechanism";
    case Code::p11_timeout: return "p11_timeout";
    case Code::p11_function_failed: return "p11_function_failed";
    case Code::internal: return "internal";
    case Code::crypto: return "crypto";
    case Code::random: return "random";
    case Code::io: return "io";
    }
    return "unknown";
}

std::string_view describe(Code c) noexcept {
    switch (c) {
    case Code::ok: return "success";
    case Code::usage: return "invalid command line";
    case Code::config_io: return "configuration file cannot be read";
    case Code::config_syntax: return "configuration file is not valid TOML";
    case Code::config_unknown_key: return "unknown configuration key";
    case Code::config_type: return "configuration value has the wrong type";
    case Code::config_value: return "configuration value is not allowed";
    case Code::config_missing: return "required configuration key is missing";
    case Code::config_file: return "a file named by the configuration is unusable";
    case Code::uri_syntax: return "malformed pkcs11: URI";
    case Code::cert_parse: return "not a valid X.509 certificate";
    case Code::cert_expired: return "certificate has expired";
    case Code::cert_not_yet_valid: return "certificate is not yet valid";
    case Code::cert_untrusted: return "certificate does not chain to a configured trust anchor";
    case Code::cert_bad_signature: return "a signature in the certificate chain does not verify";
    case Code::cert_not_ca: return "an issuer in the chain is not a certificate authority";
    case Code::cert_path_length: return "certificate chain exceeds a path length constraint";
    case Code::cert_key_usage: return "certificate key usage does not allow digitalSignature";
    case Code::cert_eku: return "certificate lacks an extended key usage required for this purpose";
    case Code::cert_revoked: return "certificate has been revoked";
    case Code::cert_revocation_unknown: return "revocation status cannot be determined";
    case Code::cert_weak_algorithm: return "certificate uses a weak algorithm or key";
    case Code::cert_policy: return "certificate chain violates a constraint";
    case Code::proof_bad_signature: return "signature made by the card does not verify with the certificate key";
    case Code::proof_key_mismatch: return "the key on the card does not belong to the certificate";
    case Code::proof_no_key: return "no private key on the card for this certificate";
    case Code::map_unmapped: return "no binding or rule maps the certificate to an account";
    case Code::map_ambiguous: return "the certificate maps to more than one account";
    case Code::map_other_user: return "the certificate does not map to the requested user";
    case Code::map_unknown_account: return "the certificate maps to an account that does not exist";
    case Code::map_system_account: return "the certificate maps to root or a system account";
    case Code::map_weak: return "only a weak mapping matches and strong mapping is required";
    case Code::login_cancelled: return "the login was cancelled";
    case Code::login_service: return "badge login is not allowed for this service";
    case Code::admin_only: return "only root may do this";
    case Code::tls_no_client_cert: return "the client presented no certificate";
    case Code::tls_handshake: return "the TLS handshake failed";
    case Code::tls_service_denied: return "this person is not allowed to use this service";
    case Code::tls_limit: return "refused by a connection limit";
    case Code::tls_backend: return "the service's backend could not be reached";
    case Code::tls_client_not_owner: return "the local connection does not come from the client tunnel's owner";
    case Code::p11_load: return "PKCS#11 module cannot be loaded";
    case Code::p11_init: return "PKCS#11 module failed to initialise";
    case Code::p11_no_token: return "no matching token present";
    case Code::p11_no_object: return "no matching object on the token";
    case Code::p11_ambiguous: return "the URI matches more than one object";
    case Code::p11_pin_incorrect: return "incorrect PIN";
    case Code::p11_pin_locked: return "PIN is locked";
    case Code::p11_pin_invalid: return "PIN has an invalid length or characters";
    case Code::p11_pin_expired: return "PIN has expired and must be changed";
    case Code::p11_pin_required: return "the token requires a PIN and none was given";
    case Code::p11_device_removed: return "token was removed during the operation";
    case Code::p11_device_error: return "token or reader reported a device error";
    case Code::p11_mechanism: return "token offers no acceptable signature mechanism for this key";
    case Code::p11_timeout: return "card operation timed out";
    case Code::p11_function_failed: return "PKCS#11 call failed";
    case Code::internal: return "internal error";
    case Code::crypto: return "cryptographic library error";
    case Code::random: return "random number generator failure";
    case Code::io: return "input/output error";
    }
    return "unknown error";
}

Category category(Code c) noexcept {
    switch (c) {
    case Code::ok: return Category::success;
    case Code::usage: return Category::usage;
    case Code::config_io: return Category::usage;
    case Code::config_syntax: return Category::usage;
    case Code::config_unknown_key: return Category::usage;
    case Code::config_type: return Category::usage;
    case Code::config_value: return Category::usage;
    case Code::config_missing: return Category::usage;
    case Code::config_file: return Category::usage;
    case Code::uri_syntax: return Category::usage;
    case Code::cert_parse: return Category::denied;
    case Code::cert_expired: return Category::denied;
    case Code::cert_not_yet_valid: return Category::denied;
    case Code::cert_untrusted: return Category::denied;
    case Code::cert_bad_signature: return Category::denied;
    case Code::cert_not_ca: return Category::denied;
    case Code::cert_path_length: return Category::denied;
    case Code::cert_key_usage: return Category::denied;
    case Code::cert_eku: return Category::denied;
    case Code::cert_revoked: return Category::denied;
    case Code::cert_revocation_unknown: return Category::denied;
    case Code::cert_weak_algorithm: return Category::denied;
    case Code::cert_policy: return Category::denied;
    case Code::proof_bad_signature: return Category::denied;
    case Code::proof_key_mismatch: return Category::denied;
    case Code::proof_no_key: return Category::denied;
    case Code::map_unmapped: return Category::denied;
    case Code::map_ambiguous: return Category::denied;
    case Code::map_other_user: return Category::denied;
    case Code::map_unknown_account: return Category::denied;
    case Code::map_system_account: return Category::denied;
    case Code::map_weak: return Category::denied;
    case Code::login_cancelled: return Category::denied;
    case Code::login_service: return Category::denied;
    case Code::admin_only: return Category::denied;
    case Code::tls_no_client_cert: return Category::denied;
    case Code::tls_handshake: return Category::denied;
    case Code::tls_service_denied: return Category::denied;
    case Code::tls_limit: return Category::denied;
    case Code::tls_backend: return Category::internal;
    case Code::tls_client_not_owner: return Category::denied;
    case Code::p11_load: return Category::token;
    case Code::p11_init: return Category::token;
    case Code::p11_no_token: return Category::token;
    case Code::p11_no_object: return Category::token;
    case Code::p11_ambiguous: return Category::token;
    case Code::p11_pin_incorrect: return Category::token;
    case Code::p11_pin_locked: return Category::token;
    case Code::p11_pin_invalid: return Category::token;
    case Code::p11_pin_expired: return Category::token;
    case Code::p11_pin_required: return Category::token;
    case Code::p11_device_removed: return Category::token;
    case Code::p11_device_error: return Category::token;
    case Code::p11_mechanism: return Category::token;
    case Code::p11_timeout: return Category::token;
    case Code::p11_function_failed: return Category::token;
    case Code::internal: return Category::internal;
    case Code::crypto: return Category::internal;
    case Code::random: return Category::internal;
    case Code::io: return Category::internal;
    }
    return Category::internal;
}

int exit_code(Code c) noexcept {
    switch (category(c)) {
    case Category::success: return 0;
    case Category::denied: return 1;
    case Category::usage: return 2;
    case Category::token: return 3;
    case Category::internal: return 4;
    }
    return 4;
}

std::string Error::message() const {
    std::string m(describe(code_));
    if (!detail_.empty()) {
        m += ": ";
        m += detail_;
    }
    return m;
}

}  // namespace cardgate
