// cardgate: the command-line front end. A thin adapter: every decision is made
// in libcardgate; this file parses the command line and dispatches.
#include <malloc.h>

#include <cstdlib>
#include <iostream>

#include "config.h"
#include "cli.hpp"
#include "src/harden.hpp"

using namespace cardgate;
using namespace cardgate::cli;

int main(int argc, char** argv) {
    harden_process();  // a PIN may pass through this process
    // Card operations run on a worker thread (pkcs11/timeout.hpp); one malloc
    // arena spares that thread an arena of its own, grown page by page with
    // mprotect (about a hundred system calls per command, measured).
    mallopt(M_ARENA_MAX, 1);
    auto opts = parse_options(argc, argv);
    if (!opts) {
        std::cerr << "cardgate: " << opts.error().detail() << "\n\n" << usage_text();
        return exit_code(Code::usage);
    }
    Output out(opts->json);
    const std::string& cmd = opts->command;
    if (cmd == "help") {
        std::cout << usage_text();
        return 0;
    }
    if (cmd == "version") {
        std::cout << PACKAGE_STRING << '\n';
        return 0;
    }
    int rc;
    try {
        if (cmd == "list") rc = cmd_list(*opts, out);
        else if (cmd == "verify") rc = cmd_verify(*opts, out);
        else if (cmd == "prove") rc = cmd_prove(*opts, out);
        else if (cmd == "check-config") rc = cmd_check_config(*opts, out);
        else if (cmd == "map") rc = cmd_map(*opts, out);
        else if (cmd == "revocation") rc = cmd_revocation(*opts, out);
        else if (cmd == "pin") rc = cmd_pin(*opts, out);
        else {
            std::cerr << "cardgate: unknown command '" << cmd << "'\n\n" << usage_text();
            return exit_code(Code::usage);
        }
    } catch (const std::exception& e) {
        // Nothing below throws by design; a throw is a bug, reported as internal.
        rc = out.fail(Error(Code::internal, e.what()));
    }
    if (out.last_code() == Code::p11_timeout) {
        // A card call is still hung on an abandoned thread inside the PKCS#11
        // module: running the module's static destructors under it could crash
        // or hang at exit, so leave without them.
        std::cout.flush();
        std::cerr.flush();
        std::_Exit(rc);
    }
    return rc;
}
