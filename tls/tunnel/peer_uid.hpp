// Who is on the other end of a local connection to a client tunnel?
//
// A client tunnel signs with the badge for whoever connects to its plain
// side, so it must know the connecting process's uid before it sends a byte
// to the server (client.hpp decides with it).
//
//   UNIX socket  SO_PEERCRED: the credentials the kernel recorded when the
//                peer called connect() (unix(7)).
//   TCP loopback the kernel's socket table (sock_diag(7), NETLINK_SOCK_DIAG,
//                the query `ss -e` makes): the socket at the other end of
//                this exact 4-tuple, and the uid that created it
//                (inet_diag_msg.idiag_uid). Only a live socket that a
//                process holds counts: a TIME_WAIT or orphaned socket is
//                reported with uid 0 and inode 0, and a lookup that falls
//                back to a listening socket names someone else's socket;
//                both are errors, never an answer.
//
// Every failure is an Error (Code::io, detail says what); the caller refuses
// the connection on any of them (fail closed).
#pragma once

#include <sys/types.h>

#include <string>

#include "src/result.hpp"

namespace cardgate::tunnel {

struct LocalPeer {
    uid_t uid = static_cast<uid_t>(-1);
    std::string address;  // "127.0.0.1:40000", "[::1]:40000" or "unix"
};

// The peer of a connected AF_UNIX stream socket.
Result<LocalPeer> unix_peer(int fd);

// The peer of a connected TCP socket whose both ends are on this host
// (loopback), looked up by its exact 4-tuple.
Result<LocalPeer> tcp_peer(int fd);

// unix_peer or tcp_peer, by the socket's address family.
Result<LocalPeer> local_peer(int fd);

}  // namespace cardgate::tunnel
