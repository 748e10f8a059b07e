// Certificates made in memory for the identity-mapping tests: any subject and
// issuer (built entry by entry, multi-valued RDNs, raw string types such as
// BMPString, embedded NUL bytes, invalid UTF-8, duplicated attributes), serial,
// SAN emails and UPNs, EKU, certificate policies and subjectKeyIdentifier.
// Self-signed with a throwaway EC P-256 key: mapping does not validate chains.
//
//     auto c = certgen::Builder().subject("CN", "Alice").subject("UID", "alice")
//                  .email("alice@example.com").build();
#pragma once

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "src/ossl.hpp"
#include "src/result.hpp"
#include "src/x509.hpp"

namespace certgen {

inline constexpr const char* example_issuer_cn = "Example Issuing CA";
inline constexpr const char* example_issuer_o = "Example Corp";
inline constexpr const char* example_issuer = "CN=Example Issuing CA,O=Example Corp";

// A fresh EC P-256 key, shared between builders that must produce the same SPKI.
inline std::shared_ptr<EVP_PKEY> new_key() {
    EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");  // owned by the shared_ptr
    BOOST_REQUIRE_MESSAGE(k, "EC key generation failed");
    return {k, EVP_PKEY_free};
}

// Bytes of a UCS-2 big-endian BMPString from UTF-16 code units.
inline std::string bmp(std::u16string_view units) {
    std::string out;
    for (char16_t u : units) {
        out.push_back(static_cast<char>(u >> 8));
        out.push_back(static_cast<char>(u & 0xFF));
    }
    return out;
}

class Builder {
public:
    Builder() = default;

    // One entry appended to the subject: a new RDN, or (multi = true) added to
    // the last RDN, which makes it multi-valued. `type` is an MBSTRING_* flag
    // (OpenSSL converts and checks the value) or a V_ASN1_* string type (the
    // bytes are stored as they are: invalid UTF-8, NUL bytes, odd BMP lengths).
    // `attr` is what X509_NAME_add_entry_by_txt takes: a short or long name
    // ("CN", "UID", "x500UniqueIdentifier") or a dotted OID.
    Builder& subject(std::string attr, std::string value, int type = MBSTRING_UTF8, bool multi = false) {
        subject_.push_back({std::move(attr), std::move(value), type, multi});
        return *this;
    }
    Builder& subject_plus(std::string attr, std::string value, int type = MBSTRING_UTF8) {
        return subject(std::move(attr), std::move(value), type, true);
    }
    // The issuer, entry by entry like subject(); the default is
    // "CN=Example Issuing CA,O=Example Corp" (PrintableString-free UTF-8).
    Builder& issuer(std::string attr, std::string value, int type = MBSTRING_UTF8, bool multi = false) {
        issuer_.push_back({std::move(attr), std::move(value), type, multi});
        return *this;
    }
    // Upper- or lower-case hex, "-" allowed in front.
    Builder& serial(std::string hex) {
        serial_ = std::move(hex);
        return *this;
    }
    Builder& email(std::string v) {
        san_.push_back({GEN_EMAIL, std::move(v)});
        return *this;
    }
    Builder& upn(std::string v) {
        san_.push_back({GEN_OTHERNAME, std::move(v)});
        return *this;
    }
    Builder& eku(std::string oid) {
        eku_.push_back(std::move(oid));
        return *this;
    }
    Builder& policy(std::string oid) {
        policies_.push_back(std::move(oid));
        return *this;
    }
    // Raw bytes of the subjectKeyIdentifier, given as hex: any value, as a CA
    // that copies it from a request would issue.
    Builder& ski(std::string hex) {
        ski_ = std::move(hex);
        ski_from_key_ = false;
        return *this;
    }
    // The subjectKeyIdentifier of RFC 5280 4.2.1.2 method (1): SHA-1 of the
    // subjectPublicKey bits of this certificate's key.
    Builder& ski_from_key() {
        ski_.clear();
        ski_from_key_ = true;
        return *this;
    }
    Builder& key(std::shared_ptr<EVP_PKEY> k) {
        key_ = std::move(k);
        return *this;
    }

    // The X509 itself (for tests that need the OpenSSL object).
    cardgate::ossl::X509Ptr build_x509() const {
        cardgate::ossl::X509Ptr x(X509_new());
        BOOST_REQUIRE(x);
        const auto k = key_ ? key_ : new_key();
        BOOST_REQUIRE(X509_set_version(x.get(), 2) == 1);
        set_serial(x.get());
        X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
        fill_name(X509_get_subject_name(x.get()), subject_);  // borrowed from x
        if (issuer_.empty()) {
            const std::vector<Entry> def{{"O", example_issuer_o, MBSTRING_UTF8, false},
                                         {"CN", example_issuer_cn, MBSTRING_UTF8, false}};
            fill_name(X509_get_issuer_name(x.get()), def);
        } else {
            fill_name(X509_get_issuer_name(x.get()), issuer_);
        }
        BOOST_REQUIRE(X509_set_pubkey(x.get(), k.get()) == 1);
        add_san(x.get());
        add_eku(x.get());
        add_policies(x.get());
        add_ski(x.get());
        BOOST_REQUIRE(X509_sign(x.get(), k.get(), EVP_sha256()) > 0);
        return x;
    }

    cardgate::Result<cardgate::Certificate> try_build() const {
        auto x = build_x509();
        return cardgate::Certificate::from_x509(x.get(), "certgen");  // takes its own reference
    }

    // The certificate's DER with the first occurrence of `from` replaced by
    // `to` (same length), parsed again: for values OpenSSL will not encode
    // (invalid UTF-8, lone surrogates, odd-length BMPStrings). The signature
    // no longer verifies, which mapping does not look at.
    cardgate::Result<cardgate::Certificate> try_build_patched(std::string_view from, std::string_view to) const {
        BOOST_REQUIRE(from.size() == to.size());
        auto x = build_x509();
        unsigned char* buf = nullptr;
        const int n = i2d_X509(x.get(), &buf);  // allocates buf: freed below
        BOOST_REQUIRE(n > 0);
        std::string der(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
        OPENSSL_free(buf);
        const auto at = der.find(from);
        BOOST_REQUIRE_MESSAGE(at != std::string::npos, "placeholder not found in the DER");
        der.replace(at, to.size(), to);
        ERR_clear_error();
        return cardgate::Certificate::from_der(
            {reinterpret_cast<const std::uint8_t*>(der.data()), der.size()}, "certgen (patched)");
    }

    cardgate::Certificate build() const {
        auto r = try_build();
        BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message()));
        return std::move(r).value();
    }

private:
    struct Entry {
        std::string attr, value;
        int type;
        bool multi;
    };
    struct San {
        int kind;
        std::string value;
    };

    // Entries are given most specific last (as X509_NAME stores them): the
    // first call is the least specific RDN, e.g. O before CN.
    static void fill_name(X509_NAME* name, const std::vector<Entry>& entries) {
        for (const Entry& e : entries) {
            const int ok = X509_NAME_add_entry_by_txt(name, e.attr.c_str(), e.type,
                                                      reinterpret_cast<const unsigned char*>(e.value.data()),
                                                      static_cast<int>(e.value.size()), -1, e.multi ? -1 : 0);
            BOOST_REQUIRE_MESSAGE(ok == 1, "cannot add name entry " << e.attr << ": " << cardgate::ossl::last_error());
        }
    }

    void set_serial(X509* x) const {
        BIGNUM* bn = nullptr;
        BOOST_REQUIRE(BN_hex2bn(&bn, serial_.c_str()) > 0);
        cardgate::ossl::BignumPtr owned(bn);
        BOOST_REQUIRE(BN_to_ASN1_INTEGER(owned.get(), X509_get_serialNumber(x)));  // writes into x's serial
    }

    void add_san(X509* x) const {
        if (san_.empty()) return;
        cardgate::ossl::GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
        BOOST_REQUIRE(names);
        for (const San& s : san_) {
            GENERAL_NAME* gn = GENERAL_NAME_new();
            BOOST_REQUIRE(gn);
            ASN1_STRING* str = s.kind == GEN_EMAIL ? ASN1_IA5STRING_new() : ASN1_UTF8STRING_new();
            BOOST_REQUIRE(str);
            BOOST_REQUIRE(ASN1_STRING_set(str, s.value.data(), static_cast<int>(s.value.size())) == 1);
            if (s.kind == GEN_EMAIL) {
                GENERAL_NAME_set0_value(gn, GEN_EMAIL, str);  // gn owns str
            } else {
                ASN1_TYPE* v = ASN1_TYPE_new();
                BOOST_REQUIRE(v);
                ASN1_TYPE_set(v, V_ASN1_UTF8STRING, str);  // v owns str
                ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.4.1.311.20.2.3", 1);
                BOOST_REQUIRE(oid);
                BOOST_REQUIRE(GENERAL_NAME_set0_othername(gn, oid, v) == 1);  // gn owns oid and v
            }
            sk_GENERAL_NAME_push(names.get(), gn);  // names owns gn
        }
        BOOST_REQUIRE(X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1);
    }

    void add_eku(X509* x) const {
        if (eku_.empty()) return;
        cardgate::ossl::ExtKeyUsagePtr eku(sk_ASN1_OBJECT_new_null());
        BOOST_REQUIRE(eku);
        for (const auto& o : eku_) {
            ASN1_OBJECT* obj = OBJ_txt2obj(o.c_str(), 1);
            BOOST_REQUIRE_MESSAGE(obj, "bad EKU OID " << o);
            sk_ASN1_OBJECT_push(eku.get(), obj);  // eku owns obj
        }
        BOOST_REQUIRE(X509_add1_ext_i2d(x, NID_ext_key_usage, eku.get(), 0, X509V3_ADD_DEFAULT) == 1);
    }

    void add_policies(X509* x) const {
        if (policies_.empty()) return;
        std::unique_ptr<CERTIFICATEPOLICIES, cardgate::ossl::Deleter<CERTIFICATEPOLICIES_free>> pols(
            sk_POLICYINFO_new_null());
        BOOST_REQUIRE(pols);
        for (const auto& o : policies_) {
            POLICYINFO* pi = POLICYINFO_new();
            BOOST_REQUIRE(pi);
            ASN1_OBJECT_free(pi->policyid);
            pi->policyid = OBJ_txt2obj(o.c_str(), 1);  // pi owns it
            BOOST_REQUIRE_MESSAGE(pi->policyid, "bad policy OID " << o);
            sk_POLICYINFO_push(pols.get(), pi);  // pols owns pi
        }
        BOOST_REQUIRE(X509_add1_ext_i2d(x, NID_certificate_policies, pols.get(), 0, X509V3_ADD_DEFAULT) == 1);
    }

    void add_ski(X509* x) const {
        if (ski_.empty() && !ski_from_key_) return;
        long len = 0;
        unsigned char* raw = nullptr;
        if (ski_from_key_) {
            const unsigned char* bits = nullptr;
            int bits_len = 0;
            BOOST_REQUIRE(X509_PUBKEY_get0_param(nullptr, &bits, &bits_len, nullptr, X509_get_X509_PUBKEY(x)) == 1);
            raw = static_cast<unsigned char*>(OPENSSL_malloc(20));  // owned: freed below
            BOOST_REQUIRE(raw);
            unsigned int n = 0;
            BOOST_REQUIRE(EVP_Digest(bits, static_cast<std::size_t>(bits_len), raw, &n, EVP_sha1(), nullptr) == 1);
            len = n;
        } else {
            raw = OPENSSL_hexstr2buf(ski_.c_str(), &len);  // owned: freed below
        }
        BOOST_REQUIRE(raw);
        ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
        BOOST_REQUIRE(os);
        BOOST_REQUIRE(ASN1_OCTET_STRING_set(os, raw, static_cast<int>(len)) == 1);
        OPENSSL_free(raw);
        const int ok = X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0, X509V3_ADD_DEFAULT);
        ASN1_OCTET_STRING_free(os);
        BOOST_REQUIRE(ok == 1);
    }

    std::vector<Entry> subject_;
    std::vector<Entry> issuer_;
    std::string serial_ = "1A2B3C";
    std::vector<San> san_;
    std::vector<std::string> eku_;
    std::vector<std::string> policies_;
    std::string ski_;
    bool ski_from_key_ = false;
    std::shared_ptr<EVP_PKEY> key_;
};

}  // namespace certgen
