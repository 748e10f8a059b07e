// The CRL index: a strict DER walk of one CRL, its signature checked over the
// tbsCertList bytes in place, and the sorted, block-hashed payload that
// CrlIndexView reads. See crl_index.hpp for why it exists; the payload layout
// is described above write_payload().
#include "crl_index.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <string_view>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "ossl.hpp"
#include "x509.hpp"

namespace cardgate {

namespace {

using Bytes = std::span<const std::uint8_t>;

Error refuse(std::string detail) { return Error(Code::cert_revocation_unknown, std::move(detail)); }
Error corrupt(std::string detail) { return Error(Code::io, "CRL index corrupt: " + std::move(detail)); }

bool equal(Bytes a, Bytes b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }
template <std::size_t N>
bool equal(Bytes a, const std::uint8_t (&b)[N]) { return equal(a, Bytes(b, N)); }

// SHA-256 fetched once: the one-shot SHA256() fetches it on every call, which
// costs a find() about as much as hashing a block. Never freed (static).
const EVP_MD* sha256_md() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
}

// All zero if hashing fails, which no stored hash matches.
Sha256 sha256(Bytes b) {
    Sha256 d{};
    if (EVP_Digest(b.data(), b.size(), d.data(), nullptr, sha256_md(), nullptr) != 1) d.fill(0);
    return d;
}

std::string hex(Bytes b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (std::uint8_t c : b) {
        s.push_back(digits[c >> 4]);
        s.push_back(digits[c & 15]);
    }
    return s;
}

// ------------------------------------------------------------------ DER

// DER tags used here (X.690 8.1.2: universal class; context class 0x80,
// constructed bit 0x20).
constexpr std::uint8_t tag_boolean = 0x01, tag_integer = 0x02, tag_bit_string = 0x03, tag_octet_string = 0x04,
                       tag_null = 0x05, tag_oid = 0x06, tag_enumerated = 0x0A, tag_utc_time = 0x17,
                       tag_generalized_time = 0x18, tag_sequence = 0x30;
constexpr std::uint8_t context(unsigned n, bool constructed) {
    return static_cast<std::uint8_t>(0x80 | (constructed ? 0x20 : 0) | n);
}

struct Tlv {
    std::uint8_t tag = 0;
    Bytes content;  // the value octets
    Bytes whole;    // tag, length and value
};

// A strict, bounded DER reader over one buffer: definite lengths in their
// shortest form only (X.690 10.1), low tag numbers only (nothing in a CRL needs
// more), every length checked against what is left. `base` is the start of the
// whole CRL, so that errors can give an offset one can find with a hex dump.
class DerReader {
public:
    DerReader(Bytes buf, const std::uint8_t* base) : rest_(buf), base_(base) {}

    bool empty() const noexcept { return rest_.empty(); }
    // The next tag, or 0 at the end (0 is not a valid DER tag here).
    std::uint8_t peek() const noexcept { return rest_.empty() ? 0 : rest_[0]; }

    Result<Tlv> next(std::string_view what) {
        const std::size_t at = offset();
        if (rest_.size() < 2) return bad(what, at, "truncated");
        const std::uint8_t tag = rest_[0];
        if ((tag & 0x1F) == 0x1F) return bad(what, at, "high tag numbers are not used in CRLs");
        std::size_t len = rest_[1], head = 2;
        if (len == 0x80) return bad(what, at, "indefinite length (BER, not DER)");
        if (len > 0x80) {
            const std::size_t n = len & 0x7F;
            // Four length octets describe 4 GiB: more than any CRL this reads.
            if (n > 4) return bad(what, at, "length of " + std::to_string(n) + " octets");
            if (rest_.size() < 2 + n) return bad(what, at, "truncated length");
            if (rest_[2] == 0) return bad(what, at, "length not in its shortest form");
            len = 0;
            for (std::size_t i = 0; i < n; ++i) len = (len << 8) | rest_[2 + i];
            if (len < 0x80) return bad(what, at, "length not in its shortest form");
            head = 2 + n;
        }
        if (len > rest_.size() - head)
            return bad(what, at, "length " + std::to_string(len) + " runs past the end (" +
                                     std::to_string(rest_.size() - head) + " octets left)");
        Tlv t{tag, rest_.subspan(head, len), rest_.first(head + len)};
        rest_ = rest_.subspan(head + len);
        return t;
    }

    Result<Tlv> expect(std::uint8_t tag, std::string_view what) {
        const std::size_t at = offset();
        if (!rest_.empty() && rest_[0] != tag)
            return bad(what, at, "tag 0x" + hex(rest_.first(1)) + " where 0x" + hex(Bytes(&tag, 1)) + " belongs");
        return next(what);
    }

    // Nothing may follow the last element (X.690 8.1.1: the contents are exactly the elements).
    Status finish(std::string_view what) const {
        if (!rest_.empty())
            return bad(what, offset(), std::to_string(rest_.size()) + " unexpected octets at the end");
        return {};
    }

    // A reader over a TLV's content, for its elements.
    DerReader inside(const Tlv& t) const { return DerReader(t.content, base_); }
    std::size_t offset() const noexcept { return static_cast<std::size_t>(rest_.data() - base_); }
    const std::uint8_t* base() const noexcept { return base_; }

private:
    static Error bad(std::string_view what, std::size_t at, const std::string& why) {
        return refuse("CRL DER: " + std::string(what) + " at offset " + std::to_string(at) + ": " + why);
    }
    Bytes rest_;
    const std::uint8_t* base_;
};

// X.690 8.3.2: an INTEGER's content is non-empty and its first nine bits are
// not all equal (no redundant leading 00 or FF).
bool minimal_integer(Bytes c) {
    if (c.empty()) return false;
    if (c.size() == 1) return true;
    return !(c[0] == 0x00 && c[1] < 0x80) && !(c[0] == 0xFF && c[1] >= 0x80);
}

bool non_negative(Bytes c) { return !c.empty() && c[0] < 0x80; }

// Dotted form of an OID's content octets, for error details; "" when the
// content is not a valid OID (X.690 8.19: shortest sub-identifiers, last octet ends one).
std::string oid_text(Bytes c) {
    if (c.empty() || (c.back() & 0x80)) return {};
    std::string s;
    std::uint64_t v = 0;
    bool first = true, start = true;
    for (std::uint8_t b : c) {
        if (start && b == 0x80) return {};
        if (v > (UINT64_MAX >> 7)) return {};
        v = (v << 7) | (b & 0x7F);
        start = !(b & 0x80);
        if (!start) continue;
        if (first) {
            const std::uint64_t arc = v < 40 ? 0 : v < 80 ? 1 : 2;
            s = std::to_string(arc) + "." + std::to_string(v - 40 * arc);
            first = false;
        } else {
            s += "." + std::to_string(v);
        }
        v = 0;
    }
    return s;
}

// "name (dotted)" for an OID OpenSSL knows, else the dotted form.
std::string oid_name(Bytes c) {
    const std::string dotted = oid_text(c);
    if (dotted.empty()) return "<malformed OID " + hex(c) + ">";
    ossl::Asn1ObjectPtr obj(OBJ_txt2obj(dotted.c_str(), 1));  // owned
    const int nid = obj ? OBJ_obj2nid(obj.get()) : NID_undef;
    return nid == NID_undef ? dotted : std::string(OBJ_nid2ln(nid)) + " (" + dotted + ")";
}

Result<Bytes> read_oid(DerReader& r, std::string_view what) {
    const Tlv t = CG_TRY(r.expect(tag_oid, what));
    if (oid_text(t.content).empty()) return refuse("CRL DER: " + std::string(what) + ": malformed OID");
    return t.content;
}

// BOOLEAN: DER has one content octet, FF for TRUE (X.690 11.1). An explicit
// FALSE (a DEFAULT written out) is tolerated: it says what the absence says.
Result<bool> read_boolean(const Tlv& t, std::string_view what) {
    if (t.content.size() != 1 || (t.content[0] != 0x00 && t.content[0] != 0xFF))
        return refuse("CRL DER: " + std::string(what) + ": not a DER BOOLEAN");
    return t.content[0] == 0xFF;
}

// ------------------------------------------------------------------ time

constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    // H. Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar.
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// RFC 5280 4.1.2.5.1/5.1.2.4: UTCTime YYMMDDHHMMSSZ (YY < 50 is 20YY) or
// GeneralizedTime YYYYMMDDHHMMSSZ, seconds present, no fraction, Zulu.
Result<std::int64_t> read_time(DerReader& r, std::string_view what) {
    const std::uint8_t tag = r.peek();
    if (tag != tag_utc_time && tag != tag_generalized_time)
        return refuse("CRL DER: " + std::string(what) + ": not a UTCTime or GeneralizedTime");
    const Tlv t = CG_TRY(r.next(what));
    const Bytes c = t.content;
    const std::size_t ylen = tag == tag_utc_time ? 2 : 4;
    auto invalid = [&] { return refuse("CRL DER: " + std::string(what) + ": invalid time"); };
    if (c.size() != ylen + 11 || c.back() != 'Z') return invalid();
    unsigned v[6] = {};  // year, month, day, hour, minute, second
    std::size_t pos = 0;
    for (int field = 0; field < 6; ++field) {
        const std::size_t n = field == 0 ? ylen : 2;
        for (std::size_t i = 0; i < n; ++i, ++pos) {
            if (c[pos] < '0' || c[pos] > '9') return invalid();
            v[field] = v[field] * 10 + static_cast<unsigned>(c[pos] - '0');
        }
    }
    unsigned year = v[0];
    if (tag == tag_utc_time) year += year < 50 ? 2000 : 1900;
    static constexpr unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (v[1] < 1 || v[1] > 12) return invalid();
    const unsigned dim = mdays[v[1] - 1] + (v[1] == 2 && leap ? 1 : 0);
    if (v[2] < 1 || v[2] > dim || v[3] > 23 || v[4] > 59 || v[5] > 59) return invalid();
    return days_from_civil(year, v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
}

// ------------------------------------------------------------------ signature

// OIDs as content octets (RFC 5758, RFC 4055, RFC 8410, RFC 5280).
constexpr std::uint8_t oid_ecdsa_sha256[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
constexpr std::uint8_t oid_ecdsa_sha384[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03};
constexpr std::uint8_t oid_ecdsa_sha512[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04};
constexpr std::uint8_t oid_rsa_sha256[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B};
constexpr std::uint8_t oid_rsa_sha384[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0C};
constexpr std::uint8_t oid_rsa_sha512[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0D};
constexpr std::uint8_t oid_rsa_pss[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A};
constexpr std::uint8_t oid_mgf1[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x08};
constexpr std::uint8_t oid_sha256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
constexpr std::uint8_t oid_sha384[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
constexpr std::uint8_t oid_sha512[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03};
constexpr std::uint8_t oid_ed25519[] = {0x2B, 0x65, 0x70};
constexpr std::uint8_t oid_ed448[] = {0x2B, 0x65, 0x71};

enum class SigKind { ecdsa, rsa_pkcs1, rsa_pss, eddsa };

struct SigAlg {
    SigKind kind;
    const char* md = nullptr;  // digest name for EVP; nullptr for EdDSA (no pre-hash)
    const char* key_type;      // EVP_PKEY_is_a name the issuer key must have
    int pss_salt = 0;
    std::string name;          // for error details
};

// AlgorithmIdentifier parameters that must be absent, or NULL where RFC 4055
// asks for NULL (and absent is the common misreading, tolerated).
Status no_params(DerReader& r, bool null_ok, const std::string& alg) {
    if (null_ok && r.peek() == tag_null) {
        const Tlv t = CG_TRY(r.next("AlgorithmIdentifier parameters"));
        if (!t.content.empty()) return refuse("CRL signature algorithm " + alg + ": NULL parameters not empty");
    }
    if (!r.empty()) return refuse("CRL signature algorithm " + alg + ": unexpected parameters");
    return {};
}

// A hash AlgorithmIdentifier (its SEQUENCE) inside RSASSA-PSS-params: SHA-2 only.
Result<const char*> pss_hash(const Tlv& alg_id, const std::uint8_t* base) {
    DerReader seq(alg_id.content, base);
    const Bytes oid = CG_TRY(read_oid(seq, "RSASSA-PSS hash algorithm"));
    const char* md = equal(oid, oid_sha256) ? "SHA256" : equal(oid, oid_sha384) ? "SHA384"
                   : equal(oid, oid_sha512) ? "SHA512" : nullptr;
    if (!md) return refuse("CRL signature algorithm RSASSA-PSS with hash " + oid_name(oid) + " is not accepted");
    CG_TRY_VOID(no_params(seq, true, "RSASSA-PSS"));
    return md;
}

// RFC 4055 3.1: RSASSA-PSS-params. Every field with a SHA-1 default must be
// present; MGF1 must use the same hash; the trailer field must be 1.
Status parse_pss(DerReader& params, SigAlg& alg) {
    DerReader seq = params.inside(CG_TRY(params.expect(tag_sequence, "RSASSA-PSS parameters")));
    CG_TRY_VOID(params.finish("RSASSA-PSS parameters"));
    if (seq.peek() != context(0, true)) return refuse("CRL signature algorithm RSASSA-PSS with SHA-1 is not accepted");
    {
        DerReader h = seq.inside(CG_TRY(seq.next("RSASSA-PSS hashAlgorithm")));
        const Tlv alg_id = CG_TRY(h.expect(tag_sequence, "RSASSA-PSS hash AlgorithmIdentifier"));
        CG_TRY_VOID(h.finish("RSASSA-PSS hashAlgorithm"));
        alg.md = CG_TRY(pss_hash(alg_id, seq.base()));
    }
    if (seq.peek() != context(1, true))
        return refuse("CRL signature algorithm RSASSA-PSS with MGF1-SHA-1 is not accepted");
    {
        const Tlv mgf = CG_TRY(seq.next("RSASSA-PSS maskGenAlgorithm"));
        DerReader outer = seq.inside(mgf);
        DerReader m = outer.inside(CG_TRY(outer.expect(tag_sequence, "RSASSA-PSS maskGenAlgorithm")));
        CG_TRY_VOID(outer.finish("RSASSA-PSS maskGenAlgorithm"));
        const Bytes oid = CG_TRY(read_oid(m, "RSASSA-PSS mask generation function"));
        if (!equal(oid, oid_mgf1)) return refuse("CRL signature algorithm RSASSA-PSS with mask generation " + oid_name(oid) + " is not accepted");
        const Tlv h = CG_TRY(m.expect(tag_sequence, "MGF1 hash AlgorithmIdentifier"));
        CG_TRY_VOID(m.finish("MGF1 parameters"));
        const char* mgf_md = CG_TRY(pss_hash(h, m.base()));
        if (std::strcmp(mgf_md, alg.md) != 0)
            return refuse(std::string("CRL signature algorithm RSASSA-PSS: MGF1 hash ") + mgf_md + " differs from hash " + alg.md);
    }
    alg.pss_salt = 20;  // the DEFAULT
    if (seq.peek() == context(2, true)) {
        DerReader s = seq.inside(CG_TRY(seq.next("RSASSA-PSS saltLength")));
        const Tlv i = CG_TRY(s.expect(tag_integer, "RSASSA-PSS saltLength"));
        CG_TRY_VOID(s.finish("RSASSA-PSS saltLength"));
        if (!minimal_integer(i.content) || !non_negative(i.content) || i.content.size() > 2)
            return refuse("CRL signature algorithm RSASSA-PSS: bad saltLength");
        alg.pss_salt = 0;
        for (std::uint8_t b : i.content) alg.pss_salt = (alg.pss_salt << 8) | b;
    }
    if (seq.peek() == context(3, true)) {
        DerReader s = seq.inside(CG_TRY(seq.next("RSASSA-PSS trailerField")));
        const Tlv i = CG_TRY(s.expect(tag_integer, "RSASSA-PSS trailerField"));
        CG_TRY_VOID(s.finish("RSASSA-PSS trailerField"));
        if (i.content.size() != 1 || i.content[0] != 1)
            return refuse("CRL signature algorithm RSASSA-PSS: trailerField is not 1");
    }
    return seq.finish("RSASSA-PSS parameters");
}

// The signature AlgorithmIdentifier: only algorithms without SHA-1 or MD5.
Result<SigAlg> parse_sig_alg(const Tlv& alg_id, const std::uint8_t* base) {
    DerReader r(alg_id.content, base);
    const Bytes oid = CG_TRY(read_oid(r, "signature algorithm"));
    SigAlg a{SigKind::ecdsa, nullptr, "EC", 0, oid_name(oid)};
    if (equal(oid, oid_ecdsa_sha256) || equal(oid, oid_ecdsa_sha384) || equal(oid, oid_ecdsa_sha512)) {
        a.md = equal(oid, oid_ecdsa_sha256) ? "SHA256" : equal(oid, oid_ecdsa_sha384) ? "SHA384" : "SHA512";
        CG_TRY_VOID(no_params(r, false, a.name));  // RFC 5758 3.2: absent
    } else if (equal(oid, oid_rsa_sha256) || equal(oid, oid_rsa_sha384) || equal(oid, oid_rsa_sha512)) {
        a.kind = SigKind::rsa_pkcs1;
        a.key_type = "RSA";
        a.md = equal(oid, oid_rsa_sha256) ? "SHA256" : equal(oid, oid_rsa_sha384) ? "SHA384" : "SHA512";
        CG_TRY_VOID(no_params(r, true, a.name));  // RFC 4055 5: NULL
    } else if (equal(oid, oid_rsa_pss)) {
        a.kind = SigKind::rsa_pss;
        a.key_type = "RSA";  // an RSA-PSS-only key is accepted too (verify_signature)
        CG_TRY_VOID(parse_pss(r, a));
    } else if (equal(oid, oid_ed25519) || equal(oid, oid_ed448)) {
        a.kind = SigKind::eddsa;
        a.key_type = equal(oid, oid_ed25519) ? "ED25519" : "ED448";
        CG_TRY_VOID(no_params(r, false, a.name));  // RFC 8410 3: absent
    } else {
        return refuse("CRL signature algorithm " + a.name + " is not accepted");
    }
    return a;
}

// Key strength as for certificates: RSA >= 2048 bits, EC >= 224 bits
// (NIST SP 800-57 part 1, 112-bit security).
Status check_key(EVP_PKEY* key, const SigAlg& alg, const std::string& who) {
    const bool rsa_pss_key = alg.kind == SigKind::rsa_pss && EVP_PKEY_is_a(key, "RSA-PSS");
    if (!EVP_PKEY_is_a(key, alg.key_type) && !rsa_pss_key)
        return refuse("CRL signature algorithm " + alg.name + " does not fit the " +
                      EVP_PKEY_get0_type_name(key) + " key of " + who);
    const int bits = EVP_PKEY_get_bits(key);
    const int min = alg.kind == SigKind::ecdsa ? 224 : alg.kind == SigKind::eddsa ? 0 : 2048;
    if (bits < min)
        return refuse("the " + std::to_string(bits) + "-bit " + EVP_PKEY_get0_type_name(key) + " key of " + who +
                      " is too small to sign CRLs (at least " + std::to_string(min) + " bits)");
    return {};
}

Status verify_signature(Bytes tbs, Bytes sig, const SigAlg& alg, EVP_PKEY* key, const std::string& who) {
    CG_TRY_VOID(check_key(key, alg, who));
    ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx) return Error(Code::crypto, "EVP_MD_CTX_new failed");
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (EVP_DigestVerifyInit_ex(ctx.get(), &pctx, alg.md, nullptr, nullptr, key, nullptr) != 1)
        return Error(Code::crypto, "EVP_DigestVerifyInit_ex (" + alg.name + "): " + ossl::last_error());
    if (alg.kind == SigKind::rsa_pss &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, alg.md, nullptr) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, alg.pss_salt) != 1))
        return refuse("CRL signature: RSASSA-PSS parameters not usable with the key of " + who + ": " + ossl::last_error());
    // EdDSA signs the message itself, in one pass (RFC 8032): no Update/Final.
    const int ok = alg.kind == SigKind::eddsa
                       ? EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), tbs.data(), tbs.size())
                       : EVP_DigestVerifyUpdate(ctx.get(), tbs.data(), tbs.size()) == 1
                             ? EVP_DigestVerifyFinal(ctx.get(), sig.data(), sig.size())
                             : -1;
    if (ok != 1) {
        ossl::last_error();  // a malformed signature leaves errors queued: drop them
        return refuse("CRL signature (" + alg.name + ") does not verify with the key of " + who);
    }
    return {};
}

// ------------------------------------------------------------------ extensions

constexpr std::uint8_t oid_crl_number[] = {0x55, 0x1D, 0x14};
constexpr std::uint8_t oid_reason_code[] = {0x55, 0x1D, 0x15};
constexpr std::uint8_t oid_invalidity_date[] = {0x55, 0x1D, 0x18};
constexpr std::uint8_t oid_delta_crl[] = {0x55, 0x1D, 0x1B};
constexpr std::uint8_t oid_idp[] = {0x55, 0x1D, 0x1C};
constexpr std::uint8_t oid_certificate_issuer[] = {0x55, 0x1D, 0x1D};
constexpr std::uint8_t oid_aki[] = {0x55, 0x1D, 0x23};

constexpr std::size_t max_extensions = 64;

struct Extension {
    Bytes oid;
    bool critical = false;
    Bytes value;  // extnValue's content: the extension's own DER
};

// Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension, no OID twice (RFC 5280
// 4.2), into `out` (a vector the caller reuses: one per entry would cost a
// million allocations for a million entries).
Status read_extensions(DerReader& r, std::string_view what, std::vector<Extension>& out) {
    DerReader list = r.inside(CG_TRY(r.expect(tag_sequence, what)));
    out.clear();
    if (list.empty()) return refuse("CRL DER: " + std::string(what) + ": empty");
    while (!list.empty()) {
        // The duplicate check below is quadratic: a CRL or an entry carries a
        // handful of extensions, never hundreds.
        if (out.size() == max_extensions)
            return refuse("CRL DER: " + std::string(what) + ": more than " + std::to_string(max_extensions) +
                          " extensions");
        DerReader e = list.inside(CG_TRY(list.expect(tag_sequence, "Extension")));
        Extension x;
        x.oid = CG_TRY(read_oid(e, "extnID"));
        if (e.peek() == tag_boolean) {
            const Tlv c = CG_TRY(e.next("critical"));
            x.critical = CG_TRY(read_boolean(c, "critical"));
        }
        x.value = CG_TRY(e.expect(tag_octet_string, "extnValue")).content;
        CG_TRY_VOID(e.finish("Extension"));
        for (const Extension& seen : out)
            if (equal(seen.oid, x.oid)) return refuse(std::string(what) + ": " + oid_name(x.oid) + " appears twice");
        out.push_back(x);
    }
    return {};
}

// The DER inside an extnValue: exactly one element of `tag`.
Result<Tlv> ext_value(const Extension& x, std::uint8_t tag, const std::uint8_t* base) {
    DerReader r(x.value, base);
    auto t = r.expect(tag, "extnValue");
    Status end = t ? r.finish("extnValue") : Status{};
    // Named only on failure: oid_name() is too slow for every entry's reasonCode.
    if (!t) return refuse(oid_name(x.oid) + ": " + t.error().detail());
    if (!end) return refuse(oid_name(x.oid) + ": " + end.error().detail());
    return t;
}

// RFC 5280 5.2.5: issuingDistributionPoint. The scope must be one cardgate
// can state in CrlFacts: a full-name URI list and the user/CA flags. A
// partition it cannot express (onlySomeReasons, a name relative to the
// issuer, no URI), an indirect CRL or an attribute-certificate CRL is refused
// rather than taken for a CRL that covers everything.
Status parse_idp(const Extension& x, const std::uint8_t* base, CrlFacts& facts) {
    const Tlv idp = CG_TRY(ext_value(x, tag_sequence, base));
    DerReader r(idp.content, base);
    if (r.empty()) return refuse("issuingDistributionPoint is empty (RFC 5280 5.2.5)");
    int last = -1;
    while (!r.empty()) {
        const Tlv f = CG_TRY(r.next("issuingDistributionPoint field"));
        const int n = f.tag & 0x1F;
        if ((f.tag & 0xC0) != 0x80 || n <= last || n > 5)
            return refuse("issuingDistributionPoint: unexpected field tag 0x" + hex(Bytes(&f.tag, 1)));
        last = n;
        if (n == 0) {
            if (f.tag != context(0, true)) return refuse("issuingDistributionPoint: distributionPoint not constructed");
            DerReader dp = r.inside(f);
            const Tlv name = CG_TRY(dp.next("distributionPoint name"));
            CG_TRY_VOID(dp.finish("distributionPoint"));
            if (name.tag != context(0, true))
                return refuse("issuingDistributionPoint: only a fullName distribution point is supported");
            DerReader names = dp.inside(name);
            if (names.empty()) return refuse("issuingDistributionPoint: empty fullName");
            while (!names.empty()) {
                const Tlv gn = CG_TRY(names.next("GeneralName"));
                if ((gn.tag & 0xC0) != 0x80 || (gn.tag & 0x1F) > 8)
                    return refuse("issuingDistributionPoint: fullName holds a tag 0x" + hex(Bytes(&gn.tag, 1)) +
                                  " that is no GeneralName");
                if (gn.tag != context(6, false)) continue;  // directoryName etc.: not what we match on
                std::string uri(gn.content.begin(), gn.content.end());
                if (uri.empty() || std::any_of(uri.begin(), uri.end(), [](char c) { return c <= 0x20 || c >= 0x7F; }))
                    return refuse("issuingDistributionPoint: URI is empty or not printable ASCII");
                facts.idp_uris.push_back(std::move(uri));
            }
            if (facts.idp_uris.empty()) return refuse("issuingDistributionPoint: fullName holds no URI");
        } else if (n == 3) {
            return refuse("issuingDistributionPoint with onlySomeReasons is not supported");
        } else {
            if (f.tag != context(static_cast<unsigned>(n), false))
                return refuse("issuingDistributionPoint: field [" + std::to_string(n) + "] is not a BOOLEAN");
            const bool v = CG_TRY(read_boolean(f, "issuingDistributionPoint flag"));
            if (n == 1) facts.only_user_certs = v;
            if (n == 2) facts.only_ca_certs = v;
            if (n == 4 && v) return refuse("indirect CRLs are not supported (issuingDistributionPoint indirectCRL)");
            if (n == 5 && v) return refuse("CRLs of attribute certificates are not supported");
        }
    }
    if (facts.only_user_certs && facts.only_ca_certs)
        return refuse("issuingDistributionPoint: onlyContainsUserCerts and onlyContainsCACerts both set");
    return {};
}

Status parse_crl_extensions(const std::vector<Extension>& exts, const std::uint8_t* base, CrlFacts& facts) {
    for (const Extension& x : exts) {
        if (equal(x.oid, oid_crl_number)) {
            // RFC 5280 5.2.3: a non-negative INTEGER of at most 20 octets.
            const Tlv n = CG_TRY(ext_value(x, tag_integer, base));
            if (!minimal_integer(n.content) || !non_negative(n.content) || n.content.size() > 21 ||
                (n.content.size() == 21 && n.content[0] != 0))
                return refuse("cRLNumber (2.5.29.20) is not a non-negative INTEGER of at most 20 octets");
            facts.crl_number.assign(n.content.begin(), n.content.end());
        } else if (equal(x.oid, oid_delta_crl)) {
            return refuse("delta CRLs are not supported (deltaCRLIndicator)");
        } else if (equal(x.oid, oid_idp)) {
            CG_TRY_VOID(parse_idp(x, base, facts));
        } else if (equal(x.oid, oid_aki)) {
            // The issuer is given, and its name and signature are checked.
        } else if (x.critical) {
            return refuse("unknown critical CRL extension " + oid_name(x.oid));
        }
    }
    return {};
}

// RFC 5280 5.3.1 reason codes; 7 is unused, 8 (removeFromCRL) belongs to delta CRLs.
Result<int> parse_reason(const Extension& x, const std::uint8_t* base) {
    const Tlv e = CG_TRY(ext_value(x, tag_enumerated, base));
    if (e.content.size() != 1) return refuse("reasonCode is not a valid CRLReason");
    const int v = e.content[0];
    if (v == 8) return refuse("reasonCode removeFromCRL (8) belongs in delta CRLs, not a full CRL");
    if (v == 7 || v > 10) return refuse("reasonCode " + std::to_string(v) + " is not a CRLReason");
    return v;
}

// ------------------------------------------------------------------ slots

// A slot: the serial (its length, then its content octets zero-padded), then
// the reason and the revocation time. Ordering keys by (length, octets) is a
// memcmp of the first key_size octets.
constexpr std::size_t max_serial = 22;  // RFC 5280 4.1.2.2 says 20; some CAs encode 21 with a sign octet
constexpr std::size_t key_size = 1 + max_serial;
constexpr std::size_t slot_size = 32;
constexpr std::size_t reason_at = key_size;  // 0xFF = no reasonCode
constexpr std::size_t time_at = 24;          // int64, little-endian two's complement
constexpr std::uint8_t no_reason = 0xFF;

struct Slot {
    std::uint8_t b[slot_size];
};
static_assert(sizeof(Slot) == slot_size && alignof(Slot) == 1);

bool key_equal(const Slot& a, const Slot& b) { return std::memcmp(a.b, b.b, key_size) == 0; }

void put_u32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put_u64(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint32_t get_u32(const std::uint8_t* p) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}
std::uint64_t get_u64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

// One revokedCertificates entry into a slot. The caller puts the entry's
// number in front of an error's detail; nothing here builds a string unless
// it fails (this runs a million times for a large CRL).
Status parse_entry(DerReader& list, Slot& slot, bool& has_extensions, std::vector<Extension>& exts) {
    DerReader e = list.inside(CG_TRY(list.expect(tag_sequence, "revokedCertificates entry")));
    const Tlv serial = CG_TRY(e.expect(tag_integer, "userCertificate"));
    if (!minimal_integer(serial.content)) return refuse("serial number is not a DER INTEGER (empty or not minimal)");
    if (serial.content.size() > max_serial)
        return refuse("serial number is " + std::to_string(serial.content.size()) + " octets; at most " +
                      std::to_string(max_serial) + " are supported");
    const std::int64_t when = CG_TRY(read_time(e, "revocationDate"));
    std::memset(slot.b, 0, slot_size);
    slot.b[0] = static_cast<std::uint8_t>(serial.content.size());
    std::memcpy(slot.b + 1, serial.content.data(), serial.content.size());
    slot.b[reason_at] = no_reason;
    put_u64(slot.b + time_at, static_cast<std::uint64_t>(when));
    if (e.empty()) return {};
    has_extensions = true;
    CG_TRY_VOID(read_extensions(e, "crlEntryExtensions", exts));
    CG_TRY_VOID(e.finish("revokedCertificates entry"));
    for (const Extension& x : exts) {
        if (equal(x.oid, oid_reason_code)) {
            slot.b[reason_at] = static_cast<std::uint8_t>(CG_TRY(parse_reason(x, list.base())));
        } else if (equal(x.oid, oid_certificate_issuer)) {
            return refuse("certificateIssuer entry extension: indirect CRLs are not supported");
        } else if (equal(x.oid, oid_invalidity_date)) {
            // When the key was suspected lost: revoked either way, so not needed.
        } else if (x.critical) {
            return refuse("unknown critical entry extension " + oid_name(x.oid));
        }
    }
    return {};
}

// ------------------------------------------------------------------ payload

// Payload layout (every integer little-endian, nothing aligned):
//
//   header (192 octets)
//     0  magic "CGCRLIDX"        8  u32 layout version (1)   12  u32 slot size (32)
//    16  u32 entries per block  20  u32 flags (1 onlyUser, 2 onlyCA)
//    24  u64 entries            32  u64 blocks              40  i64 thisUpdate
//    48  i64 nextUpdate         56  u64 trailer size
//    64  crl_sha256             96  issuer_name_sha256     128  signer_spki_sha256
//   160  tables_sha256: SHA-256 of header[0,160) || fences || block hashes || trailer
//   slots        entries x 32, sorted by key, no key twice
//   fences       blocks x 23: the key of each block's first slot
//   block hashes blocks x 32: SHA-256 of each block's slots
//   trailer      u32 n, cRLNumber octets; u32 count, then per URI u32 n, octets
//
// Slots come first so that build_crl_index parses entries straight into the
// payload; the tables follow once their count is known.
constexpr std::uint8_t magic[8] = {'C', 'G', 'C', 'R', 'L', 'I', 'D', 'X'};
constexpr std::uint32_t layout_version = 1;
constexpr std::size_t header_size = 192;
constexpr std::size_t hashed_header = 160;
// 1024 slots (32 KiB) per block: at 1,000,000 entries, open() hashes ~53 KiB
// of tables and find() one 32 KiB block, about the least total for one lookup.
constexpr std::uint32_t block_entries = 1024;
constexpr std::uint32_t max_block_entries = 1u << 16;
constexpr std::size_t max_trailer_string = 4096;

void append_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    out.resize(out.size() + 4);
    put_u32(out.data() + out.size() - 4, v);
}
void append_bytes(std::vector<std::uint8_t>& out, Bytes b) {
    append_u32(out, static_cast<std::uint32_t>(b.size()));
    out.insert(out.end(), b.begin(), b.end());
}

// Completes `out`, which holds the header space and `n` sorted slots.
void write_payload(std::vector<std::uint8_t>& out, std::size_t n, const CrlFacts& facts) {
    const std::size_t blocks = (n + block_entries - 1) / block_entries;
    const std::size_t fences_at = out.size();
    for (std::size_t b = 0; b < blocks; ++b) {
        const std::uint8_t* first = out.data() + header_size + b * block_entries * slot_size;
        out.insert(out.end(), first, first + key_size);
    }
    for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t from = header_size + b * block_entries * slot_size;
        const std::size_t len = std::min<std::size_t>(block_entries, n - b * block_entries) * slot_size;
        const Sha256 h = sha256(Bytes(out.data() + from, len));
        out.insert(out.end(), h.begin(), h.end());
    }
    const std::size_t trailer_at = out.size();
    append_bytes(out, facts.crl_number);
    append_u32(out, static_cast<std::uint32_t>(facts.idp_uris.size()));
    for (const auto& u : facts.idp_uris)
        append_bytes(out, Bytes(reinterpret_cast<const std::uint8_t*>(u.data()), u.size()));

    std::uint8_t* h = out.data();
    std::memcpy(h, magic, sizeof magic);
    put_u32(h + 8, layout_version);
    put_u32(h + 12, slot_size);
    put_u32(h + 16, block_entries);
    put_u32(h + 20, (facts.only_user_certs ? 1u : 0u) | (facts.only_ca_certs ? 2u : 0u));
    put_u64(h + 24, n);
    put_u64(h + 32, blocks);
    put_u64(h + 40, static_cast<std::uint64_t>(facts.this_update));
    put_u64(h + 48, static_cast<std::uint64_t>(facts.next_update));
    put_u64(h + 56, out.size() - trailer_at);
    std::memcpy(h + 64, facts.crl_sha256.data(), 32);
    std::memcpy(h + 96, facts.issuer_name_sha256.data(), 32);
    std::memcpy(h + 128, facts.signer_spki_sha256.data(), 32);
    ossl::EvpMdCtxPtr md(EVP_MD_CTX_new());
    unsigned int len = 0;
    const bool ok = md && EVP_DigestInit_ex(md.get(), sha256_md(), nullptr) == 1 &&
                    EVP_DigestUpdate(md.get(), h, hashed_header) == 1 &&
                    EVP_DigestUpdate(md.get(), out.data() + fences_at, out.size() - fences_at) == 1 &&
                    EVP_DigestFinal_ex(md.get(), h + hashed_header, &len) == 1;
    if (!ok || len != 32) out.clear();  // the caller reports it
}

// ------------------------------------------------------------------ PEM

// The first "X509 CRL" PEM block's DER. Decoded by OpenSSL's own PEM reader
// (base64 only: the CRL itself is not parsed there), so that a PEM file means
// the same bytes here as to every other OpenSSL program (fuzz finding: a body
// with blank lines in it was read by a hand-written decoder, not by OpenSSL).
Result<std::vector<std::uint8_t>> pem_to_der(Bytes in) {
    if (in.empty()) return refuse("not a DER or PEM CRL (empty)");
    if (in.size() > static_cast<std::size_t>(INT32_MAX)) return refuse("PEM CRL: too large");
    ossl::BioPtr bio(BIO_new_mem_buf(in.data(), static_cast<int>(in.size())));
    if (!bio) return Error(Code::crypto, "BIO_new_mem_buf failed");
    for (;;) {
        char* name = nullptr;
        char* header = nullptr;
        unsigned char* data = nullptr;
        long len = 0;
        if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) break;
        const bool crl = std::string_view(name) == PEM_STRING_X509_CRL;
        const bool headers = header && *header;
        std::vector<std::uint8_t> der;
        if (crl && !headers) der.assign(data, data + len);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        if (crl && headers) {
            ossl::last_error();
            return refuse("PEM CRL: a block with headers (encrypted?) is not a plain CRL");
        }
        if (crl) {
            ossl::last_error();
            return der;
        }
    }
    ossl::last_error();  // the end of the PEM data, or a malformed block
    return refuse("not a DER or PEM CRL (no well-formed \"-----BEGIN X509 CRL-----\" block)");
}

// ------------------------------------------------------------------ the build

struct Parsed {
    Bytes tbs, issuer, sig;
    Tlv sig_alg;
    DerReader revoked{{}, nullptr};
    std::size_t revoked_count = 0;
    bool v2 = false, has_extensions = false;
};

// tbsCertList up to and including the revokedCertificates list (not yet
// walked entry by entry), and the CRL extensions.
Result<Parsed> parse_outer(Bytes der, CrlFacts& facts) {
    const std::uint8_t* base = der.data();
    Parsed p;
    DerReader top(der, base);
    DerReader cl = top.inside(CG_TRY(top.expect(tag_sequence, "CertificateList")));
    CG_TRY_VOID(top.finish("CertificateList (trailing data)"));
    const Tlv tbs = CG_TRY(cl.expect(tag_sequence, "tbsCertList"));
    p.tbs = tbs.whole;
    p.sig_alg = CG_TRY(cl.expect(tag_sequence, "signatureAlgorithm"));
    const Tlv sig = CG_TRY(cl.expect(tag_bit_string, "signatureValue"));
    CG_TRY_VOID(cl.finish("CertificateList"));
    if (sig.content.size() < 2 || sig.content[0] != 0)
        return refuse("CRL DER: signatureValue is empty or not a whole number of octets");
    p.sig = sig.content.subspan(1);

    DerReader t = cl.inside(tbs);
    if (t.peek() == tag_integer) {
        const Tlv v = CG_TRY(t.next("version"));
        // RFC 5280 5.1.2.1: when present, v2 (1).
        if (v.content.size() != 1 || v.content[0] != 1) return refuse("CRL version is not v2");
        p.v2 = true;
    }
    const Tlv inner_alg = CG_TRY(t.expect(tag_sequence, "signature"));
    // RFC 5280 5.1.1.2: the same algorithm inside and outside the signed part.
    if (!equal(inner_alg.whole, p.sig_alg.whole))
        return refuse("CRL signature algorithm in tbsCertList differs from signatureAlgorithm");
    p.issuer = CG_TRY(t.expect(tag_sequence, "issuer")).whole;
    facts.this_update = CG_TRY(read_time(t, "thisUpdate"));
    if (t.peek() != tag_utc_time && t.peek() != tag_generalized_time)
        return refuse("CRL has no nextUpdate (RFC 5280 5.1.2.5)");
    facts.next_update = CG_TRY(read_time(t, "nextUpdate"));
    if (facts.next_update < facts.this_update) return refuse("CRL nextUpdate is before its thisUpdate");
    if (t.peek() == tag_sequence) {
        // Entries are walked later, into the payload; count them now so it is allocated once.
        p.revoked = t.inside(CG_TRY(t.next("revokedCertificates")));
        DerReader count = p.revoked;
        while (!count.empty()) {
            (void)CG_TRY(count.expect(tag_sequence, "revokedCertificates entry"));
            ++p.revoked_count;
        }
    }
    if (t.peek() == context(0, true)) {
        DerReader x = t.inside(CG_TRY(t.next("crlExtensions")));
        std::vector<Extension> exts;
        CG_TRY_VOID(read_extensions(x, "crlExtensions", exts));
        CG_TRY_VOID(x.finish("crlExtensions"));
        CG_TRY_VOID(parse_crl_extensions(exts, base, facts));
        p.has_extensions = true;
    }
    CG_TRY_VOID(t.finish("tbsCertList"));
    return p;
}

// issuer must be the CRL's issuer (RFC 5280 6.3.3 (b), (f)): same name, may sign CRLs.
Result<std::string> check_issuer(const Parsed& p, X509* issuer, CrlFacts& facts) {
    const X509_NAME* subject = X509_get_subject_name(issuer);  // borrowed from issuer
    const std::string who = name_to_string(subject);
    unsigned char* der = nullptr;
    const int n = i2d_X509_NAME(subject, &der);  // allocates der: freed below
    if (n <= 0) return Error(Code::crypto, "i2d_X509_NAME: " + ossl::last_error());
    const bool same = equal(p.issuer, Bytes(der, static_cast<std::size_t>(n)));
    OPENSSL_free(der);
    if (!same) {
        const unsigned char* q = p.issuer.data();
        ossl::X509NamePtr crl_issuer(d2i_X509_NAME(nullptr, &q, static_cast<long>(p.issuer.size())));  // owned
        ossl::last_error();
        return refuse("CRL issuer " + (crl_issuer ? name_to_string(crl_issuer.get()) : std::string("<unparsable>")) +
                      " is not " + who);
    }
    // X509_get_key_usage computes the cached extensions; invalid ones make the issuer unusable.
    const std::uint32_t ku = X509_get_key_usage(issuer);
    if (X509_get_extension_flags(issuer) & EXFLAG_INVALID)
        return refuse("the certificate of " + who + " has invalid extensions");
    if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) && !(ku & KU_CRL_SIGN))
        return refuse("the keyUsage of " + who + " does not include cRLSign (RFC 5280 4.2.1.3)");
    facts.issuer_name_sha256 = sha256(p.issuer);
    facts.signer_spki_sha256 = spki_sha256(issuer);
    return who;
}

}  // namespace

std::vector<std::uint8_t> serial_key(const X509* cert) {
    unsigned char* der = nullptr;
    const int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &der);  // allocates der: freed below
    std::vector<std::uint8_t> out;
    if (n > 0) {
        DerReader r(Bytes(der, static_cast<std::size_t>(n)), der);
        auto t = r.next("serialNumber");
        if (t && t->tag == tag_integer && r.empty()) out.assign(t->content.begin(), t->content.end());
    }
    OPENSSL_free(der);
    return out;
}

Sha256 name_sha256(const X509_NAME* name) {
    unsigned char* der = nullptr;
    const int n = i2d_X509_NAME(name, &der);  // allocates der: freed below
    Sha256 d = n > 0 ? sha256(Bytes(der, static_cast<std::size_t>(n))) : Sha256{};
    OPENSSL_free(der);
    return d;
}

Sha256 spki_sha256(const X509* cert) {
    unsigned char* der = nullptr;
    const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);  // key borrowed from cert; der freed below
    Sha256 d = n > 0 ? sha256(Bytes(der, static_cast<std::size_t>(n))) : Sha256{};
    OPENSSL_free(der);
    return d;
}

// The order: decode, structure and extensions, issuer, signature (only then
// is anything in the list trusted), entries, sort, payload.
Result<std::vector<std::uint8_t>> build_crl_index(std::span<const std::uint8_t> crl, X509* issuer) {
    if (!issuer) return Error(Code::internal, "build_crl_index: no issuer certificate");
    std::vector<std::uint8_t> decoded;
    if (crl.empty() || crl[0] != tag_sequence) {
        decoded = CG_TRY(pem_to_der(crl));
        crl = decoded;
    }
    CrlFacts facts;
    Parsed p = CG_TRY(parse_outer(crl, facts));
    const SigAlg alg = CG_TRY(parse_sig_alg(p.sig_alg, crl.data()));
    const std::string who = CG_TRY(check_issuer(p, issuer, facts));
    EVP_PKEY* key = X509_get0_pubkey(issuer);  // borrowed from issuer
    if (!key) return refuse("the public key of " + who + " cannot be decoded");
    CG_TRY_VOID(verify_signature(p.tbs, p.sig, alg, key, who));
    facts.crl_sha256 = sha256(crl);

    // Entries go straight into their slots in the payload, reserved whole so
    // that appending the tables never reallocates: a copy of the 32 MB of
    // slots of a million entries would double the peak memory.
    std::size_t trailer = 8 + facts.crl_number.size();
    for (const auto& u : facts.idp_uris) trailer += 4 + u.size();
    const std::size_t max_blocks = (p.revoked_count + block_entries - 1) / block_entries;
    std::vector<std::uint8_t> out;
    out.reserve(header_size + p.revoked_count * slot_size + max_blocks * (key_size + 32) + trailer);
    out.resize(header_size + p.revoked_count * slot_size);
    Slot* slots = nullptr;
    std::vector<Extension> scratch;
    for (std::size_t i = 0; i < p.revoked_count; ++i) {
        Slot* s = ::new (out.data() + header_size + i * slot_size) Slot;
        if (i == 0) slots = s;
        Status st = parse_entry(p.revoked, *s, p.has_extensions, scratch);
        if (!st) return refuse("entry " + std::to_string(i + 1) + ": " + st.error().detail());
    }
    CG_TRY_VOID(p.revoked.finish("revokedCertificates"));
    if (p.has_extensions && !p.v2) return refuse("CRL is v1 but has extensions (RFC 5280 5.1.2.1)");

    // A serial listed twice is one revoked certificate: keep the entry with
    // the earliest revocationDate (it was revoked from then on), and the
    // reason of that entry. Refusing the CRL would stop every revocation check
    // for this issuer over a harmless repetition.
    std::size_t n = p.revoked_count;
    if (n > 0) {
        std::sort(slots, slots + n, [](const Slot& a, const Slot& b) {
            const int c = std::memcmp(a.b, b.b, key_size);
            if (c != 0) return c < 0;
            const auto ta = static_cast<std::int64_t>(get_u64(a.b + time_at));
            const auto tb = static_cast<std::int64_t>(get_u64(b.b + time_at));
            return ta != tb ? ta < tb : a.b[reason_at] < b.b[reason_at];
        });
        n = static_cast<std::size_t>(std::unique(slots, slots + n, key_equal) - slots);
    }
    out.resize(header_size + n * slot_size);
    facts.count = n;
    write_payload(out, n, facts);
    if (out.empty()) return Error(Code::crypto, "SHA-256 of the CRL index tables failed");
    return out;
}

// ------------------------------------------------------------------ scope

namespace {

// A BOOLEAN that narrows a CRL's scope counts only when it is exactly DER
// TRUE: a malformed one must not take a refused CRL out of the picture.
bool exactly_true(const Tlv& t) { return t.content.size() == 1 && t.content[0] == 0xFF; }

// issuingDistributionPoint read for its scope only (CrlScope). Whatever
// cannot be read leaves the CRL covering more, never less.
void read_idp_scope(const Extension& x, const std::uint8_t* base, CrlScope& s) {
    auto idp = ext_value(x, tag_sequence, base);
    if (!idp) {
        s.idp_unmatched = true;
        return;
    }
    DerReader r(idp->content, base);
    while (!r.empty()) {
        auto f = r.next("issuingDistributionPoint field");
        if (!f) {
            s.idp_unmatched = true;
            return;
        }
        switch (f->tag & 0x1F) {
        case 0: {
            DerReader dp = r.inside(*f);
            auto name = dp.next("distributionPoint name");
            if (!name || name->tag != context(0, true)) {
                s.idp_unmatched = true;  // nameRelativeToCRLIssuer, or unreadable
                break;
            }
            DerReader names = dp.inside(*name);
            while (!names.empty()) {
                auto gn = names.next("GeneralName");
                if (!gn) {
                    s.idp_unmatched = true;
                    break;
                }
                if (gn->tag == context(6, false)) s.idp_uris.emplace_back(gn->content.begin(), gn->content.end());
                else s.idp_unmatched = true;  // directoryName and the like
            }
            break;
        }
        case 1: s.only_user_certs = exactly_true(*f); break;
        case 2: s.only_ca_certs = exactly_true(*f); break;
        case 3: s.partial_reasons = true; break;
        case 4: s.indirect = !f->content.empty() && f->content[0] != 0; break;
        case 5: s.only_attribute_certs = exactly_true(*f); break;
        default: s.idp_unmatched = true; break;
        }
    }
}

void read_scope_extensions(DerReader& t, const std::uint8_t* base, CrlScope& s) {
    auto outer = t.next("crlExtensions");
    std::vector<Extension> exts;
    if (outer) {
        DerReader x = t.inside(*outer);
        if (!read_extensions(x, "crlExtensions", exts)) exts.clear();
    }
    if (exts.empty()) {
        s.idp_unmatched = true;  // extensions that cannot be read: its scope is unknown
        return;
    }
    for (const Extension& x : exts) {
        if (equal(x.oid, oid_crl_number)) {
            if (auto n = ext_value(x, tag_integer, base); n && minimal_integer(n->content) && non_negative(n->content))
                s.crl_number.assign(n->content.begin(), n->content.end());
        } else if (equal(x.oid, oid_delta_crl)) {
            s.delta = true;
        } else if (equal(x.oid, oid_idp)) {
            read_idp_scope(x, base, s);
        }
    }
    // Both flags set is no scope RFC 5280 allows: it narrows nothing.
    if (s.only_user_certs && s.only_ca_certs) s.only_user_certs = s.only_ca_certs = false;
}

// Whether `issuer` signed tbs: verified, failed (not its CRL), or
// unverifiable (an algorithm or key cardgate does not accept).
// Only a signature that cardgate could check, with a key that fits its
// algorithm, and that is simply weak or of an algorithm it does not accept,
// is "unverifiable"; a malformed signature or an algorithm that does not fit
// the issuer's key cannot be the issuer's: "failed".
CrlScope::Signature scope_signature(Bytes tbs, const Tlv& sig_alg, Bytes sig_bits, X509* issuer) {
    const X509_NAME* subject = X509_get_subject_name(issuer);  // borrowed from issuer
    EVP_PKEY* key = X509_get0_pubkey(issuer);                  // borrowed from issuer
    if (!key || sig_bits.size() < 2 || sig_bits[0] != 0) {
        ossl::last_error();
        return CrlScope::Signature::failed;
    }
    auto alg = parse_sig_alg(sig_alg, sig_alg.whole.data());
    if (!alg) {
        // Which key type the unaccepted algorithm is for: a SHA-1 or MD5
        // RSA signature from an RSA issuer may be its own; anything else not.
        ossl::last_error();
        const bool rsa_family = sig_alg.content.size() >= 2 + 9 && sig_alg.content[0] == tag_oid &&
                                std::memcmp(sig_alg.content.data() + 2, oid_rsa_sha256, 8) == 0;
        const bool ec_family = sig_alg.content.size() >= 2 + 7 && sig_alg.content[0] == tag_oid &&
                               std::memcmp(sig_alg.content.data() + 2, oid_ecdsa_sha256, 5) == 0;
        if ((rsa_family && EVP_PKEY_is_a(key, "RSA")) || (ec_family && EVP_PKEY_is_a(key, "EC")))
            return CrlScope::Signature::unverifiable;
        return CrlScope::Signature::failed;
    }
    const bool fits = EVP_PKEY_is_a(key, alg->key_type) || (alg->kind == SigKind::rsa_pss && EVP_PKEY_is_a(key, "RSA-PSS"));
    if (!fits) return CrlScope::Signature::failed;
    const std::string who = name_to_string(subject);
    if (!check_key(key, *alg, who)) return CrlScope::Signature::unverifiable;  // a key too small to be trusted
    auto ok = verify_signature(tbs, sig_bits.subspan(1), *alg, key, who);
    if (ok) return CrlScope::Signature::verified;
    return ok.error().code() == Code::crypto ? CrlScope::Signature::unverifiable : CrlScope::Signature::failed;
}

// RFC 5280 7.1: names compared as OpenSSL canonicalises them, so that a
// CRL whose issuer is encoded otherwise (PrintableString vs UTF8String) is
// still placed.
bool same_name(Bytes der, X509* issuer) {
    const unsigned char* p = der.data();
    ossl::X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));  // owned
    ossl::last_error();
    return name && p == der.data() + der.size() &&
           X509_NAME_cmp(name.get(), X509_get_subject_name(issuer)) == 0;  // get: borrowed
}

}  // namespace

Result<CrlScope> read_crl_scope(std::span<const std::uint8_t> crl, X509* issuer) {
    if (!issuer) return Error(Code::internal, "read_crl_scope: no issuer certificate");
    std::vector<std::uint8_t> decoded;
    if (crl.empty() || crl[0] != tag_sequence) {
        decoded = CG_TRY(pem_to_der(crl));
        crl = decoded;
    }
    const std::uint8_t* base = crl.data();
    DerReader top(crl, base);
    DerReader cl = top.inside(CG_TRY(top.expect(tag_sequence, "CertificateList")));
    const Tlv tbs = CG_TRY(cl.expect(tag_sequence, "tbsCertList"));
    DerReader t = cl.inside(tbs);
    if (t.peek() == tag_integer) (void)CG_TRY(t.next("version"));
    (void)CG_TRY(t.expect(tag_sequence, "signature"));
    const Bytes issuer_name = CG_TRY(t.expect(tag_sequence, "issuer")).whole;
    CrlScope s;
    const bool named = same_name(issuer_name, issuer);
    // The issuer's own encoding of its name when they compare equal: what
    // the caller compares with (name_sha256 of the certificate's issuer).
    s.issuer_name_sha256 = named ? name_sha256(X509_get_subject_name(issuer)) : sha256(issuer_name);
    s.this_update = CG_TRY(read_time(t, "thisUpdate"));
    if (t.peek() == tag_utc_time || t.peek() == tag_generalized_time) (void)read_time(t, "nextUpdate");
    if (t.peek() == tag_sequence) (void)t.next("revokedCertificates");
    if (t.peek() == context(0, true)) read_scope_extensions(t, base, s);
    else if (!t.empty()) s.idp_unmatched = true;  // something unreadable where the extensions belong

    auto sig_alg = cl.expect(tag_sequence, "signatureAlgorithm");
    auto sig = sig_alg ? cl.expect(tag_bit_string, "signatureValue") : Result<Tlv>(sig_alg.error());
    s.signature = !named ? CrlScope::Signature::failed
                  : sig  ? scope_signature(tbs.whole, *sig_alg, sig->content, issuer)
                         : CrlScope::Signature::unverifiable;
    if (s.signature == CrlScope::Signature::verified) s.signer_spki_sha256 = spki_sha256(issuer);
    return s;
}

// ------------------------------------------------------------------ the view

Result<CrlIndexView> CrlIndexView::open(std::span<const std::uint8_t> payload) {
    if (payload.size() < header_size) return corrupt("shorter than its header");
    const std::uint8_t* h = payload.data();
    if (std::memcmp(h, magic, sizeof magic) != 0) return corrupt("bad magic");
    if (get_u32(h + 8) != layout_version) return corrupt("layout version " + std::to_string(get_u32(h + 8)));
    if (get_u32(h + 12) != slot_size) return corrupt("slot size");
    const std::uint32_t per_block = get_u32(h + 16), flags = get_u32(h + 20);
    if (per_block == 0 || per_block > max_block_entries) return corrupt("entries per block");
    if (flags & ~3u) return corrupt("unknown flags");
    const std::uint64_t count = get_u64(h + 24), blocks = get_u64(h + 32), trailer = get_u64(h + 56);
    // Every size is bounded by the payload before it is multiplied.
    const std::size_t room = payload.size() - header_size;
    if (count > room / slot_size || blocks != (count + per_block - 1) / per_block ||
        blocks > room / (key_size + 32) || trailer > room)
        return corrupt("counts do not fit its size");
    const std::size_t fences_at = header_size + count * slot_size;
    const std::size_t hashes_at = fences_at + blocks * key_size;
    const std::size_t trailer_at = hashes_at + blocks * 32;
    if (trailer_at > payload.size() || payload.size() - trailer_at != trailer)
        return corrupt("size " + std::to_string(payload.size()) + " does not match its counts");

    ossl::EvpMdCtxPtr md(EVP_MD_CTX_new());
    std::uint8_t digest[32];
    unsigned int len = 0;
    if (!md || EVP_DigestInit_ex(md.get(), sha256_md(), nullptr) != 1 ||
        EVP_DigestUpdate(md.get(), h, hashed_header) != 1 ||
        EVP_DigestUpdate(md.get(), h + fences_at, payload.size() - fences_at) != 1 ||
        EVP_DigestFinal_ex(md.get(), digest, &len) != 1 || len != 32)
        return Error(Code::crypto, "SHA-256 of the CRL index tables failed");
    if (CRYPTO_memcmp(digest, h + hashed_header, 32) != 0) return corrupt("header and tables do not match their hash");

    CrlIndexView v;
    v.payload_ = payload;
    v.block_entries_ = per_block;
    v.slots_ = payload.subspan(header_size, count * slot_size);
    v.fences_ = payload.subspan(fences_at, blocks * key_size);
    v.block_hashes_ = payload.subspan(hashes_at, blocks * 32);
    CrlFacts& f = v.facts_;
    f.count = count;
    f.only_user_certs = flags & 1;
    f.only_ca_certs = flags & 2;
    f.this_update = static_cast<std::int64_t>(get_u64(h + 40));
    f.next_update = static_cast<std::int64_t>(get_u64(h + 48));
    std::memcpy(f.crl_sha256.data(), h + 64, 32);
    std::memcpy(f.issuer_name_sha256.data(), h + 96, 32);
    std::memcpy(f.signer_spki_sha256.data(), h + 128, 32);
    if (f.next_update < f.this_update) return corrupt("nextUpdate before thisUpdate");

    // Fences: well-formed keys in strictly increasing order, so that the
    // search over them is a search.
    for (std::size_t b = 0; b < blocks; ++b) {
        const std::uint8_t* k = h + fences_at + b * key_size;
        if (k[0] == 0 || k[0] > max_serial) return corrupt("fence " + std::to_string(b) + " has a bad length");
        if (b > 0 && std::memcmp(k - key_size, k, key_size) >= 0) return corrupt("fences are not sorted");
    }

    Bytes t = payload.subspan(trailer_at);
    auto field = [&t](Bytes& out) {
        if (t.size() < 4) return false;
        const std::uint32_t n = get_u32(t.data());
        if (n > max_trailer_string || n > t.size() - 4) return false;
        out = t.subspan(4, n);
        t = t.subspan(4 + n);
        return true;
    };
    Bytes num;
    if (!field(num) || num.size() > 21) return corrupt("bad cRLNumber");
    f.crl_number.assign(num.begin(), num.end());
    if (t.size() < 4) return corrupt("truncated URI list");
    const std::uint32_t uris = get_u32(t.data());
    t = t.subspan(4);
    if (uris > t.size() / 4) return corrupt("URI count");
    for (std::uint32_t i = 0; i < uris; ++i) {
        Bytes u;
        if (!field(u)) return corrupt("truncated URI");
        f.idp_uris.emplace_back(u.begin(), u.end());
    }
    if (!t.empty()) return corrupt("trailing octets");
    return v;
}

Result<std::optional<RevokedEntry>> CrlIndexView::find(std::span<const std::uint8_t> serial) const {
    // Longer serials cannot be in an index: build_crl_index refuses CRLs that list one.
    if (serial.empty() || serial.size() > max_serial || facts_.count == 0) return std::optional<RevokedEntry>{};
    Slot key{};
    key.b[0] = static_cast<std::uint8_t>(serial.size());
    std::memcpy(key.b + 1, serial.data(), serial.size());

    // The last block whose first key is <= the serial.
    const std::size_t blocks = fences_.size() / key_size;
    std::size_t lo = 0, hi = blocks;  // invariant: fence[lo-1] <= key < fence[hi]
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (std::memcmp(fences_.data() + mid * key_size, key.b, key_size) <= 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return std::optional<RevokedEntry>{};
    const std::size_t b = lo - 1;

    const std::size_t first = b * block_entries_;
    const std::size_t n = std::min<std::size_t>(block_entries_, facts_.count - first);
    const Bytes block = slots_.subspan(first * slot_size, n * slot_size);
    const Sha256 h = sha256(block);
    if (CRYPTO_memcmp(h.data(), block_hashes_.data() + b * 32, 32) != 0)
        return corrupt("block " + std::to_string(b) + " does not match its hash");
    // The block must be what the fences say: it starts at its fence, is
    // sorted, and ends below the next fence.
    if (std::memcmp(block.data(), fences_.data() + b * key_size, key_size) != 0)
        return corrupt("block " + std::to_string(b) + " does not start at its fence");
    for (std::size_t i = 1; i < n; ++i)
        if (std::memcmp(block.data() + (i - 1) * slot_size, block.data() + i * slot_size, key_size) >= 0)
            return corrupt("block " + std::to_string(b) + " is not sorted");
    if (b + 1 < blocks &&
        std::memcmp(block.data() + (n - 1) * slot_size, fences_.data() + (b + 1) * key_size, key_size) >= 0)
        return corrupt("block " + std::to_string(b) + " overlaps the next");

    std::size_t l = 0, r = n;
    while (l < r) {
        const std::size_t mid = l + (r - l) / 2;
        const int c = std::memcmp(block.data() + mid * slot_size, key.b, key_size);
        if (c == 0) {
            const std::uint8_t* s = block.data() + mid * slot_size;
            RevokedEntry e;
            e.revoked_at = static_cast<std::int64_t>(get_u64(s + time_at));
            e.reason = s[reason_at] == no_reason ? -1 : s[reason_at];
            if (e.reason > 10) return corrupt("block " + std::to_string(b) + " has a bad reason");
            return std::optional<RevokedEntry>(e);
        }
        if (c < 0) l = mid + 1;
        else r = mid;
    }
    return std::optional<RevokedEntry>{};
}

}  // namespace cardgate
