// Who is at the other end of a client tunnel's local connection
// (tls/tunnel/peer_uid.hpp), and the UNIX socket only its owner reaches
// (tls/tunnel/unix_listener.hpp). Real sockets in a private network
// namespace; the other-uid cases fork a child that becomes uid 65534 (they
// need root, as CI runs, and are skipped otherwise).
#define BOOST_TEST_MODULE peer_uid
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ostream>
#include <cstring>
#include <string>
#include <thread>

#include "tests/unit/netns.hpp"
#include "tls/tunnel/peer_uid.hpp"
#include "tls/tunnel/unix_listener.hpp"

namespace cardgate {
std::ostream& operator<<(std::ostream& os, Code c) { return os << name(c); }
}  // namespace cardgate

using namespace cardgate;
using namespace cardgate::tunnel;

namespace {

struct Net {
    Net() { netns::require_private_network(); }
};
BOOST_TEST_GLOBAL_FIXTURE(Net);

constexpr uid_t kNobody = 65534;

struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

// A listener on the loopback address of `family`, port chosen by the kernel.
int tcp_listener(int family, sockaddr_storage& where, socklen_t& len) {
    const int s = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(s >= 0);
    sockaddr_storage a{};
    if (family == AF_INET) {
        auto& in = reinterpret_cast<sockaddr_in&>(a);
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof in;
    } else {
        auto& in6 = reinterpret_cast<sockaddr_in6&>(a);
        in6.sin6_family = AF_INET6;
        in6.sin6_addr = in6addr_loopback;
        len = sizeof in6;
    }
    BOOST_REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), len) == 0);
    BOOST_REQUIRE(::listen(s, 8) == 0);
    BOOST_REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&where), &len) == 0);
    return s;
}

// Forks a child that becomes `uid`, connects to `where`, and holds the
// connection until the parent closes its end (reads EOF). Returns its pid.
pid_t connect_as(uid_t uid, const sockaddr_storage& where, socklen_t len) {
    const pid_t pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(2);
        const int c = ::socket(where.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 || ::connect(c, reinterpret_cast<const sockaddr*>(&where), len) != 0) ::_exit(3);
        char b;
        while (::read(c, &b, 1) > 0) {
        }
        ::_exit(0);
    }
    return pid;
}

void reap(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "child exit status " << status);
}

bool root() { return ::geteuid() == 0; }

// A fresh directory under TMPDIR, removed with everything in it.
struct TempDir {
    std::string path;
    TempDir() {
        std::string t = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + std::string("/cg-peer.XXXXXX");
        BOOST_REQUIRE(::mkdtemp(t.data()) != nullptr);
        path = t;
    }
    ~TempDir() {
        if (std::system(("rm -rf '" + path + "'").c_str()) != 0) BOOST_TEST_MESSAGE("could not remove " << path);
    }
};

int unix_connect(const std::string& path) {
    const int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(c);
        return -1;
    }
    return c;
}

}  // namespace

// ------------------------------------------------------------------ TCP loopback

BOOST_AUTO_TEST_SUITE(tcp)

BOOST_AUTO_TEST_CASE(own_connection_is_our_uid_ipv4_and_ipv6) {
    for (int family : {AF_INET, AF_INET6}) {
        sockaddr_storage where{};
        socklen_t len = 0;
        Fd l(tcp_listener(family, where, len));
        Fd c(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
        BOOST_REQUIRE(::connect(c.fd, reinterpret_cast<sockaddr*>(&where), len) == 0);
        Fd a(::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC));
        auto p = tcp_peer(a.fd);
        BOOST_TEST_INFO("family " << family << ": " << (p ? std::string() : p.error().detail()));
        BOOST_REQUIRE(p.ok());
        BOOST_TEST(p->uid == ::geteuid());
        BOOST_TEST(p->address.find(family == AF_INET ? "127.0.0.1:" : "[::1]:") == 0u);
        auto q = local_peer(a.fd);
        BOOST_REQUIRE(q.ok());
        BOOST_TEST(q->uid == ::geteuid());
    }
}

BOOST_AUTO_TEST_CASE(another_uid_is_named_by_the_kernel) {
    if (!root()) {
        BOOST_TEST_MESSAGE("skipped: needs root to become uid 65534");
        return;
    }
    for (int family : {AF_INET, AF_INET6}) {
        sockaddr_storage where{};
        socklen_t len = 0;
        Fd l(tcp_listener(family, where, len));
        const pid_t child = connect_as(kNobody, where, len);
        int a = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
        BOOST_REQUIRE(a >= 0);
        auto p = tcp_peer(a);
        ::close(a);  // the child reads EOF and exits
        reap(child);
        BOOST_REQUIRE(p.ok());
        BOOST_TEST(p->uid == kNobody);
    }
}

BOOST_AUTO_TEST_CASE(a_peer_that_already_closed_is_an_error_not_uid_0) {
    // Its socket is orphaned (FIN_WAIT2, then TIME_WAIT): the kernel reports
    // uid 0 for it, which must never pass as root's.
    sockaddr_storage where{};
    socklen_t len = 0;
    Fd l(tcp_listener(AF_INET, where, len));
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&where), len) == 0);
    Fd a(::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC));
    ::close(c);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto p = tcp_peer(a.fd);
    BOOST_TEST(!p.ok(), "uid " << (p ? p->uid : 0));
    if (!p) BOOST_TEST(p.code() == Code::io);
}

BOOST_AUTO_TEST_CASE(a_peer_that_reset_is_an_error) {
    sockaddr_storage where{};
    socklen_t len = 0;
    Fd l(tcp_listener(AF_INET, where, len));
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&where), len) == 0);
    Fd a(::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC));
    const linger abort_close{1, 0};
    ::setsockopt(c, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
    ::close(c);  // RST: the peer's socket is gone
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    BOOST_TEST(!tcp_peer(a.fd).ok());
}

BOOST_AUTO_TEST_CASE(a_socket_that_is_not_connected_is_an_error) {
    sockaddr_storage where{};
    socklen_t len = 0;
    Fd l(tcp_listener(AF_INET, where, len));
    BOOST_TEST(!tcp_peer(l.fd).ok());  // a listener has no peer
    Fd u(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    BOOST_TEST(!tcp_peer(u.fd).ok());
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------------------------ UNIX sockets

BOOST_AUTO_TEST_SUITE(unix_socket)

BOOST_AUTO_TEST_CASE(socket_is_0600_in_a_new_0700_directory_and_names_its_peer) {
    TempDir d;
    const std::string dir = d.path + "/cardgate", path = dir + "/wiki.sock";
    auto fd = listen_unix(path, ::geteuid());
    BOOST_TEST_INFO((fd ? std::string() : fd.error().detail()));
    BOOST_REQUIRE(fd.ok());
    Fd l(*fd);
    struct stat st {};
    BOOST_REQUIRE(::lstat(path.c_str(), &st) == 0);
    BOOST_TEST(S_ISSOCK(st.st_mode));
    BOOST_TEST((st.st_mode & 07777) == 0600u);
    BOOST_REQUIRE(::lstat(dir.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 07777) == 0700u);
    Fd c(unix_connect(path));
    BOOST_REQUIRE(c.fd >= 0);
    Fd a(::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC));
    auto p = local_peer(a.fd);
    BOOST_REQUIRE(p.ok());
    BOOST_TEST(p->uid == ::geteuid());
    BOOST_TEST(p->address == "unix");
    remove_unix_socket(path, ::geteuid());
    BOOST_TEST(::lstat(path.c_str(), &st) != 0);
}

BOOST_AUTO_TEST_CASE(another_uid_is_named_by_so_peercred_even_through_a_0666_socket) {
    if (!root()) {
        BOOST_TEST_MESSAGE("skipped: needs root to become uid 65534");
        return;
    }
    TempDir d;
    const std::string path = d.path + "/s/x.sock";
    auto fd = listen_unix(path, ::geteuid());
    BOOST_REQUIRE(fd.ok());
    Fd l(*fd);
    // Open the way on purpose: only the peer check is left to refuse.
    BOOST_REQUIRE(::chmod(d.path.c_str(), 0711) == 0);
    BOOST_REQUIRE(::chmod((d.path + "/s").c_str(), 0711) == 0);
    BOOST_REQUIRE(::chmod(path.c_str(), 0666) == 0);
    sockaddr_storage where{};
    auto& un = reinterpret_cast<sockaddr_un&>(where);
    un.sun_family = AF_UNIX;
    std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
    const pid_t child = connect_as(kNobody, where, sizeof(sockaddr_un));
    int a = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    BOOST_REQUIRE(a >= 0);
    auto p = unix_peer(a);
    ::close(a);
    reap(child);
    BOOST_REQUIRE(p.ok());
    BOOST_TEST(p->uid == kNobody);
}

BOOST_AUTO_TEST_CASE(a_parent_writable_by_others_is_refused) {
    TempDir d;
    const std::string dir = d.path + "/shared";
    BOOST_REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    for (mode_t m : {01777, 0777, 0770, 0720}) {
        BOOST_REQUIRE(::chmod(dir.c_str(), m) == 0);
        auto fd = listen_unix(dir + "/x.sock", ::geteuid());
        BOOST_TEST_INFO("mode " << std::oct << m);
        BOOST_REQUIRE(!fd.ok());
        BOOST_TEST(fd.code() == Code::config_value);
        BOOST_TEST(fd.error().detail().find("writable by group or others") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_parent_that_is_a_symlink_or_another_users_is_refused) {
    TempDir d;
    BOOST_REQUIRE(::mkdir((d.path + "/real").c_str(), 0700) == 0);
    BOOST_REQUIRE(::symlink((d.path + "/real").c_str(), (d.path + "/link").c_str()) == 0);
    auto fd = listen_unix(d.path + "/link/x.sock", ::geteuid());
    BOOST_REQUIRE(!fd.ok());
    BOOST_TEST(fd.error().detail().find("not a directory") != std::string::npos);
    if (!root()) return;
    BOOST_REQUIRE(::chown((d.path + "/real").c_str(), kNobody, kNobody) == 0);
    auto other = listen_unix(d.path + "/real/x.sock", ::geteuid());
    BOOST_REQUIRE(!other.ok());
    BOOST_TEST(other.error().detail().find("owned by uid 65534") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(something_else_at_the_path_is_not_replaced) {
    TempDir d;
    const std::string path = d.path + "/x.sock";
    { Fd f(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)); }
    auto fd = listen_unix(path, ::geteuid());
    BOOST_REQUIRE(!fd.ok());
    BOOST_TEST(fd.error().detail().find("not a socket") != std::string::npos);
    struct stat st {};
    BOOST_TEST((::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)));
}

BOOST_AUTO_TEST_CASE(a_live_socket_is_refused_a_stale_one_replaced) {
    TempDir d;
    const std::string path = d.path + "/x.sock";
    auto first = listen_unix(path, ::geteuid());
    BOOST_REQUIRE(first.ok());
    auto second = listen_unix(path, ::geteuid());
    BOOST_REQUIRE(!second.ok());
    BOOST_TEST(second.error().detail().find("another process is listening") != std::string::npos);
    ::close(*first);  // the file stays: stale
    auto third = listen_unix(path, ::geteuid());
    BOOST_TEST_INFO((third ? std::string() : third.error().detail()));
    BOOST_REQUIRE(third.ok());
    ::close(*third);
}

BOOST_AUTO_TEST_SUITE_END()
