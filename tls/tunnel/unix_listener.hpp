// How is a client tunnel's UNIX socket made so that only its owner reaches it?
//
// The socket lives in a directory that only the owner (or root) can change:
// the parent directory must be a real directory (not a symlink), owned by
// the tunnel's uid or root and writable by nobody else; when it is missing
// it is created, 0700. A socket left at the path by an earlier run of the
// same uid is replaced (unless something still accepts on it); anything
// else at the path is an error. The socket file is 0600 from the moment it
// exists (the socket's own mode is narrowed before bind, then the file is
// chmod-ed and checked). File modes only keep others from connecting;
// every accepted connection is still checked by its SO_PEERCRED uid
// (peer_uid.hpp, client.cpp).
#pragma once

#include <sys/types.h>

#include <string>

#include "src/result.hpp"

namespace cardgate::tunnel {

// A listening AF_UNIX stream socket at `path` (absolute), for `owner`. The
// caller owns the descriptor. Errors: Code::config_value naming the path and
// what is wrong with it, Code::io for a failing system call.
Result<int> listen_unix(const std::string& path, uid_t owner);

// Removes the socket file at `path` if it is still a socket owned by `owner`.
void remove_unix_socket(const std::string& path, uid_t owner);

}  // namespace cardgate::tunnel
