// Secret bytes (PIN, PUK): a buffer that is wiped on every path.
//
// Never held in std::string (whose copies and small-string buffer cannot be
// wiped), never logged, never printed: there is deliberately no operator<<.
// The storage is locked in memory where the system allows it (mlock), so it
// does not reach swap, and is wiped with explicit_bzero (a wipe the compiler
// may not drop, as OPENSSL_cleanse; no OpenSSL here, since pam_cardgate.so
// links this file alone) when destroyed, moved from or cleared. Compare
// secrets with equals(), which is constant time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cardgate {

class SecretBuffer {
public:
    SecretBuffer() = default;
    explicit SecretBuffer(std::size_t capacity);
    SecretBuffer(const unsigned char* data, std::size_t len);
    static SecretBuffer from(std::string_view s) {
        return SecretBuffer(reinterpret_cast<const unsigned char*>(s.data()), s.size());
    }
    ~SecretBuffer();

    SecretBuffer(const SecretBuffer&) = delete;
    SecretBuffer& operator=(const SecretBuffer&) = delete;
    SecretBuffer(SecretBuffer&& other) noexcept;
    SecretBuffer& operator=(SecretBuffer&& other) noexcept;

    const unsigned char* data() const noexcept { return data_; }
    unsigned char* data() noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }
    bool empty() const noexcept { return size_ == 0; }

    // Append one byte; returns false (and keeps the content) when full.
    bool push_back(unsigned char c) noexcept;
    // Shorten to n bytes, wiping what is cut.
    void truncate(std::size_t n) noexcept;
    // Wipe and empty.
    void clear() noexcept;
    // Constant-time equality (length is not secret).
    bool equals(const SecretBuffer& other) const noexcept;

private:
    void release() noexcept;
    unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    bool locked_ = false;
};

}  // namespace cardgate
