// RFC 7512 pkcs11: URIs, parsed strictly.
//
// Strict means: the "pkcs11:" scheme is required; only the attributes below are
// accepted (no vendor "x-" attributes), each at most once; values may contain
// only the RFC 7512 pk11-pchar / pk11-qchar characters, and percent escapes
// must be complete hex pairs; a decoded NUL is refused except in `id`, which is
// raw bytes; decoded text must be UTF-8. Every error is Code::uri_syntax with a
// detail naming the attribute and the byte offset in the input.
//
// The PIN of a pin-value attribute goes straight into a SecretBuffer and is
// never written back by to_string().
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pkcs11/info.hpp"
#include "src/result.hpp"
#include "src/secret.hpp"

namespace cardgate::p11 {

// A longer URI is refused: nothing legitimate comes close.
inline constexpr std::size_t kMaxUriLength = 4096;

struct Uri {
    // path attributes (RFC 7512 §2.3)
    std::optional<std::string> token, manufacturer, serial, model;
    std::optional<std::string> library_manufacturer, library_description, library_version;
    std::optional<std::string> slot_description, slot_manufacturer;
    std::optional<CK_SLOT_ID> slot_id;
    std::optional<std::string> object;
    std::optional<std::vector<std::uint8_t>> id;
    std::optional<ObjectClass> type;  // never ObjectClass::other
    // query attributes
    std::optional<std::string> pin_source, module_path, module_name;
    std::shared_ptr<const SecretBuffer> pin_value;  // set when pin-value= was given

    bool has_pin_value() const noexcept { return pin_value != nullptr; }

    static Result<Uri> parse(std::string_view text);

    // Canonical form: attributes in a fixed order (token, manufacturer, model,
    // serial, library-*, slot-*, id, object, type; then pin-source, module-name,
    // module-path), id fully percent-encoded, other values encoded where RFC 7512
    // requires it. NEVER includes pin-value.
    std::string to_string() const;

    // Every attribute present in the URI equals the token's (or its slot's).
    bool matches(const TokenInfo& t) const;
    // object / id / type, when present, equal the object's.
    bool matches(const ObjectInfo& o) const;
    // library-manufacturer / -description / -version, when present.
    bool matches(const ModuleInfo& m) const;
};

// pkcs11:token=…;serial=…;id=…;object=…;type=… for an object on a token.
std::string object_uri(const TokenInfo& t, const ObjectInfo& o);

}  // namespace cardgate::p11
