// The uid at the other end of a local connection: see peer_uid.hpp.
#include "tls/tunnel/peer_uid.hpp"

#include "tls/tunnel/fd.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cardgate::tunnel {

namespace {

Error sys_error(const std::string& what) { return Error(Code::io, what + ": " + std::strerror(errno)); }

std::string address_text(const sockaddr_storage& a) {
    char host[INET6_ADDRSTRLEN] = "?";
    if (a.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(a);
        ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(in.sin_port));
    }
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6.sin6_port));
}

// The socket ID of the peer's socket, seen from the peer: its source is our
// peer address, its destination our local address (ports in network order,
// as in sockaddr). inet_diag looks up the socket that would receive a packet
// sent from `dst` to `src`, i.e. the peer's own socket (sock_diag(7)).
inet_diag_sockid peer_socket_id(const sockaddr_storage& local, const sockaddr_storage& peer) {
    inet_diag_sockid id{};
    if (peer.ss_family == AF_INET) {
        const auto& p = reinterpret_cast<const sockaddr_in&>(peer);
        const auto& l = reinterpret_cast<const sockaddr_in&>(local);
        id.idiag_sport = p.sin_port;
        id.idiag_dport = l.sin_port;
        std::memcpy(id.idiag_src, &p.sin_addr, sizeof p.sin_addr);
        std::memcpy(id.idiag_dst, &l.sin_addr, sizeof l.sin_addr);
    } else {
        const auto& p = reinterpret_cast<const sockaddr_in6&>(peer);
        const auto& l = reinterpret_cast<const sockaddr_in6&>(local);
        id.idiag_sport = p.sin6_port;
        id.idiag_dport = l.sin6_port;
        std::memcpy(id.idiag_src, &p.sin6_addr, sizeof p.sin6_addr);
        std::memcpy(id.idiag_dst, &l.sin6_addr, sizeof l.sin6_addr);
    }
    id.idiag_if = 0;
    id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    return id;
}

// The kernel's answer must describe exactly the socket asked for: an exact
// lookup that finds no connected socket falls back to a listener on the
// peer's port, whose uid says nothing about the peer.
bool same_tuple(const inet_diag_sockid& a, const inet_diag_sockid& b, int family) {
    const std::size_t n = family == AF_INET ? sizeof(in_addr) : sizeof(in6_addr);
    return a.idiag_sport == b.idiag_sport && a.idiag_dport == b.idiag_dport &&
           std::memcmp(a.idiag_src, b.idiag_src, n) == 0 && std::memcmp(a.idiag_dst, b.idiag_dst, n) == 0;
}

// One SOCK_DIAG_BY_FAMILY request (not a dump: the kernel looks the 4-tuple
// up) and its one answer.
Result<uid_t> ask_socket_table(int family, const inet_diag_sockid& id) {
    Fd nl(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
    if (nl.get() < 0) return sys_error("socket(NETLINK_SOCK_DIAG)");
    // The kernel answers at once; a bound keeps an I/O thread from waiting
    // on a kernel that does not.
    const timeval tv{1, 0};
    (void)::setsockopt(nl.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    struct {
        nlmsghdr nlh;
        inet_diag_req_v2 req;
    } msg{};
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST;
    msg.nlh.nlmsg_seq = 1;
    msg.req.sdiag_family = static_cast<__u8>(family);
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = ~0u;
    msg.req.id = id;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(nl.get(), &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
        return sys_error("sock_diag request");

    alignas(nlmsghdr) char buf[8192];
    sockaddr_nl from{};
    socklen_t fromlen = sizeof from;
    const ssize_t n = ::recvfrom(nl.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fromlen);
    if (n < 0) return sys_error("sock_diag answer");
    if (from.nl_pid != 0) return Error(Code::io, "sock_diag answer not from the kernel");
    int len = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_seq != msg.nlh.nlmsg_seq) continue;
        if (h->nlmsg_type == NLMSG_ERROR) {
            const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
            errno = -e->error;
            return sys_error(errno == ENOENT ? "no such socket in the kernel's table" : "sock_diag");
        }
        if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
        const auto* r = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
        if (r->idiag_family != family || !same_tuple(r->id, id, family) || r->idiag_state == TCP_LISTEN)
            return Error(Code::io, "the kernel's table holds no connected socket for this peer");
        // TIME_WAIT and orphaned sockets: no process holds them, uid reads 0.
        if (r->idiag_inode == 0) return Error(Code::io, "the peer's socket is no longer held by any process");
        return static_cast<uid_t>(r->idiag_uid);
    }
    return Error(Code::io, "sock_diag: no answer");
}

}  // namespace

Result<LocalPeer> unix_peer(int fd) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return sys_error("SO_PEERCRED");
    if (len != sizeof cred) return Error(Code::io, "SO_PEERCRED: short answer");
    return LocalPeer{cred.uid, "unix"};
}

Result<LocalPeer> tcp_peer(int fd) {
    sockaddr_storage local{}, peer{};
    socklen_t llen = sizeof local, plen = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) != 0) return sys_error("getsockname");
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return sys_error("getpeername");
    if ((peer.ss_family != AF_INET && peer.ss_family != AF_INET6) || peer.ss_family != local.ss_family)
        return Error(Code::io, "not a TCP/IP connection");
    LocalPeer p;
    p.address = address_text(peer);
    auto uid = ask_socket_table(peer.ss_family, peer_socket_id(local, peer));
    if (!uid) return Error(Code::io, p.address + ": " + uid.error().detail());
    p.uid = *uid;
    return p;
}

Result<LocalPeer> local_peer(int fd) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return sys_error("getsockname");
    if (local.ss_family == AF_UNIX) return unix_peer(fd);
    return tcp_peer(fd);
}

}  // namespace cardgate::tunnel
