// A client tunnel's UNIX socket: see unix_listener.hpp.
#include "tls/tunnel/unix_listener.hpp"

#include "tls/tunnel/fd.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace cardgate::tunnel {

namespace {

constexpr mode_t kSocketMode = 0600;

Error bad(const std::string& path, const std::string& why) { return Error(Code::config_value, path + ": " + why); }
Error sys(const std::string& what, const std::string& path) {
    return Error(Code::io, what + " " + path + ": " + std::strerror(errno));
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Whoever may write the directory may replace the socket with their own.
Status check_parent(const std::string& dir, uid_t owner) {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 && errno == ENOENT) {
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sys("mkdir", dir);
    }
    if (::lstat(dir.c_str(), &st) != 0) return sys("lstat", dir);
    if (!S_ISDIR(st.st_mode)) return bad(dir, "the socket's parent is not a directory (symlinks are not followed)");
    if (st.st_uid != owner && st.st_uid != 0)
        return bad(dir, "the socket's parent is owned by uid " + std::to_string(st.st_uid) +
                            ", not by the tunnel's uid " + std::to_string(owner) + " or root");
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return bad(dir, "the socket's parent is writable by group or others (chmod go-w, or use a directory of "
                        "your own such as /run/user/UID/cardgate)");
    return {};
}

sockaddr_un address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);  // the parser bounds it at 107 bytes
    return a;
}

// Something still accepting on the socket: another tunnel is serving it.
bool in_use(const std::string& path) {
    Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe.get() < 0) return false;
    const sockaddr_un a = address(path);
    return ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
}

// A socket of ours left by an earlier run is removed; anything else stays
// and is an error.
Status clear_path(const std::string& path, uid_t owner) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Status{} : Status(sys("lstat", path));
    if (!S_ISSOCK(st.st_mode) || st.st_uid != owner)
        return bad(path, "exists and is not a socket of uid " + std::to_string(owner) + ": not replaced");
    if (in_use(path)) return bad(path, "another process is listening on it");
    if (::unlink(path.c_str()) != 0) return sys("unlink", path);
    return {};
}

}  // namespace

Result<int> listen_unix(const std::string& path, uid_t owner) {
    if (path.empty() || path.front() != '/' || path.size() >= sizeof(sockaddr_un{}.sun_path))
        return bad(path, "not an absolute socket path of at most 107 bytes");
    CG_TRY_VOID(check_parent(parent_of(path), owner));
    CG_TRY_VOID(clear_path(path, owner));
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return sys("socket for", path);
    // Linux gives the new file the socket inode's mode minus the umask:
    // narrowed first, the file is never open to others, not even between
    // bind and chmod.
    (void)::fchmod(fd.get(), kSocketMode);
    const sockaddr_un a = address(path);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return sys("bind", path);
    struct stat st {};
    if (::chmod(path.c_str(), kSocketMode) != 0 || ::lstat(path.c_str(), &st) != 0) return sys("chmod", path);
    if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != kSocketMode || st.st_uid != owner)
        return bad(path, "the socket file is not 0600 and owned by uid " + std::to_string(owner) + " after bind");
    if (::listen(fd.get(), SOMAXCONN) != 0) return sys("listen on", path);
    return fd.release();
}

void remove_unix_socket(const std::string& path, uid_t owner) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == owner) (void)::unlink(path.c_str());
}

}  // namespace cardgate::tunnel
