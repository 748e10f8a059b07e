// Load for bench/tls/run: the same clients and backend for cardgate-tunnel and
// stunnel4, so the two servers are measured by one yardstick.
//
//   tls_load sink PORT
//       backend on 127.0.0.1:PORT, a thread per connection. Skips a PROXY v2
//       header when one comes first. Then 'h' -> answers 'k'; 'd' + 8-byte
//       big-endian length + that many bytes -> answers 'k' once all arrived.
//   tls_load handshakes HOST:PORT CERT KEY CAFILE CLIENTS SECONDS VERSION
//       CLIENTS threads, each a loop of full handshakes (a new TCP connection,
//       no resumption) that send 'h' and wait for the backend's 'k': a
//       handshake counts only once the server decided and forwarded.
//   tls_load throughput HOST:PORT CERT KEY CAFILE CLIENTS MIB VERSION
//       CLIENTS threads, each one connection sending MIB MiB through to the
//       sink; the time runs until the last 'k'.
//   tls_load latency HOST:PORT CERT KEY CAFILE COUNT DEADLINE_MS VERSION
//       COUNT sequential full handshakes as in `handshakes`, each given
//       DEADLINE_MS (socket timeouts): success rate and p50/p99 latency (a
//       failure counts as DEADLINE_MS). For "while 400 idle sockets are held".
// VERSION is 1.2 or 1.3. Prints one line "key=value ...".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;
int g_timeout_ms = 0;  // latency mode: bound on every socket operation

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "tls_load: %s\n", what);
    ERR_print_errors_fp(stderr);
    std::exit(1);
}

bool read_all(int fd, void* buf, std::size_t n) {
    auto* p = static_cast<unsigned char*>(buf);
    while (n > 0) {
        ssize_t r = ::read(fd, p, n);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

void serve_sink(int fd) {
    unsigned char head[16];
    if (!read_all(fd, head, 1)) return ::close(fd), void();
    if (head[0] == '\r') {  // PROXY v2: 12-byte signature, ver/cmd, family, 2-byte length
        if (!read_all(fd, head + 1, 15)) return ::close(fd), void();
        std::size_t len = (std::size_t{head[14]} << 8) | head[15];
        std::vector<unsigned char> skip(len);
        if (!read_all(fd, skip.data(), len) || !read_all(fd, head, 1)) return ::close(fd), void();
    }
    if (head[0] == 'd') {
        unsigned char l[8];
        if (!read_all(fd, l, 8)) return ::close(fd), void();
        std::uint64_t left = 0;
        for (unsigned char c : l) left = (left << 8) | c;
        std::vector<unsigned char> buf(1 << 16);
        while (left > 0) {
            ssize_t r = ::read(fd, buf.data(), std::min<std::uint64_t>(left, buf.size()));
            if (r <= 0) return ::close(fd), void();
            left -= static_cast<std::uint64_t>(r);
        }
    }
    (void)!::write(fd, "k", 1);
    ::close(fd);
}

int sink(int port) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s, 4096) != 0) die("sink: bind/listen");
    for (;;) {
        int c = ::accept(s, nullptr, nullptr);
        if (c < 0) continue;
        std::thread(serve_sink, c).detach();
    }
}

int connect_to(const std::string& hostport) {
    auto colon = hostport.rfind(':');
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::atoi(hostport.c_str() + colon + 1)));
    inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &a.sin_addr);
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (g_timeout_ms > 0) {
        timeval tv{g_timeout_ms / 1000, (g_timeout_ms % 1000) * 1000};
        ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(s);
        return -1;
    }
    return s;
}

SSL_CTX* client_ctx(const char* cert, const char* key, const char* cafile, const std::string& version) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    int v = version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(ctx, v);
    SSL_CTX_set_max_proto_version(ctx, v);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(ctx, cafile, nullptr) != 1)
        die("client certificate, key or CA file");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // every handshake is a full one
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    return ctx;
}

// One connection: handshake, `payload` bytes after the opening byte, wait for 'k'.
bool one(SSL_CTX* ctx, const std::string& target, std::uint64_t payload) {
    int fd = connect_to(target);
    if (fd < 0) return false;
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    bool ok = SSL_connect(ssl) == 1;
    if (ok && payload == 0) ok = SSL_write(ssl, "h", 1) == 1;
    if (ok && payload > 0) {
        unsigned char head[9] = {'d'};
        for (int i = 0; i < 8; ++i) head[1 + i] = static_cast<unsigned char>(payload >> (56 - 8 * i));
        ok = SSL_write(ssl, head, 9) == 9;
        std::vector<unsigned char> buf(1 << 16, 'x');
        for (std::uint64_t left = payload; ok && left > 0;) {
            int n = static_cast<int>(std::min<std::uint64_t>(left, buf.size()));
            ok = SSL_write(ssl, buf.data(), n) == n;
            left -= static_cast<std::uint64_t>(n);
        }
    }
    char k = 0;
    if (ok) ok = SSL_read(ssl, &k, 1) == 1 && k == 'k';
    if (ok) SSL_shutdown(ssl);
    SSL_free(ssl);
    ::close(fd);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "sink") return sink(std::atoi(argv[2]));
    if (argc != 9) {
        std::fprintf(stderr, "usage: tls_load sink PORT | handshakes|throughput|latency HOST:PORT CERT KEY CAFILE CLIENTS|COUNT N VERSION\n");
        return 2;
    }
    const std::string mode = argv[1], target = argv[2];
    const int clients = std::atoi(argv[6]);
    const long n = std::atol(argv[7]);
    SSL_CTX* ctx = client_ctx(argv[3], argv[4], argv[5], argv[8]);
    std::atomic<long> good{0}, bad{0};
    std::vector<std::thread> threads;
    const auto start = clk::now();
    if (mode == "handshakes") {
        const auto end = start + std::chrono::seconds(n);
        for (int i = 0; i < clients; ++i)
            threads.emplace_back([&] {
                while (clk::now() < end) (one(ctx, target, 0) ? good : bad)++;
            });
    } else if (mode == "throughput") {
        const std::uint64_t bytes = static_cast<std::uint64_t>(n) << 20;
        for (int i = 0; i < clients; ++i) threads.emplace_back([&] { (one(ctx, target, bytes) ? good : bad)++; });
    } else if (mode == "latency") {
        g_timeout_ms = std::atoi(argv[7]);
        std::vector<double> ms;
        for (int i = 0; i < clients; ++i) {
            const auto t0 = clk::now();
            const bool ok = one(ctx, target, 0);
            (ok ? good : bad)++;
            ms.push_back(ok ? std::chrono::duration<double, std::milli>(clk::now() - t0).count() : g_timeout_ms);
        }
        std::sort(ms.begin(), ms.end());
        auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p / 100 * (ms.size() - 1) + 0.5))]; };
        std::printf("ok=%ld failed=%ld success=%.3f p50_ms=%.1f p99_ms=%.1f\n", good.load(), bad.load(),
                    static_cast<double>(good.load()) / clients, pct(50), pct(99));
        SSL_CTX_free(ctx);
        return 0;
    } else {
        std::fprintf(stderr, "tls_load: unknown mode %s\n", mode.c_str());
        return 2;
    }
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(clk::now() - start).count();
    if (mode == "handshakes")
        std::printf("handshakes=%ld failed=%ld seconds=%.2f per_second=%.1f\n", good.load(), bad.load(), secs,
                    good.load() / secs);
    else
        std::printf("connections=%ld failed=%ld seconds=%.3f mib_per_second=%.1f\n", good.load(), bad.load(), secs,
                    static_cast<double>(good.load() * n) / secs);
    SSL_CTX_free(ctx);
    return bad.load() == 0 ? 0 : 1;
}
