#include "pkcs11/uri.hpp"

#include <array>
#include <cstring>

namespace cardgate::p11 {
namespace {

constexpr std::string_view kScheme = "pkcs11:";

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}
// RFC 7512 §2.3 pk11-path-res-avail (plus "&", which pk11-pchar also allows).
bool is_path_char(unsigned char c) {
    return is_unreserved(c) || std::strchr(":[]@!$'()*+,=&", c) != nullptr;
}
// RFC 7512 §2.3 pk11-query-res-avail.
bool is_query_char(unsigned char c) {
    return is_unreserved(c) || std::strchr(":[]@!$'()*+,=/?|;", c) != nullptr;
}
// What to_string() leaves unencoded: a conservative subset of the above.
bool keep_in_path(unsigned char c) { return is_unreserved(c) || std::strchr(":@!$'()*+,", c) != nullptr; }
bool keep_in_query(unsigned char c) { return is_unreserved(c) || std::strchr(":@!$'()*+,/", c) != nullptr; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

Error syntax(std::string_view attr, std::size_t offset, std::string_view what) {
    std::string d;
    if (!attr.empty()) {
        d += "attribute '";
        d += attr;
        d += "' ";
    }
    d += "at offset " + std::to_string(offset) + ": ";
    d += what;
    return Error(Code::uri_syntax, std::move(d));
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (c < 0x80) { ++i; continue; }
        if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
        else return false;
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size()) return false;
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        // overlong forms, surrogates, beyond U+10FFFF
        static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

// Decodes value (starting at `offset` of the input) byte by byte into sink(c).
template <class Sink>
Status decode(std::string_view attr, std::string_view value, std::size_t offset, bool query, bool allow_nul,
              Sink&& sink) {
    for (std::size_t i = 0; i < value.size(); ++i) {
        auto c = static_cast<unsigned char>(value[i]);
        if (c == '%') {
            if (i + 2 >= value.size())
                return syntax(attr, offset + i, "truncated percent escape");
            int hi = hex_value(value[i + 1]), lo = hex_value(value[i + 2]);
            if (hi < 0 || lo < 0) return syntax(attr, offset + i, "bad percent escape");
            auto b = static_cast<unsigned char>(hi * 16 + lo);
            if (b == 0 && !allow_nul) return syntax(attr, offset + i, "NUL byte (%00) not allowed");
            if (!sink(b)) return syntax(attr, offset + i, "value too long");
            i += 2;
            continue;
        }
        if (!(query ? is_query_char(c) : is_path_char(c)))
            return syntax(attr, offset + i, "character not allowed in a pkcs11: URI value");
        if (!sink(c)) return syntax(attr, offset + i, "value too long");
    }
    return {};
}

Result<std::string> decode_text(std::string_view attr, std::string_view value, std::size_t offset, bool query) {
    std::string out;
    CG_TRY_VOID(decode(attr, value, offset, query, false, [&](unsigned char c) {
        out.push_back(static_cast<char>(c));
        return true;
    }));
    if (!valid_utf8(out)) return syntax(attr, offset, "value is not valid UTF-8");
    return out;
}

Result<CK_SLOT_ID> decode_slot_id(std::string_view attr, std::string_view value, std::size_t offset) {
    if (value.empty() || value.size() > 19) return syntax(attr, offset, "expected a decimal slot number");
    CK_SLOT_ID v = 0;
    for (char c : value) {
        if (c < '0' || c > '9') return syntax(attr, offset, "expected a decimal slot number");
        v = v * 10 + static_cast<CK_SLOT_ID>(c - '0');
    }
    return v;
}

bool valid_version(std::string_view v) {
    // RFC 7512: "M" or "M.N", decimal
    auto dot = v.find('.');
    auto digits = [](std::string_view s) {
        if (s.empty() || s.size() > 3) return false;
        for (char c : s)
            if (c < '0' || c > '9') return false;
        return true;
    };
    if (dot == std::string_view::npos) return digits(v);
    return digits(v.substr(0, dot)) && digits(v.substr(dot + 1));
}

Result<ObjectClass> decode_type(std::string_view attr, std::string_view value, std::size_t offset) {
    auto text = CG_TRY(decode_text(attr, value, offset, false));
    for (auto c : {ObjectClass::certificate, ObjectClass::private_key, ObjectClass::public_key,
                   ObjectClass::secret_key, ObjectClass::data})
        if (text == class_name(c)) return c;
    return syntax(attr, offset, "expected cert, private, public, secret-key or data");
}

template <class T>
Status set_once(std::optional<T>& slot, T value, std::string_view attr, std::size_t offset) {
    if (slot) return syntax(attr, offset, "attribute given twice");
    slot = std::move(value);
    return {};
}

Status parse_path_attr(Uri& u, std::string_view name, std::string_view value, std::size_t at, std::size_t vat) {
    struct Text {
        std::string_view name;
        std::optional<std::string> Uri::*field;
    };
    static const Text kText[] = {
        {"token", &Uri::token},
        {"manufacturer", &Uri::manufacturer},
        {"serial", &Uri::serial},
        {"model", &Uri::model},
        {"library-manufacturer", &Uri::library_manufacturer},
        {"library-description", &Uri::library_description},
        {"slot-description", &Uri::slot_description},
        {"slot-manufacturer", &Uri::slot_manufacturer},
        {"object", &Uri::object},
    };
    for (const auto& t : kText)
        if (name == t.name) return set_once(u.*t.field, CG_TRY(decode_text(name, value, vat, false)), name, at);
    if (name == "library-version") {
        auto v = CG_TRY(decode_text(name, value, vat, false));
        if (!valid_version(v)) return syntax(name, vat, "expected a version like 2 or 2.40");
        return set_once(u.library_version, std::move(v), name, at);
    }
    if (name == "slot-id") return set_once(u.slot_id, CG_TRY(decode_slot_id(name, value, vat)), name, at);
    if (name == "type") return set_once(u.type, CG_TRY(decode_type(name, value, vat)), name, at);
    if (name == "id") {
        std::vector<std::uint8_t> bytes;
        CG_TRY_VOID(decode(name, value, vat, false, true, [&](unsigned char c) {
            bytes.push_back(c);
            return true;
        }));
        return set_once(u.id, std::move(bytes), name, at);
    }
    return syntax(name, at, "unknown path attribute");
}

Status parse_query_attr(Uri& u, std::string_view name, std::string_view value, std::size_t at, std::size_t vat) {
    if (name == "pin-value") {
        if (u.pin_value) return syntax(name, at, "attribute given twice");
        // Straight into secret storage: no std::string ever holds the PIN.
        auto pin = std::make_shared<SecretBuffer>(value.size());
        CG_TRY_VOID(decode(name, value, vat, true, false, [&](unsigned char c) { return pin->push_back(c); }));
        u.pin_value = std::move(pin);
        return {};
    }
    if (name == "pin-source") return set_once(u.pin_source, CG_TRY(decode_text(name, value, vat, true)), name, at);
    if (name == "module-path") return set_once(u.module_path, CG_TRY(decode_text(name, value, vat, true)), name, at);
    if (name == "module-name") return set_once(u.module_name, CG_TRY(decode_text(name, value, vat, true)), name, at);
    return syntax(name, at, "unknown query attribute");
}

// Splits `part` (starting at `base`) on `sep` and hands each name=value to f.
template <class F>
Status for_each_attr(std::string_view part, std::size_t base, char sep, F&& f) {
    std::size_t pos = 0;
    while (true) {
        auto end = part.find(sep, pos);
        auto item = part.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        if (item.empty()) return syntax({}, base + pos, "empty attribute");
        auto eq = item.find('=');
        if (eq == std::string_view::npos) return syntax({}, base + pos, "attribute without '='");
        auto name = item.substr(0, eq);
        if (name.empty()) return syntax({}, base + pos, "attribute without a name");
        for (char c : name)
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                return syntax({}, base + pos, "invalid attribute name");
        CG_TRY_VOID(f(name, item.substr(eq + 1), base + pos, base + pos + eq + 1));
        if (end == std::string_view::npos) return {};
        pos = end + 1;
    }
}

void encode(std::string& out, std::string_view value, bool (*keep)(unsigned char)) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char ch : value) {
        auto c = static_cast<unsigned char>(ch);
        if (keep(c)) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
}

bool encode_nothing(unsigned char) { return false; }

class Builder {
public:
    void path(std::string_view name, const std::optional<std::string>& v) {
        if (v) path_raw(name, *v, keep_in_path);
    }
    void path_raw(std::string_view name, std::string_view v, bool (*keep)(unsigned char)) {
        if (!first_path_) out_ += ';';
        first_path_ = false;
        out_ += name;
        out_ += '=';
        encode(out_, v, keep);
    }
    void query(std::string_view name, const std::optional<std::string>& v) {
        if (!v) return;
        out_ += first_query_ ? '?' : '&';
        first_query_ = false;
        out_ += name;
        out_ += '=';
        encode(out_, *v, keep_in_query);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_{kScheme};
    bool first_path_ = true;
    bool first_query_ = true;
};

template <class T>
bool eq_if(const std::optional<T>& want, const T& have) {
    return !want || *want == have;
}

}  // namespace

Result<Uri> Uri::parse(std::string_view text) {
    if (text.size() > kMaxUriLength)
        return syntax({}, kMaxUriLength, "URI longer than " + std::to_string(kMaxUriLength) + " bytes");
    if (text.size() < kScheme.size()) return syntax({}, 0, "missing \"pkcs11:\" prefix");
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');  // RFC 3986 §3.1: scheme is case-insensitive
        if (c != kScheme[i]) return syntax({}, 0, "missing \"pkcs11:\" prefix");
    }
    Uri u;
    auto rest = text.substr(kScheme.size());
    auto q = rest.find('?');
    auto path = rest.substr(0, q);
    if (!path.empty())
        CG_TRY_VOID(for_each_attr(path, kScheme.size(), ';',
                                  [&](std::string_view n, std::string_view v, std::size_t at, std::size_t vat) {
                                      return parse_path_attr(u, n, v, at, vat);
                                  }));
    if (q != std::string_view::npos) {
        auto query = rest.substr(q + 1);
        std::size_t base = kScheme.size() + q + 1;
        if (query.empty()) return syntax({}, base, "empty query");
        CG_TRY_VOID(for_each_attr(query, base, '&',
                                  [&](std::string_view n, std::string_view v, std::size_t at, std::size_t vat) {
                                      return parse_query_attr(u, n, v, at, vat);
                                  }));
    }
    if (u.pin_value && u.pin_source)
        return syntax("pin-value", kScheme.size(), "pin-value and pin-source together are ambiguous");
    return u;
}

std::string Uri::to_string() const {
    Builder b;
    b.path("token", token);
    b.path("manufacturer", manufacturer);
    b.path("model", model);
    b.path("serial", serial);
    b.path("library-manufacturer", library_manufacturer);
    b.path("library-description", library_description);
    b.path("library-version", library_version);
    b.path("slot-description", slot_description);
    b.path("slot-manufacturer", slot_manufacturer);
    if (slot_id) b.path_raw("slot-id", std::to_string(*slot_id), keep_in_path);
    if (id)
        b.path_raw("id", std::string_view(reinterpret_cast<const char*>(id->data()), id->size()), encode_nothing);
    b.path("object", object);
    if (type) b.path_raw("type", class_name(*type), keep_in_path);
    b.query("pin-source", pin_source);
    b.query("module-name", module_name);
    b.query("module-path", module_path);
    // pin-value is deliberately never written back.
    return b.take();
}

bool Uri::matches(const TokenInfo& t) const {
    return eq_if(token, t.label) && eq_if(manufacturer, t.manufacturer) && eq_if(serial, t.serial) &&
           eq_if(model, t.model) && eq_if(slot_description, t.slot_description) &&
           eq_if(slot_manufacturer, t.slot_manufacturer) && eq_if(slot_id, t.slot);
}

bool Uri::matches(const ObjectInfo& o) const {
    return eq_if(object, o.label) && eq_if(id, o.id) && eq_if(type, o.cls);
}

bool Uri::matches(const ModuleInfo& m) const {
    if (library_version) {
        auto want = *library_version;
        if (want.find('.') == std::string::npos) want += ".0";
        // compare numerically: "2.06" == "2.6"
        auto dot = want.find('.');
        if (std::stoul(want.substr(0, dot)) != m.library_major || std::stoul(want.substr(dot + 1)) != m.library_minor)
            return false;
    }
    return eq_if(library_manufacturer, m.manufacturer) && eq_if(library_description, m.description);
}

std::string object_uri(const TokenInfo& t, const ObjectInfo& o) {
    Uri u;
    u.token = t.label;
    u.serial = t.serial;
    u.id = o.id;
    u.object = o.label;
    if (o.cls != ObjectClass::other) u.type = o.cls;
    return u.to_string();
}

}  // namespace cardgate::p11
