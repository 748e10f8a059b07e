// Certificate validation for a purpose: is this badge certificate one the
// organisation issued, still valid, not revoked, and meant for this job?
//
// TrustStore::validate runs these steps in this one order; it starts from
// "denied", the first failing step decides the code, and only a run that
// passes every step returns Code::ok (OpenSSH auth2-pubkey.c style):
//
//   1. parse       the Certificate exists (parsing is done by x509.hpp);
//   2. chain       a path from the leaf to a configured anchor using only the
//                  configured intermediates, never certificates offered by the
//                  card (RFC 5280 section 6.1): signatures, validity at the
//                  injected Clock's time, basicConstraints/keyCertSign of every
//                  issuer, path lengths, X509_V_FLAG_X509_STRICT, security level 2
//                  (RSA/DH >= 2048 bits, ECC >= 224 bits, no SHA-1 or MD5). No
//                  partial chains: the path must end in a configured root;
//   3. revocation  when trust.revocation includes "crl": every certificate of
//                  the path (leaf, intermediates and the root itself) needs a
//                  current CRL from trust.crls. Revoked -> cert_revoked; no CRL,
//                  stale CRL, bad CRL signature -> cert_revocation_unknown, or a
//                  passing step that says so when trust.on_unknown = "allow";
//   4. end-entity  the leaf is not a CA certificate: a CA's certificate on a
//                  badge is never a person (cert_policy);
//   5. key-usage   a keyUsage extension, when present, includes
//                  digitalSignature (cert_key_usage): the badge proves
//                  possession by signing (SPEC "Config file");
//   6. eku         the leaf carries at least one of the purpose's EKU OIDs;
//                  no EKU extension at all fails when any is required, and
//                  anyExtendedKeyUsage satisfies nothing (cert_eku).
//
// OpenSSL's own purpose checking is off (no X509_PURPOSE set): the EKU
// decision is step 6 alone.
#pragma once

#include <cstddef>
#include <ctime>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "clock.hpp"
#include "config.hpp"
#include "error.hpp"
#include "ossl.hpp"
#include "purpose.hpp"
#include "result.hpp"
#include "x509.hpp"

namespace cardgate {

// One step of a validation, for `cardgate verify`'s step-by-step output.
struct Step {
    std::string name;    // "parse", "chain", "revocation", "end-entity", "key-usage", "eku"
    bool ok = false;
    std::string detail;  // what was checked, or why it failed (depth and subject)
};

// A closed interval of times, in seconds since the epoch.
struct TimeWindow {
    std::time_t from = std::numeric_limits<std::time_t>::min();
    std::time_t until = std::numeric_limits<std::time_t>::max();
    bool contains(std::time_t t) const noexcept { return from <= t && t <= until; }
};

struct Verdict {
    Code code = Code::ok;  // validate() starts from a refusal and sets ok only at the end
    std::string detail;    // the reason; names the certificate (depth and subject) that failed
    std::vector<Step> steps;                  // in the order run; the last one failed when !ok()
    std::vector<std::string> chain_subjects;  // leaf first, as far as the chain was built
    // Set when steps 2 and 3 passed cleanly (nothing let through by
    // trust.on_unknown = "allow"): the times at which they pass for the same
    // leaf and the same trust files, i.e. while every certificate of the path
    // and every loaded CRL is current. What a cache of path checks may reuse.
    std::optional<TimeWindow> path_window;
    bool ok() const noexcept { return code == Code::ok; }
};

class TrustStore {
public:
    // Loads the anchors (PEM, several per file allowed; each must be a
    // self-signed CA), the intermediates and the CRLs (PEM or DER). Each file
    // is read with read_protected_file. A file that cannot be used is
    // Code::config_file naming the config line (when known), the key and the file.
    static Result<TrustStore> create(const TrustConfig& config);

    // Thread-safe: the store is built once and only read; each call has its own
    // X509_STORE_CTX.
    Verdict validate(const Certificate& leaf, Purpose purpose, const PurposeConfig& purpose_config,
                     const Clock& clock) const;

    std::size_t anchor_count() const noexcept { return anchor_count_; }

    TrustStore(TrustStore&&) = default;
    TrustStore& operator=(TrustStore&&) = default;
    TrustStore(const TrustStore&) = delete;
    TrustStore& operator=(const TrustStore&) = delete;
    ~TrustStore() = default;

private:
    TrustStore(ossl::X509StorePtr store, ossl::X509StackPtr intermediates, std::size_t anchors, bool crl,
               bool on_unknown_allow, TimeWindow crl_window)
        : store_(std::move(store)), intermediates_(std::move(intermediates)), anchor_count_(anchors),
          check_crl_(crl), on_unknown_allow_(on_unknown_allow), crl_window_(crl_window) {}

    struct Outcome;
    Outcome run(X509* leaf, std::time_t now, bool with_crls) const;

    ossl::X509StorePtr store_;           // anchors (trusted) and CRLs
    ossl::X509StackPtr intermediates_;   // untrusted: candidates for path building only
    std::size_t anchor_count_;
    bool check_crl_;
    bool on_unknown_allow_;
    TimeWindow crl_window_;              // every loaded CRL is current inside it
};

// Step 1's detail for `leaf` (what validate() records as "parse").
std::string parse_step_detail(const Certificate& leaf);

// Steps 4 to 6 (end-entity, key-usage, eku) for a leaf whose steps 1 to 3
// are recorded in `v` as passed: appends them and sets the final verdict.
// validate() ends with it; a cache of path checks (validation_cache.hpp)
// runs it on every use, so only steps 2 and 3 are ever reused.
Verdict& check_leaf(Verdict& v, const Certificate& leaf, Purpose purpose, const PurposeConfig& purpose_config);

// The catalogue code for an X509_V_ERR_* value at a chain depth (see trust.cpp).
Code code_for_verify_error(int x509_v_err, int depth);

// "2021-01-01T00:00:00Z"
std::string format_utc(std::time_t t);

}  // namespace cardgate
