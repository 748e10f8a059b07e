#include "template.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "dn.hpp"
#include "ossl.hpp"
#include "text.hpp"

namespace cardgate {
namespace {

constexpr std::string_view subject_prefix = "subject.";


bool fixed_field(std::string_view f) {
    static constexpr std::array<std::string_view, 5> fixed{"san.email", "san.email.local", "san.upn",
                                                           "san.upn.local", "serial"};
    return std::find(fixed.begin(), fixed.end(), f) != fixed.end();
}

// The only value in `values`, or why there is not exactly one.
FieldValue only_one(const std::vector<std::string>& values, std::string_view what) {
    if (values.empty()) return {std::nullopt, std::string(what) + " is missing"};
    if (values.size() > 1)
        return {std::nullopt, std::string(what) + " occurs " + std::to_string(values.size()) + " times"};
    // IA5String (email) and UTF8String (UPN) bytes as the certificate holds them.
    if (!valid_utf8(values.front())) return {std::nullopt, std::string(what) + " is not valid UTF-8"};
    if (values.front().empty()) return {std::nullopt, std::string(what) + " is empty"};
    return {values.front(), ""};
}

FieldValue local_part(FieldValue v, std::string_view what) {
    if (!v.value) return v;
    const auto at = v.value->find('@');
    if (at == std::string::npos || at == 0 || v.value->find('@', at + 1) != std::string::npos)
        return {std::nullopt, std::string(what) + " is not of the form local@domain"};
    v.value->resize(at);
    return v;
}

// The UTF-8 text of a name entry's value, or why it is unusable.
FieldValue entry_text(const X509_NAME_ENTRY* e, std::string_view what) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(e);  // borrowed
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, data);  // allocates utf8 (owned below)
    if (n < 0) {
        ERR_clear_error();
        return {std::nullopt, std::string(what) + " is not a text value"};
    }
    std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
    OPENSSL_free(utf8);
    if (out.find('\0') != std::string::npos) return {std::nullopt, std::string(what) + " contains a NUL byte"};
    if (!valid_utf8(out)) return {std::nullopt, std::string(what) + " is not valid UTF-8"};
    if (out.empty()) return {std::nullopt, std::string(what) + " is empty"};
    return {std::move(out), ""};
}

}  // namespace

std::string template_problem(std::string_view t) {
    if (t.empty()) return "is empty";
    if (t.size() > 256) return "is longer than 256 characters";
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] == '\0') return "contains a NUL byte";
        if (t[i] == '}') return "unbalanced '}' at offset " + std::to_string(i);
        if (t[i] != '{') continue;
        const std::size_t close = t.find('}', i + 1);
        const std::size_t open = t.find('{', i + 1);
        if (close == std::string_view::npos) return "unbalanced '{' at offset " + std::to_string(i);
        if (open < close) return "nested '{' at offset " + std::to_string(open);
        const std::string_view field = t.substr(i + 1, close - i - 1);
        const bool subject = field.rfind(subject_prefix, 0) == 0;
        if (!fixed_field(field) && !(subject && attribute_type(field.substr(subject_prefix.size()))))
            return "unknown field {" + std::string(field) +
                   "} (use {subject.ATTR} with an attribute such as uid, cn, ou or a dotted OID, {san.email}, "
                   "{san.email.local}, {san.upn}, {san.upn.local} or {serial})";
        i = close;
    }
    return "";
}

std::vector<std::string> template_fields(std::string_view t) {
    std::vector<std::string> out;
    for (std::size_t i = t.find('{'); i != std::string_view::npos; i = t.find('{', i + 1)) {
        const std::size_t close = t.find('}', i + 1);
        if (close == std::string_view::npos) break;
        out.emplace_back(t.substr(i + 1, close - i - 1));
        i = close;
    }
    return out;
}

FieldValue read_field(const Certificate& cert, std::string_view field) {
    if (field == "serial") return {cert.serial_hex(), ""};
    if (field == "san.email") return only_one(cert.emails(), "SAN email");
    if (field == "san.email.local") return local_part(only_one(cert.emails(), "SAN email"), "SAN email");
    if (field == "san.upn") return only_one(cert.upns(), "SAN UPN");
    if (field == "san.upn.local") return local_part(only_one(cert.upns(), "SAN UPN"), "SAN UPN");
    if (field.rfind(subject_prefix, 0) != 0) return {std::nullopt, "unknown field {" + std::string(field) + "}"};

    const std::string_view attr = field.substr(subject_prefix.size());
    const std::string what = "subject " + std::string(attr);
    auto obj = attribute_type(attr);
    if (!obj) return {std::nullopt, "unknown attribute " + std::string(attr)};
    const X509_NAME* name = X509_get_subject_name(cert.x509());  // borrowed
    const X509_NAME_ENTRY* found = nullptr;
    int count = 0;
    for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
        const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);  // borrowed
        if (OBJ_cmp(X509_NAME_ENTRY_get_object(e), obj.get()) != 0) continue;
        found = e;
        ++count;
    }
    if (count == 0) return {std::nullopt, what + " is missing"};
    if (count > 1) return {std::nullopt, what + " occurs " + std::to_string(count) + " times"};
    return entry_text(found, what);
}

Expansion expand_template(std::string_view t, const Certificate& cert, bool lowercase) {
    std::string out;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] != '{') {
            out.push_back(t[i]);
            continue;
        }
        const std::size_t close = t.find('}', i + 1);
        if (close == std::string_view::npos) return {std::nullopt, "malformed template"};
        FieldValue v = read_field(cert, t.substr(i + 1, close - i - 1));
        if (!v.value) return {std::nullopt, v.why};
        out += *v.value;
        i = close;
    }
    if (lowercase)
        std::transform(out.begin(), out.end(), out.begin(),
                       [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    return {std::move(out), ""};
}

std::vector<std::string> subject_values(const Certificate& cert, std::string_view attribute) {
    std::vector<std::string> out;
    auto obj = attribute_type(attribute);
    if (!obj) return out;
    const X509_NAME* name = X509_get_subject_name(cert.x509());  // borrowed
    for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
        const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);  // borrowed
        if (OBJ_cmp(X509_NAME_ENTRY_get_object(e), obj.get()) != 0) continue;
        if (auto v = entry_text(e, attribute); v.value) out.push_back(std::move(*v.value));
    }
    return out;
}

}  // namespace cardgate
