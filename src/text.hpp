// Checks on text that comes from certificates, cards and files.
#pragma once

#include <string_view>

namespace cardgate {

// RFC 3629 well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) noexcept;

}  // namespace cardgate
