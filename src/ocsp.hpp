// OCSP (RFC 6960) for one certificate: request, transport, and every check
// on the response.
//
// A response is accepted only when all of these hold:
//   - responseStatus successful, a BasicOCSPResponse;
//   - signed by the issuing CA itself, or by a delegated responder whose
//     certificate is in the response, is signed by the issuing CA's key,
//     carries id-kp-OCSPSigning, digitalSignature when it has a keyUsage, no
//     unknown critical extension, and is within its validity at `now`
//     (RFC 6960 4.2.2.2, RFC 5280 4.2); nothing else (no other chain, no
//     other CA). Its own revocation status is the caller's to check unless
//     it carries id-pkix-ocsp-nocheck (OcspAnswer::responder_nocheck);
//   - no unknown critical extension in the response or the SingleResponse;
//   - the SingleResponse for exactly this certificate's CertID (issuer name
//     and key hashes and serial; the hash algorithm of the response's CertID
//     is honoured when it is SHA-1 or SHA-256..512);
//   - with a nonce sent: the same nonce back (a responder that drops it or
//     changes it is refused);
//   - thisUpdate not after now + 5 minutes (clock skew), nextUpdate (when
//     present) not before thisUpdate.
// The checks run in this order and the first that fails is the one named.
// Freshness is the caller's decision (revocation.hpp): the answer carries
// `expires` = the earlier of nextUpdate and thisUpdate + max_age.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "http_fetch.hpp"
#include "result.hpp"

namespace cardgate {

struct OcspSettings {
    bool nonce = true;                                 // trust.ocsp_nonce
    std::chrono::seconds max_age{7 * 24 * 3600};       // trust.ocsp_max_age
    FetchLimits fetch{std::chrono::milliseconds(5000), 64u << 10};  // trust.fetch_timeout; responses are small
};

enum class OcspStatus { good, revoked, unknown };

struct OcspAnswer {
    OcspStatus status = OcspStatus::unknown;
    std::int64_t produced_at = 0;
    std::int64_t this_update = 0;
    std::int64_t next_update = 0;   // 0 = absent
    std::int64_t expires = 0;       // min(next_update (when present), this_update + max_age)
    std::int64_t revoked_at = 0;    // when revoked
    int reason = -1;                // when revoked and a reason is given
    std::string signer;             // "the issuing CA" or "delegated responder <subject>"
    // A delegated responder: its certificate, and whether it carries
    // id-pkix-ocsp-nocheck. Without it, the caller checks the responder's own
    // status before using the answer (RFC 6960 4.2.2.2.1).
    bool delegated = false;         // false: the issuing CA signed
    std::string responder_der;
    bool responder_nocheck = false;
    std::string der;                // the whole response, for the cache
};

// Asks `url` (POST, application/ocsp-request) about `cert`, issued by
// `issuer`. Error codes: Code::io for transport ("POST <url>: timed out after
// 5000 ms"), Code::cert_revocation_unknown for a response that fails a check
// (detail names the check: "OCSP response from <url>: nonce does not match").
Result<OcspAnswer> ocsp_query(const std::string& url, X509* cert, X509* issuer, const OcspSettings& settings,
                              std::time_t now);

// Checks a response kept from an earlier query (no nonce to compare; every
// other check as above, delegated responder validity at `now`). For the
// on-disk cache. Refusals: Code::cert_revocation_unknown, detail
// "stored OCSP response: <check>".
Result<OcspAnswer> ocsp_check_response(std::string_view der, X509* cert, X509* issuer, const OcspSettings& settings,
                                       std::time_t now);

// The responder URL of `cert`'s authorityInfoAccess (first id-ad-ocsp URI
// that is_fetchable_url accepts), or "" when it has none.
std::string ocsp_url_of(X509* cert);

}  // namespace cardgate
