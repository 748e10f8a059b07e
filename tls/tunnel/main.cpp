// cardgate-tunnel: mutual TLS with the badge, both ends (cardgate-tunnel(8)).
//
//   cardgate-tunnel [--config PATH] [--foreground] [--check] server
//   cardgate-tunnel [--config PATH] [--foreground] [--check] client [NAME...]
//
// Exit codes (SPEC): 0 stopped cleanly / --check passed, 2 usage or config
// error, 3 token error (client mode), 4 internal error.
#include <signal.h>
#include <sys/resource.h>
#include <syslog.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "config.h"
#include "src/accounts.hpp"
#include "src/config.hpp"
#include "tls/tunnel/client.hpp"
#include "tls/tunnel/notify.hpp"
#include "tls/tunnel/server.hpp"

namespace {

using namespace cardgate;
using namespace cardgate::tunnel;
namespace asio = boost::asio;

struct Options {
    std::string config = default_config_path;
    bool foreground = false;
    bool check = false;
    std::string mode;
    std::vector<std::string> names;
};

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: cardgate-tunnel [--config PATH] [--foreground] [--check] server\n"
                 "       cardgate-tunnel [--config PATH] [--foreground] [--check] client [NAME...]\n"
                 "       cardgate-tunnel --version\n");
}

int fail(const Error& e) {
    std::fprintf(stderr, "cardgate-tunnel: %s\n", e.message().c_str());
    return exit_code(e.code());
}

// Logs a line that is not an audit line (startup, reload) to syslog and, in the foreground, stderr.
void note(bool foreground, int prio, const std::string& line) {
    syslog(LOG_DAEMON | prio, "%s", line.c_str());
    if (foreground) std::fprintf(stderr, "cardgate-tunnel: %s\n", line.c_str());
}

// Two descriptors per connection (client and backend): raise the soft limit
// to the hard one, so that tls.max_connections is what limits, not EMFILE.
void raise_descriptor_limit() {
    struct rlimit r {};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &r);
    }
}

unsigned io_threads() { return std::max(2u, std::min(8u, std::thread::hardware_concurrency())); }

int run_server(const Options& o, Config config) {
    if (config.tls.services.empty())
        return fail(Error(Code::config_missing, config.path + ": no [[tls.service]]: nothing to serve"));
    static NssAccounts accounts;  // outlives every Gate (Mapper keeps a reference)
    auto gate = Gate::create(std::move(config), accounts, nullptr);
    if (!gate) return fail(gate.error());
    if (o.check) {
        std::printf("%s: valid; %zu service(s)\n", (*gate)->config().path.c_str(), (*gate)->config().tls.services.size());
        return 0;
    }
    raise_descriptor_limit();
    asio::io_context io;
    Server server(io, *gate, o.foreground);
    if (auto s = server.listen(); !s) return fail(s.error());
    note(o.foreground, LOG_INFO, "serving " + std::to_string((*gate)->config().tls.services.size()) + " service(s)");
    notify_ready();

    asio::signal_set signals(io, SIGHUP, SIGTERM, SIGINT);
    std::function<void()> wait_signal;
    wait_signal = [&]() {
        signals.async_wait([&](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            if (sig != SIGHUP) {
                note(o.foreground, LOG_INFO, "stopping");
                notify_stopping();
                server.stop();
                io.stop();
                return;
            }
            // Reloading reads files and may take a moment: off the I/O threads.
            notify_reloading();
            asio::post(server.checks(), [&]() {
                auto fresh = Config::load(o.config);
                Result<std::shared_ptr<const Gate>> next =
                    fresh ? Gate::create(std::move(*fresh), accounts, server.gate().get())
                          : Result<std::shared_ptr<const Gate>>(fresh.error());
                Status swapped = next ? server.replace(*next) : Status(next.error());
                if (swapped)
                    note(o.foreground, LOG_NOTICE, "reloaded " + o.config);
                else
                    note(o.foreground, LOG_ERR, "reload failed, keeping the previous configuration: " +
                                                    swapped.error().message());
                notify_ready();
            });
            wait_signal();
        });
    };
    wait_signal();

    std::vector<std::thread> threads;
    for (unsigned i = 1; i < io_threads(); ++i) threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : threads) t.join();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--config" && i + 1 < argc) {
            o.config = argv[++i];
        } else if (a == "--foreground" || a == "-f") {
            o.foreground = true;
        } else if (a == "--check") {
            o.check = true;
        } else if (a == "--version") {
            std::printf("cardgate-tunnel %s\n", PACKAGE_VERSION);
            return 0;
        } else if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        } else if (!a.empty() && a[0] == '-') {
            usage(stderr);
            return 2;
        } else if (o.mode.empty()) {
            o.mode = a;
        } else {
            o.names.push_back(a);
        }
    }
    if (o.mode != "server" && o.mode != "client") {
        usage(stderr);
        return 2;
    }
    if (o.mode == "server" && !o.names.empty()) {
        usage(stderr);
        return 2;
    }
    openlog("cardgate-tunnel", LOG_PID, LOG_AUTHPRIV);
    auto config = Config::load(o.config);
    if (!config) return fail(config.error());
    try {
        if (o.mode == "server") return run_server(o, std::move(*config));
        return tunnel::run_client({o.config, o.foreground, o.check, o.names}, std::move(*config));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cardgate-tunnel: internal error: %s\n", e.what());
        return 4;
    }
}
