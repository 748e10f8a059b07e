#include "secret.hpp"

#include <sys/mman.h>

#include <cstring>
#include <new>

namespace cardgate {

SecretBuffer::SecretBuffer(std::size_t capacity) : capacity_(capacity) {
    if (capacity_ == 0) return;
    data_ = new unsigned char[capacity_];
    std::memset(data_, 0, capacity_);
    // Best effort: an unprivileged process may be over RLIMIT_MEMLOCK.
    locked_ = ::mlock(data_, capacity_) == 0;
}

SecretBuffer::SecretBuffer(const unsigned char* data, std::size_t len) : SecretBuffer(len) {
    if (len) std::memcpy(data_, data, len);
    size_ = len;
}

SecretBuffer::~SecretBuffer() { release(); }

SecretBuffer::SecretBuffer(SecretBuffer&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_), locked_(other.locked_) {
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
    other.locked_ = false;
}

SecretBuffer& SecretBuffer::operator=(SecretBuffer&& other) noexcept {
    if (this != &other) {
        release();
        data_ = other.data_;
        size_ = other.size_;
        capacity_ = other.capacity_;
        locked_ = other.locked_;
        other.data_ = nullptr;
        other.size_ = other.capacity_ = 0;
        other.locked_ = false;
    }
    return *this;
}

bool SecretBuffer::push_back(unsigned char c) noexcept {
    if (size_ >= capacity_) return false;
    data_[size_++] = c;
    return true;
}

void SecretBuffer::truncate(std::size_t n) noexcept {
    if (n >= size_) return;
    explicit_bzero(data_ + n, size_ - n);
    size_ = n;
}

void SecretBuffer::clear() noexcept {
    if (data_) explicit_bzero(data_, capacity_);
    size_ = 0;
}

bool SecretBuffer::equals(const SecretBuffer& other) const noexcept {
    if (size_ != other.size_) return false;
    if (size_ == 0) return true;
    // Constant time: every byte is read whatever the first difference (what
    // CRYPTO_memcmp does; this file stays free of OpenSSL for pam_cardgate.so).
    const volatile unsigned char* a = data_;
    const volatile unsigned char* b = other.data_;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < size_; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

void SecretBuffer::release() noexcept {
    if (!data_) return;
    explicit_bzero(data_, capacity_);
    if (locked_) ::munlock(data_, capacity_);
    delete[] data_;
    data_ = nullptr;
    size_ = capacity_ = 0;
    locked_ = false;
}

}  // namespace cardgate
