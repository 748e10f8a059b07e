// The three purposes a badge serves (SPEC "What it is").
#pragma once

#include <optional>
#include <string_view>

namespace cardgate {

enum class Purpose { login, tls, door };

constexpr std::string_view purpose_name(Purpose p) noexcept {
    switch (p) {
    case Purpose::login: return "login";
    case Purpose::tls: return "tls";
    case Purpose::door: return "door";
    }
    return "unknown";
}

constexpr std::optional<Purpose> purpose_from(std::string_view s) noexcept {
    if (s == "login") return Purpose::login;
    if (s == "tls") return Purpose::tls;
    if (s == "door") return Purpose::door;
    return std::nullopt;
}

}  // namespace cardgate
