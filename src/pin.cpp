// GCC 12 reports a false -Wmaybe-uninitialized inside libstdc++'s <regex>
// under -fsanitize=address (as in config.cpp); library headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop

#include "pin.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <openssl/crypto.h>

namespace cardgate {

Result<SecretBuffer> read_pin_source(std::string_view source) {
    std::string_view path;
    if (source.starts_with("file://")) path = source.substr(7);
    else if (source.starts_with("file:")) path = source.substr(5);
    else return Error(Code::usage, "pin-source must be file:PATH");
    if (path.empty()) return Error(Code::usage, "pin-source file: names no file");

    const std::string p(path);
    const int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return Error(Code::usage, "pin-source " + p + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return Error(Code::usage, "pin-source " + p + ": not a regular file");
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        ::close(fd);
        return Error(Code::usage, "pin-source " + p + ": readable or writable by group or others (chmod 600)");
    }
    unsigned char buf[max_pin_length + 2];
    ssize_t n = 0;
    std::size_t got = 0;
    while (got < sizeof buf && (n = ::read(fd, buf + got, sizeof buf - got)) > 0) got += static_cast<std::size_t>(n);
    const int read_errno = errno;
    ::close(fd);
    if (n < 0) {
        OPENSSL_cleanse(buf, sizeof buf);
        return Error(Code::usage, "pin-source " + p + ": " + std::strerror(read_errno));
    }
    std::size_t len = 0;
    while (len < got && buf[len] != '\n' && buf[len] != '\r') ++len;
    SecretBuffer pin;
    Error err(Code::internal);
    bool ok = true;
    if (len == 0) {
        ok = false;
        err = Error(Code::p11_pin_invalid, "pin-source " + p + ": empty PIN");
    } else if (len > max_pin_length) {
        ok = false;
        err = Error(Code::p11_pin_invalid, "pin-source " + p + ": PIN longer than " + std::to_string(max_pin_length));
    } else if (std::memchr(buf, '\0', len)) {
        ok = false;
        err = Error(Code::p11_pin_invalid, "pin-source " + p + ": PIN contains a NUL byte");
    } else {
        pin = SecretBuffer(buf, len);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (!ok) return err;
    return pin;
}

bool plausible_pin(const SecretBuffer& candidate, const std::optional<std::string>& pattern) {
    const char* begin = reinterpret_cast<const char*>(candidate.data());
    const char* end = begin + candidate.size();
    if (!pattern) return begin != end && std::all_of(begin, end, [](char c) { return c >= '0' && c <= '9'; });
    try {
        const std::regex re(*pattern, std::regex::ECMAScript);
        return std::regex_match(begin, end, re);
    } catch (const std::exception&) {
        // The parser checked the pattern; a regex that still fails (its
        // engine's complexity limit) is no evidence of a PIN: prompt instead.
        return false;
    }
}

}  // namespace cardgate
