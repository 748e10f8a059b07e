#include "prompt.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>

#include "src/pin.hpp"

namespace cardgate::cli {

Result<SecretBuffer> prompt_pin(const std::string& prompt) {
    const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return Error(Code::p11_pin_required, "no terminal to ask for the PIN; use --pin-source file:PATH");
    struct termios saved {};
    const bool is_tty = ::tcgetattr(fd, &saved) == 0;
    if (is_tty) {
        struct termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (::write(fd, prompt.data(), prompt.size()) < 0) { /* the prompt is advisory */ }

    SecretBuffer pin(max_pin_length);
    bool too_long = false;
    bool ended = false;  // a newline ended the line: anything else (EOF, error, signal) cancels
    unsigned char c;
    while (::read(fd, &c, 1) == 1) {
        if (c == '\n' || c == '\r') {
            ended = true;
            break;
        }
        if (!pin.push_back(c)) too_long = true;
    }
    c = 0;
    if (is_tty) ::tcsetattr(fd, TCSAFLUSH, &saved);
    if (::write(fd, "\n", 1) < 0) { /* cosmetic */ }
    ::close(fd);
    if (!ended) {
        // Never send a partial PIN to the card: it would spend a try.
        pin.clear();
        return Error(Code::p11_pin_required, "PIN entry cancelled");
    }
    if (too_long) return Error(Code::p11_pin_invalid, "PIN longer than " + std::to_string(max_pin_length) + " characters");
    if (pin.empty()) return Error(Code::p11_pin_invalid, "empty PIN");
    return pin;
}

}  // namespace cardgate::cli
