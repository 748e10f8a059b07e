// Which PAM return code each outcome gives (SPEC "PAM module").
#pragma once

#include <security/_pam_types.h>

#include "src/error.hpp"

namespace cardgate::pam {

// Never PAM_IGNORE: every refusal and every error is a code the stack acts on.
// A switch without default: a new catalogue code must be placed here.
inline int pam_code(Code c, bool no_badge) noexcept {
    if (no_badge) return PAM_AUTHINFO_UNAVAIL;  // nothing to log in with: a password module may follow
    switch (c) {
    case Code::ok: return PAM_SUCCESS;
    case Code::usage:
    case Code::config_io:
    case Code::config_syntax:
    case Code::config_unknown_key:
    case Code::config_type:
    case Code::config_value:
    case Code::config_missing:
    case Code::config_file:
    case Code::uri_syntax: return PAM_AUTHINFO_UNAVAIL;
    case Code::cert_parse:
    case Code::cert_expired:
    case Code::cert_not_yet_valid:
    case Code::cert_untrusted:
    case Code::cert_bad_signature:
    case Code::cert_not_ca:
    case Code::cert_path_length:
    case Code::cert_key_usage:
    case Code::cert_eku:
    case Code::cert_revoked:
    case Code::cert_revocation_unknown:
    case Code::cert_weak_algorithm:
    case Code::cert_policy:
    case Code::proof_bad_signature:
    case Code::proof_key_mismatch:
    case Code::proof_no_key: return PAM_AUTH_ERR;
    case Code::map_unknown_account: return PAM_USER_UNKNOWN;
    case Code::map_unmapped:
    case Code::map_ambiguous:
    case Code::map_other_user:
    case Code::map_system_account:
    case Code::map_weak: return PAM_AUTH_ERR;
    case Code::login_cancelled: return PAM_AUTH_ERR;
    case Code::login_service: return PAM_AUTHINFO_UNAVAIL;  // not a badge service: let a password module decide
    case Code::admin_only: return PAM_PERM_DENIED;  // never produced by a login
    case Code::tls_no_client_cert:
    case Code::tls_handshake:
    case Code::tls_service_denied:
    case Code::tls_limit:
    case Code::tls_backend: return PAM_SERVICE_ERR;  // never produced by a login
    case Code::tls_client_not_owner: return PAM_SERVICE_ERR;  // never produced by a login
    case Code::p11_pin_incorrect:
    case Code::p11_pin_invalid:
    case Code::p11_pin_expired:
    case Code::p11_pin_required: return PAM_AUTH_ERR;
    case Code::p11_pin_locked: return PAM_MAXTRIES;
    case Code::p11_load:
    case Code::p11_init:
    case Code::p11_no_token:
    case Code::p11_no_object:
    case Code::p11_ambiguous:
    case Code::p11_device_removed:
    case Code::p11_device_error:
    case Code::p11_mechanism:
    case Code::p11_timeout:
    case Code::p11_function_failed: return PAM_AUTHINFO_UNAVAIL;
    case Code::internal:
    case Code::crypto:
    case Code::random:
    case Code::io: return PAM_SERVICE_ERR;
    }
    return PAM_SERVICE_ERR;
}

}  // namespace cardgate::pam
