// Revocation of every certificate of a validated chain (trust.revocation):
// which source answered, what it said, and how old the answer was.
//
// For each certificate, leaf first, the sources are asked in the configured
// order ("ocsp", "crl", or "ocsp,crl"); the first definite answer (good or
// revoked) decides. A source that cannot answer (no responder, responder
// down or slow, a response or CRL that fails a check, no current CRL) hands
// over to the next; when none can, the status is unknown and
// trust.on_unknown decides (deny by default).
//
//   OCSP  trust.ocsp_responder, or the certificate's AIA OCSP URL. A response
//         kept in trust.cache_dir is used while current (before the earlier
//         of nextUpdate and thisUpdate + trust.ocsp_max_age); otherwise the
//         responder is asked (ocsp.hpp: every check, nonce included) and the
//         answer kept. "unknown" from the responder is no answer. A trust
//         anchor has no issuer to ask about: OCSP never answers for it.
//   CRL   every trust.crls file whose CRL was issued by this certificate's
//         issuer (same name, signature verified with the issuer's key: the
//         index records which key), and with trust.fetch_crls the CRLs at
//         the certificate's CRL distribution points (http/https), downloaded,
//         verified, indexed and kept in trust.cache_dir; a downloaded CRL
//         whose CRL number or thisUpdate is lower than the one kept is
//         refused (a replayed old CRL). The current CRL with the latest
//         thisUpdate answers, looked up in its index (crl_index.hpp). An
//         issuingDistributionPoint narrows which certificates a CRL covers.
//         A CRL that cannot be used (refused by build_crl_index) but that
//         the issuer signed (or whose signature cannot be judged), whose
//         scope covers the certificate and that is newer (CRL number, else
//         thisUpdate) than the one that would answer makes the status
//         unknown, naming both (RFC 5280 6.3.3 b). A download that cannot be
//         used silences older CRLs the same way, except the CRL kept from
//         the same place, which may still answer STALE within
//         trust.max_staleness (an outage).
//         OCSP answers from a delegated responder without
//         id-pkix-ocsp-nocheck are used only when the responder itself is
//         good by its issuer's CRLs.
//
// Grace: when no source can give a current answer, an answer kept from
// before (a cached OCSP response, a downloaded or configured CRL) is used up
// to trust.max_staleness past its expiry, and says so; never longer. Nothing
// is ever used before its thisUpdate (5 minutes of clock skew allowed for
// OCSP).
//
// What is trusted: the cache directory (owned by root or the user, writable
// by nobody else; index_file.hpp). OCSP responses read from it are checked
// again in full; CRL indexes were verified when built and are bound to the
// CRL file's identity and to the issuer key.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "config.hpp"
#include "error.hpp"

namespace cardgate {

enum class RevState { good, revoked, unknown, not_checked };

// The status of one certificate of the chain, and where it came from.
struct CertRevocation {
    int depth = 0;
    std::string subject;
    RevState state = RevState::unknown;
    std::string source;            // "OCSP http://…", "CRL /etc/…/issuing.crl", "CRL http://…"; "" when unknown
    std::int64_t this_update = 0;  // of the answer used
    std::int64_t expires = 0;      // CRL nextUpdate, or OCSP expiry (ocsp.hpp)
    bool stale = false;            // used past `expires`, within trust.max_staleness
    bool cached = false;           // a kept answer (OCSP response or downloaded CRL), not asked for now
    std::int64_t revoked_at = 0;   // when revoked
    int reason = -1;               // CRLReason when revoked, -1 = none given
    std::string detail;            // unknown: what each source said; not_checked: why;
                                   // good/revoked by a delegated OCSP responder: how it was judged
};

// A trust.crls file as TrustStore::create checks it, cheaply: a protected
// file (files.hpp) of at most `max_size` bytes that starts like a CRL (DER)
// or holds an "X509 CRL" PEM block. Code::config_file naming the file.
Status check_crl_file(const std::string& path, std::size_t max_size);

// "keyCompromise", ...; "unspecified" for -1.
std::string_view crl_reason_name(int reason);
// One line: "depth 0 (CN=…): good by OCSP http://… (thisUpdate 2026-…Z, 4 min old)".
std::string describe(const CertRevocation& r, std::time_t now);
// For an audit line: "0 good OCSP http://… 4 min old; 1 good CRL /etc/… 2 h old STALE; 2 not checked".
std::string revocation_summary(const std::vector<CertRevocation>& statuses, std::time_t now);

class RevocationChecker {
public:
    enum class Network { use, avoid };  // avoid: files and kept answers only (a status display)

    // Keeps a copy of `trust`. Reads nothing yet.
    explicit RevocationChecker(const TrustConfig& trust, Network network = Network::use);
    ~RevocationChecker();
    RevocationChecker(const RevocationChecker&) = delete;
    RevocationChecker& operator=(const RevocationChecker&) = delete;

    // `chain`: the validated path, leaf first, the trust anchor last.
    // Stops at the first revoked certificate. Thread-safe. Error
    // (Code::config_file) only when a trust.crls file cannot be used at all
    // (gone, unreadable, writable by others, too large), as TrustStore::create
    // says; a CRL in it that fails a check only makes the status unknown.
    Result<std::vector<CertRevocation>> check(std::span<X509* const> chain, std::time_t now) const;

    // For `cardgate revocation refresh`: builds missing indexes of
    // trust.crls files, downloads again every CRL kept in the cache (and the
    // CRLs at the CRL distribution points of the configured intermediates)
    // once past half of its lifetime, and asks again for every OCSP response
    // kept once past half of its lifetime. One line per item to `report`.
    // Error only when the cache directory cannot be used at all.
    Status refresh(std::time_t now, std::vector<std::string>& report) const;

    // Reads and verifies every CRL of trust.crls now (as a check would, with
    // the configured CAs), for `cardgate check-config`: one line per CRL in
    // `report`, and an Error (config_file) naming each CRL that fails.
    Status verify_crl_files(std::vector<std::string>& report) const;

    const TrustConfig& config() const noexcept { return trust_; }

    struct State;  // revocation.cpp

private:
    const TrustConfig trust_;
    Network network_;
    std::unique_ptr<State> state_;
};

}  // namespace cardgate
