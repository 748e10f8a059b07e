#include "protocol.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace cardgate::pam {
namespace {

bool write_all(int fd, const void* p, std::size_t n) {
    const auto* c = static_cast<const unsigned char*>(p);
    while (n > 0) {
        // A socket: MSG_NOSIGNAL, so a dead helper cannot SIGPIPE sshd or gdm.
        ssize_t w = ::send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK) w = ::write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// Reads exactly n bytes; waits at most until `deadline` for each chunk when set.
Status read_all(int fd, unsigned char* p, std::size_t n, std::optional<std::chrono::steady_clock::time_point> deadline) {
    while (n > 0) {
        if (deadline) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
            pollfd pfd{fd, POLLIN, 0};
            const int r = ::poll(&pfd, 1, static_cast<int>(std::max<long long>(0, left.count())));
            if (r < 0 && errno == EINTR) continue;
            if (r == 0) return Error(Code::p11_timeout, "the badge helper did not answer in time");
            if (r < 0) return Error(Code::io, std::string("poll: ") + std::strerror(errno));
        }
        const ssize_t got = ::read(fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return Error(Code::io, std::string("read: ") + std::strerror(errno));
        if (got == 0) return Error(Code::io, "the other side closed the pipe");
        p += got;
        n -= static_cast<std::size_t>(got);
    }
    return {};
}

}  // namespace

bool write_frame(int fd, Frame type, const void* data, std::size_t len) {
    if (len > max_frame) return false;
    unsigned char head[5] = {static_cast<unsigned char>(type), static_cast<unsigned char>(len),
                             static_cast<unsigned char>(len >> 8), static_cast<unsigned char>(len >> 16),
                             static_cast<unsigned char>(len >> 24)};
    return write_all(fd, head, sizeof head) && write_all(fd, data, len);
}

Result<Received> read_frame(int fd, int timeout_ms) {
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (timeout_ms >= 0) deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    unsigned char head[5];
    CG_TRY_VOID(read_all(fd, head, sizeof head, deadline));
    const std::uint32_t len = head[1] | (head[2] << 8) | (head[3] << 16) | (static_cast<std::uint32_t>(head[4]) << 24);
    if (len > max_frame) return Error(Code::io, "frame of " + std::to_string(len) + " bytes is too large");
    Received r{static_cast<Frame>(head[0]), SecretBuffer(len)};
    if (len > 0) {
        SecretBuffer buf(len);
        for (std::uint32_t i = 0; i < len; ++i) buf.push_back(0);
        CG_TRY_VOID(read_all(fd, buf.data(), len, deadline));
        r.payload = std::move(buf);
    }
    return r;
}

}  // namespace cardgate::pam
