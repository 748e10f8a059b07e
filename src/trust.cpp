// Chain building, revocation and the leaf's usage checks: see trust.hpp for
// the order and the reasons.
#include "trust.hpp"

#include <algorithm>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

namespace cardgate {

std::string format_utc(std::time_t t) {
    struct tm tm {};
    char buf[32];
    if (!gmtime_r(&t, &tm) || std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "?";
    return buf;
}

Code code_for_verify_error(int err, int depth) {
    switch (err) {
    case X509_V_OK:
        return Code::ok;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return Code::cert_expired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return Code::cert_not_yet_valid;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
        return Code::cert_untrusted;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
        return Code::cert_bad_signature;
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
        return Code::cert_not_ca;
    case X509_V_ERR_INVALID_PURPOSE:
        // No purpose is set, so OpenSSL should not raise this; if it does, on
        // an issuer it is about CA-ness, on the leaf about its usage.
        return depth > 0 ? Code::cert_not_ca : Code::cert_eku;
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED:
        return Code::cert_path_length;
    case X509_V_ERR_CERT_REVOKED:
        return Code::cert_revoked;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
        return Code::cert_revocation_unknown;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK:
        return Code::cert_weak_algorithm;
    default:
        return Code::cert_policy;
    }
}

namespace {

std::string at_depth(int depth, const std::string& subject) {
    return "depth " + std::to_string(depth) + " (" + (subject.empty() ? "<empty subject>" : subject) + ")";
}

std::time_t asn1_time(const ASN1_TIME* t) {
    struct tm tm {};
    return t && ASN1_TIME_to_tm(t, &tm) == 1 ? timegm(&tm) : 0;
}

std::string subject_of(X509* x) {
    return x ? name_to_string(X509_get_subject_name(x)) : std::string();  // name borrowed from x
}

std::string config_where(const TrustConfig& cfg, std::string_view key) {
    auto it = cfg.origin.find(key);
    const std::string name = "trust." + std::string(key);
    return it == cfg.origin.end() ? name : it->second + ": " + name;
}

// A file named by the config: anything wrong with it is config_file.
Result<std::string> read_config_named(const TrustConfig& cfg, std::string_view key, const std::string& path) {
    auto bytes = read_protected_file(path);
    if (!bytes) return Error(Code::config_file, config_where(cfg, key) + ": " + bytes.error().detail());
    return std::move(bytes).value();
}

Status add_anchors(const TrustConfig& cfg, X509_STORE* store, std::size_t& count) {
    for (const auto& path : cfg.anchors) {
        const std::string bytes = CG_TRY(read_config_named(cfg, "anchors", path));
        auto certs = parse_certificates(bytes, path);
        if (!certs) return Error(Code::config_file, config_where(cfg, "anchors") + ": " + certs.error().detail());
        std::size_t i = 0;
        for (const auto& c : *certs) {
            ++i;
            const std::string which = path + ": certificate " + std::to_string(i) + " (" + c.subject() + ")";
            // Anchoring at an intermediate would need partial chains, which
            // would let any certificate in the store end a path.
            if (!c.is_self_signed())
                return Error(Code::config_file, config_where(cfg, "anchors") + ": " + which +
                                                    " is not a self-signed root; put issuing CAs in trust.intermediates");
            if (!c.is_ca())
                return Error(Code::config_file, config_where(cfg, "anchors") + ": " + which + " is not a CA certificate");
            if (X509_STORE_add_cert(store, c.x509()) != 1)  // the store takes its own reference
                return Error(Code::crypto, "X509_STORE_add_cert: " + ossl::last_error());
            ++count;
        }
    }
    return {};
}

Status add_intermediates(const TrustConfig& cfg, STACK_OF(X509) * stack) {
    for (const auto& path : cfg.intermediates) {
        const std::string bytes = CG_TRY(read_config_named(cfg, "intermediates", path));
        auto certs = parse_certificates(bytes, path);
        if (!certs)
            return Error(Code::config_file, config_where(cfg, "intermediates") + ": " + certs.error().detail());
        for (const auto& c : *certs) {
            X509_up_ref(c.x509());  // the stack owns this reference (freed by X509StackPtr)
            if (!sk_X509_push(stack, c.x509())) {
                X509_free(c.x509());
                return Error(Code::crypto, "sk_X509_push failed");
            }
        }
    }
    return {};
}

// Each CRL file must be a protected file within trust.crl_max_size that
// looks like a CRL. It is read, verified and indexed when first needed
// (revocation.hpp): a CRL of a million entries is not parsed to load a store.
Status check_crl_files(const TrustConfig& cfg) {
    for (const auto& path : cfg.crls)
        if (auto ok = check_crl_file(path, static_cast<std::size_t>(cfg.crl_max_size)); !ok)
            return Error(Code::config_file, config_where(cfg, "crls") + ": " + ok.error().detail());
    return {};
}

}  // namespace

Result<TrustStore> TrustStore::create(const TrustConfig& cfg, std::shared_ptr<const RevocationChecker> checker) {
    if (cfg.anchors.empty()) return Error(Code::config_missing, "trust.anchors: at least one trust anchor is required");
    if (cfg.checks_crl() && cfg.crls.empty() && !cfg.fetch_crls)
        return Error(Code::config_missing, "trust.revocation: \"crl\" needs trust.crls or trust.fetch_crls = true");

    ossl::X509StorePtr store(X509_STORE_new());
    ossl::X509StackPtr intermediates(sk_X509_new_null());
    if (!store || !intermediates) return Error(Code::crypto, "X509_STORE_new: " + ossl::last_error());
    std::size_t anchors = 0;
    CG_TRY_VOID(add_anchors(cfg, store.get(), anchors));
    CG_TRY_VOID(add_intermediates(cfg, intermediates.get()));
    CG_TRY_VOID(check_crl_files(cfg));
    if (!checker) checker = std::make_shared<const RevocationChecker>(cfg);
    return TrustStore(std::move(store), std::move(intermediates), anchors, std::move(checker));
}

struct TrustStore::Outcome {
    bool ok = false;
    Code code = Code::internal;
    std::string detail;
    std::vector<std::string> chain;    // subjects, leaf first
    ossl::X509StackPtr certs;          // when ok: the path, leaf first
    TimeWindow window;                 // when ok: every certificate of the path is within its validity
};

TrustStore::Outcome TrustStore::run(X509* leaf, std::time_t now) const {
    Outcome out;
    ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    // Only the configured intermediates are offered as untrusted path
    // candidates: the card's own extra certificates never reach OpenSSL.
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), leaf, intermediates_.get()) != 1) {
        out.code = Code::crypto;
        out.detail = "X509_STORE_CTX_init: " + ossl::last_error();
        return out;
    }
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());  // get0: owned by ctx
    // Revocation is step 3 (revocation.hpp), not OpenSSL's CRL check: every
    // source, cache and grace rule in one place, for every certificate.
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_auth_level(param, 2);  // SP 800-131A: RSA >= 2048, no SHA-1 signatures
    X509_VERIFY_PARAM_set_time(param, now);      // certificates judged at the Clock's time

    const int rc = X509_verify_cert(ctx.get());
    if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get()))  // get0: owned by ctx
        for (int i = 0; i < sk_X509_num(chain); ++i) {
            X509* x = sk_X509_value(chain, i);  // borrowed from the chain
            out.chain.push_back(subject_of(x));
            out.window.from = std::max(out.window.from, asn1_time(X509_get0_notBefore(x)));  // get0: borrowed
            out.window.until = std::min(out.window.until, asn1_time(X509_get0_notAfter(x)));
        }
    if (rc == 1) {
        out.certs.reset(X509_STORE_CTX_get1_chain(ctx.get()));  // get1: our own references
        if (!out.certs) {
            out.code = Code::crypto;
            out.detail = "X509_STORE_CTX_get1_chain failed";
            return out;
        }
        out.ok = true;
        out.code = Code::ok;
        return out;
    }
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    X509* cert = X509_STORE_CTX_get_current_cert(ctx.get());  // get0: borrowed
    if (err == X509_V_OK) {
        out.code = Code::crypto;
        out.detail = "X509_verify_cert failed without a verification error: " + ossl::last_error();
        return out;
    }
    out.code = code_for_verify_error(err, depth);
    out.detail = at_depth(depth, subject_of(cert)) + ": " + X509_verify_cert_error_string(err);
    if ((err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID) && cert)
        out.detail += " (valid " + format_utc(asn1_time(X509_get0_notBefore(cert))) + " to " +  // get0: borrowed
                      format_utc(asn1_time(X509_get0_notAfter(cert))) + ", checked at " + format_utc(now) + ")";
    ossl::last_error();  // leave no stale entries on this thread's queue
    return out;
}

namespace {

std::string usage_names(std::uint32_t ku) {
    static constexpr std::pair<std::uint32_t, const char*> names[] = {
        {key_usage::digital_signature, "digitalSignature"}, {key_usage::non_repudiation, "nonRepudiation"},
        {key_usage::key_encipherment, "keyEncipherment"},   {key_usage::data_encipherment, "dataEncipherment"},
        {key_usage::key_agreement, "keyAgreement"},         {key_usage::key_cert_sign, "keyCertSign"},
        {key_usage::crl_sign, "cRLSign"},
    };
    std::string s;
    for (const auto& [bit, name] : names) {
        if (!(ku & bit)) continue;
        if (!s.empty()) s += ", ";
        s += name;
    }
    return s.empty() ? "(no bits)" : s;
}

std::string eku_list(const std::vector<std::string>& oids) {
    std::string s;
    for (const auto& o : oids) {
        if (!s.empty()) s += ", ";
        const std::string n = eku_display_name(o);
        s += n == o ? o : n + " (" + o + ")";
    }
    return s;
}

// Accumulates the steps; deny() records the failing step and the verdict.
class Run {
public:
    explicit Run(Verdict& v) : v_(v) {
        v_.code = Code::internal;  // deny by default: only pass() turns this into ok
        v_.detail = "validation did not complete";
    }
    void step(std::string name, std::string detail) { v_.steps.push_back({std::move(name), true, std::move(detail)}); }
    Verdict& deny(std::string name, Code code, std::string detail) {
        v_.steps.push_back({std::move(name), false, detail});
        v_.code = code;
        v_.detail = std::move(detail);
        return v_;
    }
    Verdict& pass(std::string detail) {
        v_.code = Code::ok;
        v_.detail = std::move(detail);
        return v_;
    }

private:
    Verdict& v_;
};

}  // namespace

Verdict TrustStore::validate(const Certificate& leaf, Purpose purpose, const PurposeConfig& pc,
                             const Clock& clock) const {
    Verdict v;
    Run r(v);
    const std::time_t now = clock.now();

    // 1. parse: a Certificate is parsed by construction.
    r.step("parse", parse_step_detail(leaf));

    // 2. chain
    Outcome chain = run(leaf.x509(), now);
    v.chain_subjects = chain.chain;
    if (!chain.ok) return r.deny("chain", chain.code, chain.detail);
    r.step("chain", std::to_string(chain.chain.size()) + " certificates up to " + chain.chain.back() + ", at " +
                        format_utc(now));
    v.path_window = chain.window;
    std::vector<X509*> path;
    for (int i = 0; i < sk_X509_num(chain.certs.get()); ++i) {
        X509* x = sk_X509_value(chain.certs.get(), i);  // borrowed from the stack
        path.push_back(x);
        v.chain_der.push_back(encode_der(x));
        if (v.chain_der.back().empty()) return r.deny("chain", Code::crypto, "i2d_X509: " + ossl::last_error());
    }

    // 3. revocation
    if (!check_revocation(v, *checker_, path, now)) return v;
    return check_leaf(v, leaf, purpose, pc);
}

bool check_revocation(Verdict& v, const RevocationChecker& checker, std::span<X509* const> chain, std::time_t now) {
    const TrustConfig& trust = checker.config();
    Run r(v);
    v.code = Code::internal;
    if (trust.revocation.empty()) {
        r.step("revocation", "not checked (trust.revocation = \"none\")");
        return true;
    }
    auto statuses = checker.check(chain, now);
    if (!statuses) {
        r.deny("revocation", statuses.code(), statuses.error().detail());
        return false;
    }
    v.revocation = std::move(statuses).value();
    std::string revoked, unknown, good;
    for (const auto& c : v.revocation) {
        std::string& into = c.state == RevState::revoked ? revoked : c.state == RevState::unknown ? unknown : good;
        into += (into.empty() ? "" : "; ") + describe(c, now);
    }
    if (!revoked.empty()) {
        r.deny("revocation", Code::cert_revoked, revoked);
        return false;
    }
    if (!unknown.empty() && !trust.on_unknown_allow) {
        r.deny("revocation", Code::cert_revocation_unknown, unknown);
        return false;
    }
    if (!unknown.empty())
        r.step("revocation", "status unknown, allowed by trust.on_unknown = \"allow\": " + unknown +
                                 (good.empty() ? "" : "; " + good));
    else
        r.step("revocation", "not revoked: " + good);
    return true;
}

std::string parse_step_detail(const Certificate& leaf) {
    return leaf.subject() + ", serial " + leaf.serial_hex() + ", issuer " + leaf.issuer() + ", " + leaf.key_type();
}

Verdict& check_leaf(Verdict& v, const Certificate& leaf, Purpose purpose, const PurposeConfig& pc) {
    Run r(v);
    const std::string leaf_at = at_depth(0, leaf.subject());
    const std::string pname(purpose_name(purpose));

    // 4. end-entity
    if (leaf.is_ca())
        return r.deny("end-entity", Code::cert_policy,
                      leaf_at + ": is a CA certificate (basicConstraints cA or keyCertSign); a CA cannot be a badge");
    r.step("end-entity", "not a CA certificate");

    // 5. key-usage
    if (leaf.has_key_usage() && !(leaf.key_usage() & key_usage::digital_signature))
        return r.deny("key-usage", Code::cert_key_usage,
                      leaf_at + ": keyUsage is " + usage_names(leaf.key_usage()) +
                          "; digitalSignature is required (the badge proves possession by signing)");
    r.step("key-usage", leaf.has_key_usage() ? "includes digitalSignature" : "no keyUsage extension");

    // 6. eku
    if (pc.eku.empty()) {
        r.step("eku", "no extended key usage required for " + pname);
    } else if (!leaf.has_eku()) {
        return r.deny("eku", Code::cert_eku,
                      leaf_at + ": has no extendedKeyUsage extension; " + pname + " requires one of " + eku_list(pc.eku));
    } else {
        auto hit = std::find_if(pc.eku.begin(), pc.eku.end(), [&](const std::string& o) { return leaf.has_eku_oid(o); });
        if (hit == pc.eku.end())
            return r.deny("eku", Code::cert_eku,
                          leaf_at + ": extendedKeyUsage is " + eku_list(leaf.eku()) + "; " + pname +
                              " requires one of " + eku_list(pc.eku));
        r.step("eku", "carries " + eku_list({*hit}));
    }

    const std::string top = v.chain_subjects.empty() ? std::string("?") : v.chain_subjects.back();
    return r.pass("valid for " + pname + ": " + leaf.subject() + " chains to " + top);
}

}  // namespace cardgate
