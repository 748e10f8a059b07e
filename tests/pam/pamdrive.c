/* pamdrive: runs PAM operations through the real libpam with a scripted
 * person, for tests/integration/pam.sh (under pam_wrapper, which points
 * libpam at a test service directory).
 *
 *   pamdrive [-a ANSWER]... [-f FILE] SERVICE USER OP...
 *
 * USER "" starts PAM without a user. OP is one of authenticate, setcred,
 * acct_mgmt, open_session, close_session, chauthtok, or set_user=NAME
 * (pam_set_item(PAM_USER), as an application may between two operations;
 * reported as "set_user: CODE"). Each prompt (echo on or
 * off) takes the next answer: the -a answers in order, then the lines of FILE.
 * The answer "@cancel", or no answer left, makes the conversation fail
 * (PAM_CONV_ERR), as a person pressing Ctrl-D would.
 *
 * Output, one line each, in order (answers are never printed: one is a PIN):
 *   pam_start: PAM_SUCCESS
 *   prompt_echo_off: PIN for alice-ec256:      (the prompt as sent)
 *   prompt_echo_on: Choose 1-2:
 *   answer: given | cancelled
 *   info: TEXT / error: TEXT                    (control bytes as \xHH)
 *   authenticate: PAM_AUTH_ERR                  (the code's name)
 *   PAM_USER: alice                             (after authenticate; "(unset)")
 *   env: NAME=VALUE                             (the PAM environment, after each op)
 * Exit status: 0 when every operation ran (whatever it returned), 2 on misuse.
 */
#define _GNU_SOURCE
#include <security/pam_appl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct script {
    const char** answers;
    int count, next;
};

static const char* code_name(int rc) {
    switch (rc) {
#define C(n) \
    case n: return #n;
    C(PAM_SUCCESS) C(PAM_OPEN_ERR) C(PAM_SYMBOL_ERR) C(PAM_SERVICE_ERR) C(PAM_SYSTEM_ERR) C(PAM_BUF_ERR)
    C(PAM_PERM_DENIED) C(PAM_AUTH_ERR) C(PAM_CRED_INSUFFICIENT) C(PAM_AUTHINFO_UNAVAIL) C(PAM_USER_UNKNOWN)
    C(PAM_MAXTRIES) C(PAM_NEW_AUTHTOK_REQD) C(PAM_ACCT_EXPIRED) C(PAM_SESSION_ERR) C(PAM_CRED_UNAVAIL)
    C(PAM_CRED_EXPIRED) C(PAM_CRED_ERR) C(PAM_NO_MODULE_DATA) C(PAM_CONV_ERR) C(PAM_AUTHTOK_ERR)
    C(PAM_AUTHTOK_RECOVERY_ERR) C(PAM_AUTHTOK_LOCK_BUSY) C(PAM_AUTHTOK_DISABLE_AGING) C(PAM_TRY_AGAIN)
    C(PAM_IGNORE) C(PAM_ABORT) C(PAM_AUTHTOK_EXPIRED) C(PAM_MODULE_UNKNOWN) C(PAM_BAD_ITEM) C(PAM_CONV_AGAIN)
    C(PAM_INCOMPLETE)
#undef C
    }
    return "PAM_UNKNOWN_CODE";
}

/* Text from the module, on one line, control bytes as \xHH (and "\" as
 * "\\"): a test can see that a module let a terminal escape through, and a
 * newline cannot forge a line of this output. */
static void print_text(const char* tag, const char* text) {
    printf("%s: ", tag);
    for (const unsigned char* p = (const unsigned char*)(text ? text : ""); *p; ++p) {
        if (*p < 0x20 || *p == 0x7f) printf("\\x%02x", *p);
        else if (*p == '\\') fputs("\\\\", stdout);
        else putchar(*p);
    }
    putchar('\n');
}

static void free_responses(struct pam_response* r, int n) {
    for (int i = 0; i < n; ++i)
        if (r[i].resp) {
            explicit_bzero(r[i].resp, strlen(r[i].resp));
            free(r[i].resp);
        }
    free(r);
}

static int converse(int n, const struct pam_message** msg, struct pam_response** resp, void* data) {
    struct script* s = data;
    if (n <= 0 || n > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
    struct pam_response* r = calloc((size_t)n, sizeof *r);
    if (!r) return PAM_BUF_ERR;
    for (int i = 0; i < n; ++i) {
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
        case PAM_PROMPT_ECHO_ON: {
            print_text(msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ? "prompt_echo_off" : "prompt_echo_on", msg[i]->msg);
            const char* a = s->next < s->count ? s->answers[s->next++] : NULL;
            if (!a || strcmp(a, "@cancel") == 0) {
                printf("answer: cancelled\n");
                fflush(stdout);
                free_responses(r, n);
                return PAM_CONV_ERR;
            }
            printf("answer: given\n");
            r[i].resp = strdup(a);
            if (!r[i].resp) {
                free_responses(r, n);
                return PAM_BUF_ERR;
            }
            break;
        }
        case PAM_TEXT_INFO: print_text("info", msg[i]->msg); break;
        case PAM_ERROR_MSG: print_text("error", msg[i]->msg); break;
        default:
            print_text("unknown_style", msg[i]->msg);
            free_responses(r, n);
            return PAM_CONV_ERR;
        }
    }
    fflush(stdout);
    *resp = r;
    return PAM_SUCCESS;
}

static int run_op(pam_handle_t* pamh, const char* op, int* rc) {
    if (strcmp(op, "authenticate") == 0) *rc = pam_authenticate(pamh, 0);
    else if (strcmp(op, "setcred") == 0) *rc = pam_setcred(pamh, PAM_ESTABLISH_CRED);
    else if (strcmp(op, "acct_mgmt") == 0) *rc = pam_acct_mgmt(pamh, 0);
    else if (strcmp(op, "open_session") == 0) *rc = pam_open_session(pamh, 0);
    else if (strcmp(op, "close_session") == 0) *rc = pam_close_session(pamh, 0);
    else if (strcmp(op, "chauthtok") == 0) *rc = pam_chauthtok(pamh, 0);
    else if (strncmp(op, "set_user=", 9) == 0) *rc = pam_set_item(pamh, PAM_USER, op + 9);
    else return -1;
    return 0;
}

static void print_env(pam_handle_t* pamh) {
    char** env = pam_getenvlist(pamh);
    if (!env) return;
    for (char** e = env; *e; ++e) {
        print_text("env", *e);
        free(*e);
    }
    free(env);
}

static int usage(void) {
    fprintf(stderr, "usage: pamdrive [-a ANSWER]... [-f FILE] SERVICE USER OP...\n");
    return 2;
}

int main(int argc, char** argv) {
    static const char* answers[256];
    struct script s = {answers, 0, 0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; ++i) {
        if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
            if (s.count == 256) return usage();
            answers[s.count++] = argv[++i];
        } else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
            FILE* f = fopen(argv[++i], "r");
            if (!f) {
                perror(argv[i]);
                return 2;
            }
            char* line = NULL;
            size_t cap = 0;
            ssize_t len;
            while ((len = getline(&line, &cap, f)) >= 0) {
                if (s.count == 256) return usage();
                if (len > 0 && line[len - 1] == '\n') line[len - 1] = '\0';
                answers[s.count++] = strdup(line);
            }
            free(line);
            fclose(f);
        } else {
            return usage();
        }
    }
    if (argc - i < 3) return usage();
    const char* service = argv[i];
    const char* user = argv[i + 1][0] ? argv[i + 1] : NULL;

    const struct pam_conv conv = {converse, &s};
    pam_handle_t* pamh = NULL;
    int rc = pam_start(service, user, &conv, &pamh);
    printf("pam_start: %s\n", code_name(rc));
    if (rc != PAM_SUCCESS) return 1;
    for (i += 2; i < argc; ++i) {
        int op_rc;
        if (run_op(pamh, argv[i], &op_rc) != 0) {
            fprintf(stderr, "pamdrive: unknown operation %s\n", argv[i]);
            pam_end(pamh, PAM_ABORT);
            return 2;
        }
        printf("%s: %s\n", strncmp(argv[i], "set_user=", 9) == 0 ? "set_user" : argv[i], code_name(op_rc));
        if (strcmp(argv[i], "authenticate") == 0) {
            const void* u = NULL;
            if (pam_get_item(pamh, PAM_USER, &u) == PAM_SUCCESS && u) print_text("PAM_USER", u);
            else printf("PAM_USER: (unset)\n");
        }
        print_env(pamh);
        rc = op_rc;
    }
    printf("pam_end: %s\n", code_name(pam_end(pamh, rc)));
    return 0;
}
