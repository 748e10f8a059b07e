#include "dn.hpp"

#include "text.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <openssl/err.h>
#include <openssl/objects.h>

namespace cardgate {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

struct Ava {
    std::string type;
    std::string value;
    std::size_t offset;  // of the type, for messages
};

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char x = a[i], y = b[i];
        if (is_alpha(x) && is_alpha(y) ? (x | 0x20) != (y | 0x20) : x != y) return false;
    }
    return true;
}

Error bad(std::string why) { return Error(Code::config_value, std::move(why)); }

}  // namespace

ossl::Asn1ObjectPtr attribute_type(std::string_view attr) {
    if (attr.empty() || attr.size() > 64) return nullptr;
    const std::string a(attr);
    if (is_digit(a.front())) {
        if (!std::all_of(a.begin(), a.end(), [](char c) { return is_digit(c) || c == '.'; })) return nullptr;
        ossl::Asn1ObjectPtr o(OBJ_txt2obj(a.c_str(), 1));  // owned; numeric form only
        // Only the canonical spelling: OpenSSL also takes "1..2" or "2.5.04.3".
        char buf[128];
        const int n = o ? OBJ_obj2txt(buf, sizeof buf, o.get(), 1) : 0;
        ERR_clear_error();
        if (n <= 0 || static_cast<std::size_t>(n) >= sizeof buf || a != std::string_view(buf, static_cast<std::size_t>(n)))
            return nullptr;
        return o;
    }
    if (!std::all_of(a.begin(), a.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; }))
        return nullptr;
    // RFC 4519 names (and RFC 4514 section 3's table) before OpenSSL's own.
    static constexpr std::pair<std::string_view, int> ldap[] = {
        {"cn", NID_commonName},          {"commonName", NID_commonName},
        {"uid", NID_userId},             {"userid", NID_userId},
        {"ou", NID_organizationalUnitName}, {"o", NID_organizationName},
        {"c", NID_countryName},          {"l", NID_localityName},
        {"st", NID_stateOrProvinceName}, {"street", NID_streetAddress},
        {"dc", NID_domainComponent},     {"sn", NID_surname},
        {"givenName", NID_givenName},    {"title", NID_title},
        {"serialNumber", NID_serialNumber}, {"email", NID_pkcs9_emailAddress},
        {"emailAddress", NID_pkcs9_emailAddress},
    };
    for (const auto& [n, nid] : ldap)
        if (iequal(n, a)) return ossl::Asn1ObjectPtr(OBJ_nid2obj(nid));  // static object; freeing is a no-op
    const int exact = OBJ_txt2nid(a.c_str());
    if (exact != NID_undef) return ossl::Asn1ObjectPtr(OBJ_nid2obj(exact));
    ERR_clear_error();
    const int count = OBJ_new_nid(0);  // one past the highest NID in use
    for (int nid = 1; nid < count; ++nid) {
        const char* sn = OBJ_nid2sn(nid);
        const char* ln = OBJ_nid2ln(nid);
        if ((sn && iequal(sn, a)) || (ln && iequal(ln, a))) return ossl::Asn1ObjectPtr(OBJ_nid2obj(nid));
    }
    ERR_clear_error();
    return nullptr;
}

Result<ossl::X509NamePtr> parse_dn(std::string_view dn) {
    if (dn.empty()) return bad("is empty");
    std::vector<std::vector<Ava>> rdns(1);
    std::size_t i = 0;
    for (;;) {
        Ava ava;
        ava.offset = i;
        const std::size_t type_start = i;
        if (i < dn.size() && is_alpha(dn[i])) {
            while (i < dn.size() && (is_alpha(dn[i]) || is_digit(dn[i]) || dn[i] == '-')) ++i;
        } else if (i < dn.size() && is_digit(dn[i])) {
            while (i < dn.size() && (is_digit(dn[i]) || dn[i] == '.')) ++i;
        }
        if (i == type_start || i >= dn.size() || dn[i] != '=')
            return bad("expected an attribute type and '=' at offset " + std::to_string(type_start) +
                       " (no spaces after ','; e.g. \"CN=Example Issuing CA,O=Example Corp\")");
        ava.type.assign(dn.substr(type_start, i - type_start));
        ++i;
        if (i < dn.size() && dn[i] == '#')
            return bad("hex-encoded value at offset " + std::to_string(i) + " is not supported; write the value as text");
        while (i < dn.size() && dn[i] != ',' && dn[i] != '+') {
            const char c = dn[i];
            if (c == '\\') {
                if (i + 1 >= dn.size()) return bad("dangling '\\' at the end");
                const char e = dn[i + 1];
                if (hex_value(e) >= 0) {
                    if (i + 2 >= dn.size() || hex_value(dn[i + 2]) < 0)
                        return bad("bad escape at offset " + std::to_string(i));
                    ava.value.push_back(static_cast<char>(hex_value(e) * 16 + hex_value(dn[i + 2])));
                    i += 3;
                    continue;
                }
                if (std::string_view(" \"#+,;<=>\\").find(e) == std::string_view::npos)
                    return bad("bad escape at offset " + std::to_string(i));
                ava.value.push_back(e);
                i += 2;
                continue;
            }
            if (c == '"' || c == ';' || c == '<' || c == '>' || c == '\0')
                return bad(std::string("unescaped '") + (c ? std::string(1, c) : "\\0") + "' at offset " +
                           std::to_string(i));
            ava.value.push_back(c);
            ++i;
        }
        if (ava.value.empty()) return bad("empty value for " + ava.type + " at offset " + std::to_string(ava.offset));
        if (ava.value.find('\0') != std::string::npos)
            return bad("value of " + ava.type + " at offset " + std::to_string(ava.offset) + " contains a NUL byte");
        if (!valid_utf8(ava.value))
            return bad("value of " + ava.type + " at offset " + std::to_string(ava.offset) + " is not UTF-8");
        rdns.back().push_back(std::move(ava));
        if (i >= dn.size()) break;
        const char sep = dn[i++];
        if (i >= dn.size()) return bad("ends with a separator");
        if (sep == ',') rdns.emplace_back();
    }

    ossl::X509NamePtr name(X509_NAME_new());
    if (!name) return Error(Code::crypto, "X509_NAME_new failed");
    // RFC 4514 writes the most specific RDN first; an X509_NAME stores the
    // least specific first.
    for (auto r = rdns.rbegin(); r != rdns.rend(); ++r) {
        bool first = true;
        for (const Ava& a : *r) {
            ossl::Asn1ObjectPtr obj = attribute_type(a.type);
            if (!obj) {
                return bad("unknown attribute type \"" + a.type + "\" at offset " + std::to_string(a.offset) +
                           " (use a name such as CN, O, OU, UID, DC or a dotted OID)");
            }
            // set = 0 starts a new RDN at the end; -1 adds to the last one.
            if (!X509_NAME_add_entry_by_OBJ(name.get(), obj.get(), MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(a.value.data()),
                                            static_cast<int>(a.value.size()), -1, first ? 0 : -1)) {
                ERR_clear_error();
                return bad("value of " + a.type + " at offset " + std::to_string(a.offset) +
                           " is not allowed for that attribute (length or characters)");
            }
            first = false;
        }
    }
    return name;
}

bool same_dn(const X509_NAME* a, const X509_NAME* b) {
    const int r = X509_NAME_cmp(a, b);
    ERR_clear_error();  // -2 on an encoding error counts as different
    return r == 0;
}

std::uint32_t dn_hash(const X509_NAME* name) {
    int ok = 0;
    const unsigned long h = X509_NAME_hash_ex(name, nullptr, nullptr, &ok);
    if (!ok) ERR_clear_error();
    return static_cast<std::uint32_t>(h);
}

}  // namespace cardgate
