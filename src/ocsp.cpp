// OCSP: the request, the POST, and every check on the response, in the order
// of ocsp.hpp. Nothing is left to OCSP_basic_verify: its chain building would
// accept a responder certified by any CA in a store, and its ocsp_check_issuer
// takes the responder's issuer from the chain it built, not from the caller.
#include "ocsp.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <vector>

#include "ossl.hpp"
#include "x509.hpp"

namespace cardgate {

namespace {

// RFC 6960 does not fix a skew; five minutes is the customary allowance for a
// responder clock that runs a little ahead.
constexpr std::int64_t max_clock_skew = 300;

std::optional<std::int64_t> epoch_of(const ASN1_GENERALIZEDTIME* t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    const std::time_t v = timegm(&tm);
    if (v == static_cast<std::time_t>(-1)) return std::nullopt;
    return static_cast<std::int64_t>(v);
}

// Where a response came from, for error details.
struct Origin {
    std::string what;  // "OCSP response from <url>" or "stored OCSP response"
    Error refuse(const std::string& check) const { return Error(Code::cert_revocation_unknown, what + ": " + check); }
};

// SHA-1 of the subjectPublicKey BIT STRING: what ResponderID byKey and the
// CertID issuerKeyHash carry (RFC 6960 4.1.1, 4.2.1).
bool key_hash_matches(const ASN1_OCTET_STRING* key_id, X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!key_id || X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1) return false;
    return static_cast<unsigned int>(ASN1_STRING_length(key_id)) == len &&
           std::equal(md, md + len, ASN1_STRING_get0_data(key_id));
}

// Whether the response's ResponderID names `cert` (by name or by key hash).
bool responder_id_names(const OCSP_BASICRESP* bs, X509* cert) {
    const ASN1_OCTET_STRING* key_id = nullptr;  // both borrowed from bs
    const X509_NAME* name = nullptr;
    if (OCSP_resp_get0_id(bs, &key_id, &name) != 1) return false;
    if (name) return X509_NAME_cmp(name, X509_get_subject_name(cert)) == 0;  // get_subject_name: borrowed
    return key_hash_matches(key_id, cert);
}

struct Signer {
    X509* cert = nullptr;  // borrowed: the issuer, or a certificate inside the response
    std::string description;
};

// " (OID, OID)": the critical extensions of `x` that OpenSSL does not
// process, for an error detail.
std::string oid_of(X509_EXTENSION* e) {
    char oid[128];
    OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(e), 1);  // get_object: borrowed
    return oid;
}

std::string unknown_critical(X509* x) {
    std::string out;
    for (int i = 0; i < X509_get_ext_count(x); ++i) {
        X509_EXTENSION* e = X509_get_ext(x, i);  // borrowed from x
        if (!X509_EXTENSION_get_critical(e) || X509_supported_extension(e)) continue;
        out += (out.empty() ? " (" : ", ") + oid_of(e);
    }
    return out.empty() ? out : out + ")";
}

// RFC 6960 4.2.2.2: a delegated responder is issued directly by the CA that
// issued the certificate in question and carries id-kp-OCSPSigning.
Status check_delegated(X509* responder, X509* issuer, std::time_t now, const Origin& origin) {
    EVP_PKEY* issuer_key = X509_get0_pubkey(issuer);  // get0: borrowed from issuer
    if (X509_NAME_cmp(X509_get_issuer_name(responder), X509_get_subject_name(issuer)) != 0 || !issuer_key ||
        X509_verify(responder, issuer_key) != 1) {
        ERR_clear_error();
        return origin.refuse("delegated responder certificate is not signed by the issuing CA");
    }
    // X509_get_extended_key_usage answers "everything" when the extension is
    // absent; a delegated responder must carry it (RFC 6960 4.2.2.2).
    const std::uint32_t flags = X509_get_extension_flags(responder);
    if (flags & EXFLAG_INVALID) return origin.refuse("delegated responder certificate has invalid extensions");
    // RFC 5280 4.2: an extension a relying party does not know, marked
    // critical, refuses the certificate.
    if (flags & EXFLAG_CRITICAL)
        return origin.refuse("delegated responder certificate has an unknown critical extension" +
                             unknown_critical(responder));
    if (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(responder) & XKU_OCSP_SIGN))
        return origin.refuse("delegated responder certificate lacks id-kp-OCSPSigning");
    // RFC 5280 4.2.1.3: a key that signs responses needs digitalSignature
    // whenever keyUsage is present.
    if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(responder) & KU_DIGITAL_SIGNATURE))
        return origin.refuse("delegated responder certificate's keyUsage does not allow digitalSignature");
    const auto not_before = epoch_of(X509_get0_notBefore(responder));  // get0: borrowed
    const auto not_after = epoch_of(X509_get0_notAfter(responder));
    if (!not_before || !not_after) return origin.refuse("delegated responder certificate has unreadable validity");
    if (now < *not_before) return origin.refuse("delegated responder certificate is not yet valid");
    if (now > *not_after) return origin.refuse("delegated responder certificate has expired");
    // Its own status: id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1) is honoured
    // by the caller, who checks a responder without it like any other
    // certificate (OcspAnswer::responder_der, revocation.cpp).
    return {};
}

// Who signed: the issuing CA, or a delegated responder among the response's
// certificates. Decided from the ResponderID alone; the signature is checked
// afterwards with that one key.
Result<Signer> find_signer(OCSP_BASICRESP* bs, X509* issuer, std::time_t now, const Origin& origin) {
    if (responder_id_names(bs, issuer)) return Signer{issuer, "the issuing CA"};
    const STACK_OF(X509)* certs = OCSP_resp_get0_certs(bs);  // get0: borrowed from bs
    for (int i = 0; certs && i < sk_X509_num(certs); ++i) {
        X509* c = sk_X509_value(certs, i);  // borrowed from bs
        if (!responder_id_names(bs, c)) continue;
        CG_TRY_VOID(check_delegated(c, issuer, now, origin));
        return Signer{c, "delegated responder " + name_to_string(X509_get_subject_name(c))};
    }
    return origin.refuse("signer is neither the issuing CA nor a delegated responder certificate in the response");
}

Status check_signature(const OCSP_BASICRESP* bs, const Signer& signer, const Origin& origin) {
    // The same floor as the chain (security level 2): no MD5 or SHA-1
    // signatures, which a collision could let someone forge.
    const X509_ALGOR* alg = OCSP_resp_get0_tbs_sigalg(bs);
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, alg);
    int md_nid = NID_undef, pk_nid = NID_undef;
    const int sig_nid = OBJ_obj2nid(oid);
    if (sig_nid != NID_rsassaPss && sig_nid != NID_ED25519 && sig_nid != NID_ED448 &&
        (!OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid) || md_nid == NID_sha1 || md_nid == NID_md5 ||
         md_nid == NID_md5_sha1 || md_nid == NID_undef))
        return origin.refuse(std::string("signed with a weak or unknown algorithm (") +
                             (sig_nid != NID_undef ? OBJ_nid2ln(sig_nid) : "unknown") + ")");
    EVP_PKEY* key = X509_get0_pubkey(signer.cert);  // get0: borrowed
    // The signature over tbsResponseData, with exactly the signer's key.
    const int ok = key ? ASN1_item_verify(ASN1_ITEM_rptr(OCSP_RESPDATA), OCSP_resp_get0_tbs_sigalg(bs),
                                          OCSP_resp_get0_signature(bs), OCSP_resp_get0_respdata(bs), key)
                       : 0;
    ERR_clear_error();
    if (ok != 1) return origin.refuse("signature does not verify with the key of " + signer.description);
    return {};
}

// The hash algorithms accepted in a CertID: SHA-1 (what nearly every
// responder uses) and SHA-2; MD5 and anything unknown are not.
const EVP_MD* certid_md(const ASN1_OBJECT* alg) {
    switch (OBJ_obj2nid(alg)) {
    case NID_sha1:
        return EVP_sha1();
    case NID_sha256:
        return EVP_sha256();
    case NID_sha384:
        return EVP_sha384();
    case NID_sha512:
        return EVP_sha512();
    default:
        return nullptr;
    }
}

// The one SingleResponse for this certificate. CertIDs are compared whole
// (hash algorithm, issuer name hash, issuer key hash, serial), recomputed with
// the algorithm the response used.
Result<OCSP_SINGLERESP*> find_single(OCSP_BASICRESP* bs, X509* cert, X509* issuer, const Origin& origin) {
    int found = -1;
    std::vector<int> tried;
    for (int i = 0; i < OCSP_resp_count(bs); ++i) {
        ASN1_OBJECT* alg = nullptr;  // borrowed from bs
        // OpenSSL 3.0's OCSP_id_get0_info takes a non-const CertID; it only reads it.
        OCSP_id_get0_info(nullptr, &alg, nullptr, nullptr,
                          const_cast<OCSP_CERTID*>(OCSP_SINGLERESP_get0_id(OCSP_resp_get0(bs, i))));
        const EVP_MD* md = certid_md(alg);
        if (!md || std::find(tried.begin(), tried.end(), EVP_MD_get_type(md)) != tried.end()) continue;
        tried.push_back(EVP_MD_get_type(md));
        ossl::OcspCertIdPtr id(OCSP_cert_to_id(md, cert, issuer));  // owned
        if (!id) return Error(Code::crypto, "OCSP_cert_to_id: " + ossl::last_error());
        for (int at = OCSP_resp_find(bs, id.get(), -1); at >= 0; at = OCSP_resp_find(bs, id.get(), at)) {
            // Two answers for one certificate could disagree; take neither.
            if (found >= 0) return origin.refuse("several SingleResponses for this certificate");
            found = at;
        }
    }
    if (found < 0) return origin.refuse("no SingleResponse for this certificate (CertID does not match)");
    return OCSP_resp_get0(bs, found);  // borrowed from bs
}

// RFC 6960 4.4 / RFC 5280 4.2: a critical extension the client does not
// know refuses the response. Of responseExtensions only the nonce is known;
// cardgate processes no singleExtensions, so none may be critical.
Status check_critical_extensions(OCSP_BASICRESP* bs, OCSP_SINGLERESP* single, const Origin& origin) {
    for (int i = 0; i < OCSP_BASICRESP_get_ext_count(bs); ++i) {
        X509_EXTENSION* e = OCSP_BASICRESP_get_ext(bs, i);  // borrowed from bs
        if (X509_EXTENSION_get_critical(e) && OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_id_pkix_OCSP_Nonce)
            return origin.refuse("unknown critical response extension " + oid_of(e));
    }
    for (int i = 0; i < OCSP_SINGLERESP_get_ext_count(single); ++i) {
        X509_EXTENSION* e = OCSP_SINGLERESP_get_ext(single, i);  // borrowed from single
        if (X509_EXTENSION_get_critical(e)) return origin.refuse("unknown critical singleExtension " + oid_of(e));
    }
    return {};
}

Status check_nonce(OCSP_REQUEST* req, OCSP_BASICRESP* bs, const Origin& origin) {
    // 1: both carry the same nonce; -1: the response has none; 0: they differ.
    switch (OCSP_check_nonce(req, bs)) {
    case 1:
        return {};
    case 0:
        return origin.refuse("nonce does not match");
    default:
        return origin.refuse("nonce missing");
    }
}

Status fill_times(OCSP_BASICRESP* bs, OCSP_SINGLERESP* single, const OcspSettings& settings, std::time_t now,
                  OcspAnswer& out, const Origin& origin) {
    int reason = OCSP_REVOKED_STATUS_NOSTATUS;
    ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;  // borrowed
    const int status = OCSP_single_get0_status(single, &reason, &revoked_at, &this_update, &next_update);
    const auto produced = epoch_of(OCSP_resp_get0_produced_at(bs));  // get0: borrowed
    const auto this_upd = epoch_of(this_update);
    if (!produced || !this_upd) return origin.refuse("producedAt or thisUpdate unreadable");
    if (*this_upd > static_cast<std::int64_t>(now) + max_clock_skew)
        return origin.refuse("thisUpdate is in the future (more than " + std::to_string(max_clock_skew) + " s ahead)");
    out.produced_at = *produced;
    out.this_update = *this_upd;
    out.expires = *this_upd + settings.max_age.count();
    if (next_update) {
        const auto next = epoch_of(next_update);
        if (!next || *next < *this_upd) return origin.refuse("nextUpdate unreadable or before thisUpdate");
        out.next_update = *next;
        out.expires = std::min(out.expires, *next);
    }
    switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
        out.status = OcspStatus::good;
        break;
    case V_OCSP_CERTSTATUS_REVOKED: {
        const auto when = epoch_of(revoked_at);
        if (!when) return origin.refuse("revocationTime unreadable");
        out.status = OcspStatus::revoked;
        out.revoked_at = *when;
        out.reason = reason;  // OCSP_REVOKED_STATUS_NOSTATUS (-1) when absent
        break;
    }
    case V_OCSP_CERTSTATUS_UNKNOWN:
        out.status = OcspStatus::unknown;
        break;
    default:
        return origin.refuse("certStatus unreadable");
    }
    return {};
}

// Every check of ocsp.hpp, in its order; `req` is the request whose nonce
// must come back, or null for a stored response.
Result<OcspAnswer> check(std::string_view der, X509* cert, X509* issuer, const OcspSettings& settings,
                         std::time_t now, OCSP_REQUEST* req, const Origin& origin) {
    if (!cert || !issuer) return Error(Code::internal, origin.what + ": no certificate or no issuer");
    if (der.size() > settings.fetch.max_size || der.size() > static_cast<std::size_t>(LONG_MAX))
        return origin.refuse("larger than " + std::to_string(settings.fetch.max_size) + " bytes");
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    ossl::OcspResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));  // owned
    const bool whole = resp && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size();
    ERR_clear_error();
    if (!whole) return origin.refuse("not a DER OCSPResponse");

    const int rs = OCSP_response_status(resp.get());
    if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL)
        return origin.refuse(std::string("responseStatus ") + OCSP_response_status_str(rs));
    ossl::OcspBasicRespPtr bs(OCSP_response_get1_basic(resp.get()));  // get1: owned
    ERR_clear_error();
    if (!bs) return origin.refuse("not a BasicOCSPResponse");

    const Signer signer = CG_TRY(find_signer(bs.get(), issuer, now, origin));
    CG_TRY_VOID(check_signature(bs.get(), signer, origin));
    OCSP_SINGLERESP* single = CG_TRY(find_single(bs.get(), cert, issuer, origin));
    CG_TRY_VOID(check_critical_extensions(bs.get(), single, origin));
    if (req) CG_TRY_VOID(check_nonce(req, bs.get(), origin));

    OcspAnswer out;
    CG_TRY_VOID(fill_times(bs.get(), single, settings, now, out, origin));
    out.signer = signer.description;
    if (signer.cert != issuer) {
        out.delegated = true;
        out.responder_der = encode_der(signer.cert);
        // get_ext_by_NID: -1 when absent. Its value is NULL and means nothing.
        out.responder_nocheck = X509_get_ext_by_NID(signer.cert, NID_id_pkix_OCSP_noCheck, -1) >= 0;
    }
    out.der = std::string(der);
    return out;
}

Result<std::string> der_of(OCSP_REQUEST* req) {
    unsigned char* buf = nullptr;
    const int n = i2d_OCSP_REQUEST(req, &buf);  // allocates buf: freed below
    if (n <= 0) return Error(Code::crypto, "i2d_OCSP_REQUEST: " + ossl::last_error());
    std::string out(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
    return out;
}

}  // namespace

Result<OcspAnswer> ocsp_query(const std::string& url, X509* cert, X509* issuer, const OcspSettings& settings,
                              std::time_t now) {
    if (!cert || !issuer) return Error(Code::internal, "ocsp_query: no certificate or no issuer");
    ossl::OcspRequestPtr req(OCSP_REQUEST_new());  // owned
    // RFC 5019 2.1.1: SHA-1 CertIDs are what lightweight responders index by.
    ossl::OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));  // owned
    if (!req || !id) return Error(Code::crypto, "OCSP request: " + ossl::last_error());
    if (!OCSP_request_add0_id(req.get(), id.get())) return Error(Code::crypto, "OCSP_request_add0_id: " + ossl::last_error());
    id.release();  // add0: the request owns the CertID now
    // A nonce (16 random bytes) makes a replayed answer detectable (RFC 8954).
    if (settings.nonce && OCSP_request_add1_nonce(req.get(), nullptr, -1) != 1)
        return Error(Code::crypto, "OCSP_request_add1_nonce: " + ossl::last_error());
    const std::string body = CG_TRY(der_of(req.get()));

    const std::string der = CG_TRY(http_post(url, "application/ocsp-request", body, settings.fetch));
    return check(der, cert, issuer, settings, now, settings.nonce ? req.get() : nullptr,
                 Origin{"OCSP response from " + url});
}

Result<OcspAnswer> ocsp_check_response(std::string_view der, X509* cert, X509* issuer, const OcspSettings& settings,
                                       std::time_t now) {
    return check(der, cert, issuer, settings, now, nullptr, Origin{"stored OCSP response"});
}

std::string ocsp_url_of(X509* cert) {
    if (!cert) return {};
    ossl::OpensslStringStackPtr urls(X509_get1_ocsp(cert));  // get1: owned
    for (int i = 0; urls && i < sk_OPENSSL_STRING_num(urls.get()); ++i) {
        const char* u = sk_OPENSSL_STRING_value(urls.get(), i);  // borrowed from urls
        if (u && is_fetchable_url(u)) return u;
    }
    return {};
}

}  // namespace cardgate
