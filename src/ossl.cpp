#include "ossl.hpp"

#include <openssl/err.h>

namespace cardgate::ossl {

std::string last_error() {
    std::string out;
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out;
}

}  // namespace cardgate::ossl
