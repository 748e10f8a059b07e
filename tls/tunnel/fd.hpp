// A file descriptor closed on every path unless released to the caller: the
// sockets the owner checks open (peer_uid.cpp, unix_listener.cpp).
#pragma once

#include <unistd.h>

#include <utility>

namespace cardgate::tunnel {

class Fd {
public:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }

private:
    int fd_;
};

}  // namespace cardgate::tunnel
