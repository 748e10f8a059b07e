#include "x509.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <system_error>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace cardgate {

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string s;
    s.reserve(bytes.size() * 2);
    for (auto b : bytes) {
        s += hex[b >> 4];
        s += hex[b & 15];
    }
    return s;
}

std::string name_to_string(const X509_NAME* name) {
    ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    // RFC 2253/4514 form; ESC_MSB off so UTF-8 stays readable (RFC 4514
    // section 2.4 escapes only the special characters, not non-ASCII ones).
    const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) return {};
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);  // data is borrowed from the BIO
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

namespace {

Error parse_error(std::string_view origin, std::string_view what) {
    std::string d = std::string(origin) + ": " + std::string(what);
    const std::string ossl_err = ossl::last_error();
    if (!ossl_err.empty()) d += " (" + ossl_err + ")";
    return Error(Code::cert_parse, std::move(d));
}

bool looks_pem(std::string_view bytes) { return bytes.find("-----BEGIN ") != std::string_view::npos; }

std::time_t to_time(const ASN1_TIME* t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return timegm(&tm);
}

std::string serial_of(X509* x) {
    // get0: the serial is borrowed from the certificate.
    ossl::BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr));
    if (!bn) return {};
    ossl::OsslString hex(BN_bn2hex(bn.get()));  // upper case
    return hex ? std::string(hex.get()) : std::string();
}

std::string sha256_of(X509* x) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(x, EVP_sha256(), md, &len) != 1) return {};
    return to_hex({md, len});
}

std::string spki_sha256_of(X509* x) {
    // X509_pubkey_digest hashes only the key bits; bindings pin the whole DER
    // SubjectPublicKeyInfo (as RFC 7469 pins do), so encode it first.
    X509_PUBKEY* pub = X509_get_X509_PUBKEY(x);  // borrowed from the certificate
    unsigned char* der = nullptr;
    const int n = i2d_X509_PUBKEY(pub, &der);  // der is allocated: freed below
    if (n <= 0) return {};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const int ok = EVP_Digest(der, static_cast<std::size_t>(n), md, &len, EVP_sha256(), nullptr);
    OPENSSL_free(der);
    return ok == 1 ? to_hex({md, len}) : std::string();
}

// RFC 5280 4.2.1.2 methods (1) and (2) over SHA-1 of the subjectPublicKey
// bits; RFC 7093 methods (1)-(3) (leftmost 160 bits of SHA-256/384/512 of the
// bits) and (4) (a hash of the DER SubjectPublicKeyInfo, whole or truncated).
bool ski_derived_from_key(X509* x, std::span<const std::uint8_t> ski) {
    if (ski.empty()) return false;
    X509_PUBKEY* pub = X509_get_X509_PUBKEY(x);  // borrowed from the certificate
    const unsigned char* bits = nullptr;
    int bits_len = 0;
    if (!X509_PUBKEY_get0_param(nullptr, &bits, &bits_len, nullptr, pub) || bits_len < 0) return false;  // bits borrowed
    unsigned char* der = nullptr;
    const int der_len = i2d_X509_PUBKEY(pub, &der);  // der is allocated: freed below
    bool found = false;
    for (const EVP_MD* md : {EVP_sha1(), EVP_sha256(), EVP_sha384(), EVP_sha512()}) {
        for (int whole = 0; whole < 2 && !found; ++whole) {
            const unsigned char* in = whole ? der : bits;
            const int len = whole ? der_len : bits_len;
            if (!in || len <= 0) continue;
            unsigned char h[EVP_MAX_MD_SIZE];
            unsigned int hlen = 0;
            if (EVP_Digest(in, static_cast<std::size_t>(len), h, &hlen, md, nullptr) != 1) continue;
            if (ski.size() == hlen && std::equal(ski.begin(), ski.end(), h)) found = true;
            if (ski.size() == 20 && hlen >= 20 && std::equal(ski.begin(), ski.end(), h)) found = true;
            // RFC 5280 method (2): 0100 followed by the least significant 60 bits.
            if (md == EVP_sha1() && !whole && ski.size() == 8 && (ski[0] & 0xF0) == 0x40 &&
                (ski[0] & 0x0F) == (h[12] & 0x0F) && std::equal(ski.begin() + 1, ski.end(), h + 13))
                found = true;
        }
    }
    OPENSSL_free(der);
    ERR_clear_error();
    return found;
}

std::string key_type_of(X509* x) {
    EVP_PKEY* pk = X509_get0_pubkey(x);  // get0: borrowed
    if (!pk) return {};
    if (EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_is_a(pk, "RSA-PSS"))
        return "RSA-" + std::to_string(EVP_PKEY_get_bits(pk));
    if (EVP_PKEY_is_a(pk, "EC")) {
        char group[64] = {};
        std::size_t len = 0;
        if (EVP_PKEY_get_group_name(pk, group, sizeof group, &len) != 1) return "EC";
        const char* nist = EC_curve_nid2nist(OBJ_sn2nid(group));  // static string
        return "EC " + std::string(nist ? nist : group);
    }
    const char* name = EVP_PKEY_get0_type_name(pk);  // static string
    return name ? name : "unknown";
}

std::string oid_text(const ASN1_OBJECT* obj) {
    char buf[128];
    const int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
    return n > 0 && static_cast<std::size_t>(n) < sizeof buf ? std::string(buf, static_cast<std::size_t>(n))
                                                             : std::string();
}

// An ASN.1 string as std::string, refusing embedded NUL bytes (the classic
// "alice@example.com\0.evil.org" truncation attack).
Result<std::string> asn1_text(const ASN1_STRING* s, std::string_view origin, std::string_view what) {
    const auto* data = ASN1_STRING_get0_data(s);  // borrowed
    const int len = ASN1_STRING_length(s);
    std::string out(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len < 0 ? 0 : len));
    if (out.find('\0') != std::string::npos) return parse_error(origin, std::string(what) + " contains a NUL byte");
    return out;
}

}  // namespace

Result<Certificate> Certificate::adopt(ossl::X509Ptr x, std::string_view origin) {
    X509* c = x.get();
    // Caches the extensions; EXFLAG_INVALID marks malformed or duplicated ones.
    const uint32_t exflags = X509_get_extension_flags(c);
    if (exflags & EXFLAG_INVALID) return parse_error(origin, "malformed or duplicated extensions");
    if (!X509_get0_pubkey(c)) return parse_error(origin, "unsupported or malformed public key");

    Fields f;
    f.subject = name_to_string(X509_get_subject_name(c));  // get0-style: borrowed names
    f.issuer = name_to_string(X509_get_issuer_name(c));
    f.serial = serial_of(c);
    f.sha256 = sha256_of(c);
    f.spki_sha256 = spki_sha256_of(c);
    f.key_type = key_type_of(c);
    f.not_before = to_time(X509_get0_notBefore(c));
    f.not_after = to_time(X509_get0_notAfter(c));
    if (f.serial.empty() || f.sha256.empty() || f.spki_sha256.empty())
        return parse_error(origin, "cannot encode the certificate");

    int crit = 0;
    ossl::ExtKeyUsagePtr eku(static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(c, NID_ext_key_usage, &crit, nullptr)));
    if (!eku && crit != -1) return parse_error(origin, "malformed extendedKeyUsage extension");
    f.has_eku = eku != nullptr;
    for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i)
        f.eku.push_back(oid_text(sk_ASN1_OBJECT_value(eku.get(), i)));  // borrowed from the stack

    f.has_key_usage = (exflags & EXFLAG_KUSAGE) != 0;
    f.key_usage = f.has_key_usage ? X509_get_key_usage(c) : 0;

    ossl::GeneralNamesPtr san(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c, NID_subject_alt_name, &crit, nullptr)));
    if (!san && crit != -1) return parse_error(origin, "malformed subjectAltName extension");
    for (int i = 0; san && i < sk_GENERAL_NAME_num(san.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(san.get(), i);  // borrowed from the stack
        if (gn->type == GEN_EMAIL) {
            f.emails.push_back(CG_TRY(asn1_text(gn->d.rfc822Name, origin, "subjectAltName email")));
        } else if (gn->type == GEN_OTHERNAME && OBJ_obj2nid(gn->d.otherName->type_id) == NID_ms_upn &&
                   gn->d.otherName->value->type == V_ASN1_UTF8STRING) {
            f.upns.push_back(CG_TRY(asn1_text(gn->d.otherName->value->value.utf8string, origin, "subjectAltName UPN")));
        }
    }

    std::unique_ptr<CERTIFICATEPOLICIES, ossl::Deleter<CERTIFICATEPOLICIES_free>> pol(
        static_cast<CERTIFICATEPOLICIES*>(X509_get_ext_d2i(c, NID_certificate_policies, &crit, nullptr)));
    if (!pol && crit != -1) return parse_error(origin, "malformed certificatePolicies extension");
    for (int i = 0; pol && i < sk_POLICYINFO_num(pol.get()); ++i)
        f.policies.push_back(oid_text(sk_POLICYINFO_value(pol.get(), i)->policyid));  // borrowed from the stack

    if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(c)) {  // borrowed; cached by X509_get_extension_flags
        const std::span<const std::uint8_t> id(ASN1_STRING_get0_data(ski), static_cast<std::size_t>(ASN1_STRING_length(ski)));
        f.ski = to_hex(id);
        f.ski_from_key = ski_derived_from_key(c, id);
    }

    f.is_ca = X509_check_ca(c) != 0;
    // Names and key identifiers only: the signature of a root is not checked
    // (RFC 5280 6.1: a trust anchor is trusted input), which would cost a
    // signature verification on every login for every configured anchor.
    f.self_signed = X509_self_signed(c, 0) == 1;
    ERR_clear_error();  // X509_self_signed may leave entries for a non-self-signed certificate
    return Certificate(std::move(x), std::move(f));
}

Certificate::Certificate(const Certificate& other) : x509_(other.x509_.get()), f_(other.f_) {
    X509_up_ref(x509_.get());  // x509_ now holds its own reference
}

Result<Certificate> Certificate::from_der(std::span<const std::uint8_t> der, std::string_view origin) {
    if (der.empty()) return parse_error(origin, "empty input");
    const unsigned char* p = der.data();
    ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));  // owned
    if (!x) return parse_error(origin, "not a DER X.509 certificate");
    if (p != der.data() + der.size()) return parse_error(origin, "trailing bytes after the DER certificate");
    return adopt(std::move(x), origin);
}

Result<Certificate> Certificate::from_pem(std::string_view pem, std::string_view origin) {
    auto all = CG_TRY(parse_certificates(pem, origin));
    if (!looks_pem(pem)) return parse_error(origin, "not PEM");
    if (all.size() != 1)
        return parse_error(origin, "holds " + std::to_string(all.size()) + " certificates where one is expected");
    return std::move(all.front());
}

Result<Certificate> Certificate::from_bytes(std::string_view bytes, std::string_view origin) {
    if (looks_pem(bytes)) return from_pem(bytes, origin);
    return from_der({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, origin);
}

Result<Certificate> Certificate::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error(Code::io, path + ": cannot open: " + std::generic_category().message(errno));
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Error(Code::io, path + ": cannot read");
    return from_bytes(bytes, path);
}

Result<Certificate> Certificate::from_x509(X509* borrowed, std::string_view origin) {
    if (!borrowed) return parse_error(origin, "no certificate");
    X509_up_ref(borrowed);  // the new owner below holds this reference
    return adopt(ossl::X509Ptr(borrowed), origin);
}

std::string encode_der(X509* x) {
    unsigned char* buf = nullptr;
    const int n = i2d_X509(x, &buf);  // buf allocated by OpenSSL: freed below
    if (n <= 0) return {};
    std::string out(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
    return out;
}

std::vector<std::uint8_t> Certificate::der() const {
    const std::string d = encode_der(x509_.get());
    return {d.begin(), d.end()};
}

bool Certificate::has_eku_oid(std::string_view oid) const {
    for (const auto& e : f_.eku)
        if (e == oid) return true;
    return false;
}

Result<std::vector<Certificate>> parse_certificates(std::string_view bytes, std::string_view origin) {
    std::vector<Certificate> out;
    if (!looks_pem(bytes)) {
        out.push_back(CG_TRY(Certificate::from_der({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                                                   origin)));
        return out;
    }
    ossl::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    if (!bio) return Error(Code::crypto, "BIO_new_mem_buf: " + ossl::last_error());
    ERR_clear_error();
    for (;;) {
        ossl::X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));  // owned
        if (!x) break;
        const std::string where = std::string(origin) + " (certificate " + std::to_string(out.size() + 1) + ")";
        out.push_back(CG_TRY(Certificate::adopt(std::move(x), where)));
    }
    // The loop ends on "no start line" at the end of the text; anything else is a bad block.
    const unsigned long e = ERR_peek_last_error();
    if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
        return parse_error(origin, "malformed PEM certificate block " + std::to_string(out.size() + 1));
    ERR_clear_error();
    if (out.empty()) return parse_error(origin, "no CERTIFICATE block");
    return out;
}

}  // namespace cardgate
