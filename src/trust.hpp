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
//   3. revocation  unless trust.revocation = "none": every certificate of the
//                  path (leaf, intermediates and the root itself) is asked
//                  about by OCSP and/or CRL, in the configured order
//                  (revocation.hpp). Revoked -> cert_revoked; nobody can tell
//                  (responder down, no current CRL, a response or CRL that
//                  fails a check) -> cert_revocation_unknown, or a passing step
//                  that says so when trust.on_unknown = "allow";
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
#include "revocation.hpp"
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
    // Set when step 2 passed: the times at which it passes for the same leaf
    // and the same trust files, i.e. while every certificate of the path is
    // within its validity. What a cache of path checks may reuse (step 3 is
    // asked again every time).
    std::optional<TimeWindow> path_window;
    std::vector<std::string> chain_der;       // when step 2 passed: the path, leaf first (DER)
    std::vector<CertRevocation> revocation;   // step 3, per certificate, as far as it went
    bool ok() const noexcept { return code == Code::ok; }
};

class TrustStore {
public:
    // Loads the anchors (PEM, several per file allowed; each must be a
    // self-signed CA) and the intermediates, each read with
    // read_protected_file, and checks that each CRL file is a protected file
    // within trust.crl_max_size that starts like a CRL (PEM or DER; it is
    // read, verified and indexed when first needed: revocation.hpp). A file
    // that cannot be used is Code::config_file naming the config line (when
    // known), the key and the file. `checker` (shared with a Validator) is
    // made from the config when null.
    static Result<TrustStore> create(const TrustConfig& config,
                                     std::shared_ptr<const RevocationChecker> checker = nullptr);

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
    TrustStore(ossl::X509StorePtr store, ossl::X509StackPtr intermediates, std::size_t anchors,
               std::shared_ptr<const RevocationChecker> checker)
        : store_(std::move(store)), intermediates_(std::move(intermediates)), anchor_count_(anchors),
          checker_(std::move(checker)) {}

    struct Outcome;
    Outcome run(X509* leaf, std::time_t now) const;

    ossl::X509StorePtr store_;           // anchors (trusted)
    ossl::X509StackPtr intermediates_;   // untrusted: candidates for path building only
    std::size_t anchor_count_;
    std::shared_ptr<const RevocationChecker> checker_;  // holds the trust config it was made from
};

// Step 3 for a path that passed step 2 (`chain`: leaf first, the anchor
// last), recorded in `v`: appends the step and the per-certificate statuses.
// Returns false when it denied (the verdict is then set). validate() runs
// it; a cache of path checks runs it on every use.
bool check_revocation(Verdict& v, const RevocationChecker& checker, std::span<X509* const> chain, std::time_t now);

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
