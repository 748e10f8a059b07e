// A private network namespace for tests that run real servers.
//
// `openssl ocsp -port N` (OpenSSL 3.0) listens on every interface, and test
// ports are fixed (the fixture certificates name http://127.0.0.1:18888/):
// inside a namespace of its own a test program exposes nothing and collides
// with no other program. Call enter_private_network() once, before any thread
// or child process exists (children inherit the namespace):
//
//     struct Net { Net() { netns::require_private_network(); } };
//     BOOST_TEST_GLOBAL_FIXTURE(Net);
#pragma once

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace netns {

namespace detail {

inline bool write_file(const char* path, const std::string& text) {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

// Without root: a user namespace in which we are root, mapping our own ids.
inline std::string enter_as_user() {
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
        return std::string("unshare(CLONE_NEWUSER|CLONE_NEWNET): ") + std::strerror(errno);
    // setgroups must be denied before an unprivileged gid_map is written.
    if (!write_file("/proc/self/setgroups", "deny") ||
        !write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") ||
        !write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n"))
        return std::string("writing /proc/self/{setgroups,uid_map,gid_map}: ") + std::strerror(errno);
    return {};
}

inline std::string loopback_up() {
    const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return std::string("socket: ") + std::strerror(errno);
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    std::string err;
    if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
        err = std::string("SIOCGIFFLAGS lo: ") + std::strerror(errno);
    } else {
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) err = std::string("SIOCSIFFLAGS lo: ") + std::strerror(errno);
    }
    ::close(s);
    return err;
}

}  // namespace detail

// Moves this process into a new network namespace with only "lo", up.
// Returns "" on success, else what failed.
inline std::string enter_private_network() {
    if (::unshare(CLONE_NEWNET) != 0) {
        if (errno != EPERM) return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
        if (std::string e = detail::enter_as_user(); !e.empty())
            return "unshare(CLONE_NEWNET): permission denied, and " + e;
    }
    return detail::loopback_up();
}

// The outcome of the first call, for every test to check.
inline const std::string& private_network_error() {
    static const std::string err = enter_private_network();
    return err;
}

// Enters the namespace (once) or throws with the reason: a test that would
// otherwise run servers on the host's interfaces must not run.
inline void require_private_network() {
    if (const std::string& e = private_network_error(); !e.empty())
        throw std::runtime_error("cannot enter a private network namespace (" + e +
                                 "); these tests run real servers and need root or user namespaces");
}

}  // namespace netns
