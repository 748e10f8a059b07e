/* faultp11: a fault-injecting PKCS#11 module for cardgate's tests.
 *
 * Forwards every call to the real module named by FAULTP11_REAL (default:
 * $SOFTHSM2_MODULE, else /usr/lib/softhsm/libsofthsm2.so) and misbehaves on
 * request. The faults are read at EACH call from the file named by
 * FAULTP11_CONTROL (if set) or else from FAULTP11_FAULTS: a comma-separated list of
 *
 *   hang_sign            C_Sign never returns
 *   removed_sign         C_Sign returns CKR_DEVICE_REMOVED
 *   removed_after_login  every call after a successful C_Login returns CKR_DEVICE_REMOVED
 *   corrupt_sign         C_Sign flips one bit of the signature
 *   hide_keys            C_FindObjects drops private and public keys
 *   hide_certs           C_FindObjects drops certificates
 *   pin_pad              tokens claim CKF_PROTECTED_AUTHENTICATION_PATH; C_Login with a
 *                        NULL PIN logs in with $FAULTP11_PAD_PIN (the "PIN pad")
 *   pin_counter          a real card's retry counter (SoftHSM has none), kept per token
 *                        serial in $FAULTP11_STATE (default $TMPDIR/faultp11.state):
 *                        1 wrong PIN → CKF_USER_PIN_COUNT_LOW, 2 → also
 *                        CKF_USER_PIN_FINAL_TRY, 3 → CKF_USER_PIN_LOCKED and C_Login
 *                        answers CKR_PIN_LOCKED even to the right PIN; a right PIN
 *                        before that resets the count
 *   pin_to_be_changed    tokens claim CKF_USER_PIN_TO_BE_CHANGED (an initial or expired PIN)
 *   no_pss               CKM_RSA_PKCS_PSS is not offered and refused
 *   only_x509            of the RSA signature mechanisms only CKM_RSA_X_509 is offered
 *   slow_sign=MS         C_Sign sleeps MS milliseconds first
 *
 * An unknown fault name makes C_Initialize fail (and every later call), so a
 * typo in a test is loud rather than a silently passing test.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define FAULTP11_EXPORT __attribute__((visibility("default")))

static CK_FUNCTION_LIST* real;
static CK_FUNCTION_LIST table;
static void* real_handle;
static _Atomic int removed; /* set by a successful C_Login under removed_after_login; read by every thread */

/* ------------------------------------------------------------------ faults */

struct faults {
    int bad; /* an unknown name was given */
    int hang_sign, removed_sign, removed_after_login, corrupt_sign, hide_keys, hide_certs;
    int pin_pad, pin_counter, pin_to_be_changed, no_pss, only_x509;
    int hostile_label, huge_attr, many_slots;
    long slow_sign_ms;
};

static void parse_item(struct faults* f, const char* item) {
    if (*item == '\0') return;
#define FLAG(n)                       \
    if (strcmp(item, #n) == 0) {      \
        f->n = 1;                     \
        return;                       \
    }
    FLAG(hang_sign)
    FLAG(removed_sign)
    FLAG(removed_after_login)
    FLAG(corrupt_sign)
    FLAG(hide_keys)
    FLAG(hide_certs)
    FLAG(pin_pad)
    FLAG(pin_counter)
    FLAG(pin_to_be_changed)
    FLAG(no_pss)
    FLAG(only_x509)
    FLAG(hostile_label)
    FLAG(huge_attr)
    FLAG(many_slots)
#undef FLAG
    if (strncmp(item, "slow_sign=", 10) == 0) {
        char* end = NULL;
        errno = 0;
        long ms = strtol(item + 10, &end, 10);
        if (errno == 0 && end != item + 10 && *end == '\0' && ms >= 0) {
            f->slow_sign_ms = ms;
            return;
        }
    }
    fprintf(stderr, "faultp11: unknown fault '%s'\n", item);
    f->bad = 1;
}

static struct faults read_faults(void) {
    struct faults f;
    memset(&f, 0, sizeof f);
    char buf[1024] = "";
    const char* control = getenv("FAULTP11_CONTROL");
    if (control != NULL && *control != '\0') {
        FILE* fp = fopen(control, "r");
        if (fp != NULL) {
            size_t n = fread(buf, 1, sizeof buf - 1, fp);
            buf[n] = '\0';
            fclose(fp);
        } /* a missing control file means no faults */
    } else {
        const char* env = getenv("FAULTP11_FAULTS");
        if (env != NULL) snprintf(buf, sizeof buf, "%s", env);
    }
    char* save = NULL;
    for (char* tok = strtok_r(buf, ", \t\r\n", &save); tok != NULL; tok = strtok_r(NULL, ", \t\r\n", &save))
        parse_item(&f, tok);
    return f;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------ pin counter */

static void state_path(char* out, size_t n) {
    const char* p = getenv("FAULTP11_STATE");
    if (p != NULL && *p != '\0') {
        snprintf(out, n, "%s", p);
        return;
    }
    const char* tmp = getenv("TMPDIR");
    snprintf(out, n, "%s/faultp11.state", (tmp != NULL && *tmp != '\0') ? tmp : "/tmp");
}

/* Serial number of the token in a slot, blank padding removed. */
static int slot_serial(CK_SLOT_ID slot, char* out, size_t n) {
    CK_TOKEN_INFO ti;
    if (real->C_GetTokenInfo(slot, &ti) != CKR_OK) return -1;
    size_t len = sizeof ti.serialNumber;
    while (len > 0 && ti.serialNumber[len - 1] == ' ') --len;
    if (len >= n) len = n - 1;
    memcpy(out, ti.serialNumber, len);
    out[len] = '\0';
    return 0;
}

static int session_serial(CK_SESSION_HANDLE s, char* out, size_t n) {
    CK_SESSION_INFO si;
    if (real->C_GetSessionInfo(s, &si) != CKR_OK) return -1;
    return slot_serial(si.slotID, out, n);
}

/* State file: one "serial count" per line. */
static int counter_get(const char* serial) {
    char path[4096], line[256], s[128];
    int c, result = 0;
    state_path(path, sizeof path);
    FILE* fp = fopen(path, "r");
    if (fp == NULL) return 0;
    while (fgets(line, sizeof line, fp) != NULL)
        if (sscanf(line, "%127s %d", s, &c) == 2 && strcmp(s, serial) == 0) result = c;
    fclose(fp);
    return result;
}

static void counter_set(const char* serial, int value) {
    char path[4096], tmp[4200], line[256], s[128];
    int c;
    state_path(path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    FILE* out = fopen(tmp, "w");
    if (out == NULL) return;
    FILE* in = fopen(path, "r");
    if (in != NULL) {
        while (fgets(line, sizeof line, in) != NULL)
            if (sscanf(line, "%127s %d", s, &c) == 2 && strcmp(s, serial) != 0) fprintf(out, "%s %d\n", s, c);
        fclose(in);
    }
    fprintf(out, "%s %d\n", serial, value);
    fclose(out);
    rename(tmp, path);
}

/* ------------------------------------------------------------ mechanisms */

static int is_rsa_signing(CK_MECHANISM_TYPE m) {
    return (m >= CKM_RSA_PKCS && m <= CKM_SHA1_RSA_PKCS_PSS && m != CKM_RSA_X_509) ||
           (m >= CKM_SHA256_RSA_PKCS && m <= CKM_SHA224_RSA_PKCS_PSS) || (m >= 0x60 && m <= 0x67) /* SHA3 */;
}

static int hidden_mechanism(const struct faults* f, CK_MECHANISM_TYPE m) {
    if (f->no_pss && m == CKM_RSA_PKCS_PSS) return 1;
    if (f->only_x509 && is_rsa_signing(m)) return 1;
    return 0;
}

/* ------------------------------------------------------------- wrappers */

/* Common prologue: a bad fault list fails everything; after a "removal" every
 * call fails as a removed device would. */
#define PROLOGUE(f)                                       \
    struct faults f = read_faults();                      \
    if (f.bad) return CKR_GENERAL_ERROR;                  \
    if (removed && f.removed_after_login) return CKR_DEVICE_REMOVED;

static CK_RV w_Initialize(void* args) {
    struct faults f = read_faults();
    if (f.bad) return CKR_ARGUMENTS_BAD;
    removed = 0;
    return real->C_Initialize(args);
}

static CK_RV w_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
    PROLOGUE(f)
    CK_RV rv = real->C_GetTokenInfo(slot, info);
    if (rv != CKR_OK) return rv;
    if (f.pin_pad) info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
    if (f.pin_to_be_changed) info->flags |= CKF_USER_PIN_TO_BE_CHANGED;
    if (f.hostile_label) {
        /* A label a hostile card might carry: a terminal escape (clear screen),
         * a newline and an invalid UTF-8 byte. */
        static const char evil[] = "evil\x1b[2J\n\xff";
        memset(info->label, ' ', sizeof info->label);
        memcpy(info->label, evil, sizeof evil - 1);
    }
    if (f.pin_counter) {
        char serial[64];
        if (slot_serial(slot, serial, sizeof serial) == 0) {
            int c = counter_get(serial);
            if (c >= 1) info->flags |= CKF_USER_PIN_COUNT_LOW;
            if (c >= 2) info->flags |= CKF_USER_PIN_FINAL_TRY;
            if (c >= 3) info->flags = (info->flags & ~(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY)) | CKF_USER_PIN_LOCKED;
        }
    }
    return CKR_OK;
}

static CK_RV w_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE* list, CK_ULONG* count) {
    PROLOGUE(f)
    CK_ULONG n = 0;
    CK_RV rv = real->C_GetMechanismList(slot, NULL, &n);
    if (rv != CKR_OK) return rv;
    CK_MECHANISM_TYPE* all = calloc(n ? n : 1, sizeof *all);
    if (all == NULL) return CKR_HOST_MEMORY;
    rv = real->C_GetMechanismList(slot, all, &n);
    if (rv != CKR_OK) {
        free(all);
        return rv;
    }
    CK_ULONG kept = 0;
    for (CK_ULONG i = 0; i < n; ++i)
        if (!hidden_mechanism(&f, all[i])) all[kept++] = all[i];
    if (list == NULL) {
        *count = kept;
    } else if (*count < kept) {
        *count = kept;
        rv = CKR_BUFFER_TOO_SMALL;
    } else {
        memcpy(list, all, kept * sizeof *all);
        *count = kept;
    }
    free(all);
    return rv;
}

static CK_RV w_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO* info) {
    PROLOGUE(f)
    if (hidden_mechanism(&f, type)) return CKR_MECHANISM_INVALID;
    return real->C_GetMechanismInfo(slot, type, info);
}

static CK_RV w_Login(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR* pin, CK_ULONG len) {
    PROLOGUE(f)
    char serial[64] = "";
    int counted = f.pin_counter && user == CKU_USER && session_serial(s, serial, sizeof serial) == 0;
    if (counted && counter_get(serial) >= 3) return CKR_PIN_LOCKED;
    if (f.pin_pad && pin == NULL) {
        const char* pad = getenv("FAULTP11_PAD_PIN");
        if (pad == NULL) return CKR_FUNCTION_CANCELED; /* nobody typed on the pad */
        pin = (CK_UTF8CHAR*)pad;
        len = strlen(pad);
    }
    CK_RV rv = real->C_Login(s, user, pin, len);
    if (counted) {
        if (rv == CKR_PIN_INCORRECT) counter_set(serial, counter_get(serial) + 1);
        else if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) counter_set(serial, 0);
    }
    if (rv == CKR_OK && f.removed_after_login) removed = 1;
    return rv;
}

static CK_RV w_FindObjects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE* out, CK_ULONG max, CK_ULONG* count) {
    PROLOGUE(f)
    if (!f.hide_keys && !f.hide_certs) return real->C_FindObjects(s, out, max, count);
    CK_ULONG kept = 0;
    while (kept < max) {
        CK_OBJECT_HANDLE h;
        CK_ULONG n = 0;
        CK_RV rv = real->C_FindObjects(s, &h, 1, &n);
        if (rv != CKR_OK) return rv;
        if (n == 0) break;
        CK_OBJECT_CLASS cls = 0;
        CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof cls};
        if (real->C_GetAttributeValue(s, h, &a, 1) == CKR_OK) {
            if (f.hide_keys && (cls == CKO_PRIVATE_KEY || cls == CKO_PUBLIC_KEY)) continue;
            if (f.hide_certs && cls == CKO_CERTIFICATE) continue;
        }
        out[kept++] = h;
    }
    *count = kept;
    return CKR_OK;
}

static CK_RV w_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM* mech, CK_OBJECT_HANDLE key) {
    PROLOGUE(f)
    if (mech != NULL && hidden_mechanism(&f, mech->mechanism)) return CKR_MECHANISM_INVALID;
    return real->C_SignInit(s, mech, key);
}

static CK_RV w_Sign(CK_SESSION_HANDLE s, CK_BYTE* data, CK_ULONG len, CK_BYTE* sig, CK_ULONG* sig_len) {
    PROLOGUE(f)
    if (f.hang_sign)
        for (;;) sleep(3600);
    if (f.slow_sign_ms > 0) sleep_ms(f.slow_sign_ms);
    if (f.removed_sign) return CKR_DEVICE_REMOVED;
    CK_RV rv = real->C_Sign(s, data, len, sig, sig_len);
    if (rv == CKR_OK && f.corrupt_sign && sig != NULL && *sig_len > 0) sig[*sig_len / 2] ^= 0x01;
    return rv;
}

/* Plain forwarding with the common prologue, for the rest of what a session does. */
#define FORWARD(name, params, args) \
    static CK_RV w_##name params {  \
        PROLOGUE(f)                 \
        (void)f;                    \
        return real->C_##name args; \
    }

/* many_slots: the size query claims a million slots. */
static CK_RV w_GetSlotList(CK_BBOOL p, CK_SLOT_ID* l, CK_ULONG* n) {
    PROLOGUE(f)
    CK_RV rv = real->C_GetSlotList(p, l, n);
    if (rv == CKR_OK && f.many_slots && l == NULL) *n = 1000000;
    return rv;
}

/* huge_attr: every size query answers 2^31-1 bytes. */
static CK_RV w_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE* t, CK_ULONG n) {
    PROLOGUE(f)
    CK_RV rv = real->C_GetAttributeValue(s, o, t, n);
    if (f.huge_attr)
        for (CK_ULONG i = 0; i < n; i++)
            if (t[i].pValue == NULL && t[i].ulValueLen != CK_UNAVAILABLE_INFORMATION) t[i].ulValueLen = 0x7fffffff;
    return rv;
}
FORWARD(GetSlotInfo, (CK_SLOT_ID id, CK_SLOT_INFO* i), (id, i))
FORWARD(OpenSession, (CK_SLOT_ID id, CK_FLAGS fl, void* app, CK_NOTIFY cb, CK_SESSION_HANDLE* s), (id, fl, app, cb, s))
FORWARD(CloseSession, (CK_SESSION_HANDLE s), (s))
FORWARD(CloseAllSessions, (CK_SLOT_ID id), (id))
FORWARD(GetSessionInfo, (CK_SESSION_HANDLE s, CK_SESSION_INFO* i), (s, i))
FORWARD(Logout, (CK_SESSION_HANDLE s), (s))
FORWARD(FindObjectsInit, (CK_SESSION_HANDLE s, CK_ATTRIBUTE* t, CK_ULONG n), (s, t, n))
FORWARD(FindObjectsFinal, (CK_SESSION_HANDLE s), (s))
FORWARD(SignUpdate, (CK_SESSION_HANDLE s, CK_BYTE* p, CK_ULONG n), (s, p, n))
FORWARD(SignFinal, (CK_SESSION_HANDLE s, CK_BYTE* sig, CK_ULONG* n), (s, sig, n))
FORWARD(VerifyInit, (CK_SESSION_HANDLE s, CK_MECHANISM* m, CK_OBJECT_HANDLE k), (s, m, k))
FORWARD(Verify, (CK_SESSION_HANDLE s, CK_BYTE* d, CK_ULONG n, CK_BYTE* sig, CK_ULONG sn), (s, d, n, sig, sn))
FORWARD(DigestInit, (CK_SESSION_HANDLE s, CK_MECHANISM* m), (s, m))
FORWARD(Digest, (CK_SESSION_HANDLE s, CK_BYTE* d, CK_ULONG n, CK_BYTE* out, CK_ULONG* on), (s, d, n, out, on))
FORWARD(GenerateRandom, (CK_SESSION_HANDLE s, CK_BYTE* out, CK_ULONG n), (s, out, n))
FORWARD(SetPIN, (CK_SESSION_HANDLE s, CK_UTF8CHAR* o, CK_ULONG on, CK_UTF8CHAR* n, CK_ULONG nn), (s, o, on, n, nn))
FORWARD(InitPIN, (CK_SESSION_HANDLE s, CK_UTF8CHAR* p, CK_ULONG n), (s, p, n))

/* ------------------------------------------------------------- entry */

static const char* real_path(void) {
    const char* p = getenv("FAULTP11_REAL");
    if (p == NULL || *p == '\0') p = getenv("SOFTHSM2_MODULE");
    if (p == NULL || *p == '\0') p = "/usr/lib/softhsm/libsofthsm2.so";
    return p;
}

FAULTP11_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST** list) {
    if (list == NULL) return CKR_ARGUMENTS_BAD;
    if (real == NULL) {
        real_handle = dlopen(real_path(), RTLD_NOW | RTLD_LOCAL);
        if (real_handle == NULL) {
            fprintf(stderr, "faultp11: cannot load %s: %s\n", real_path(), dlerror());
            return CKR_GENERAL_ERROR;
        }
        CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(real_handle, "C_GetFunctionList");
        if (get == NULL || get(&real) != CKR_OK || real == NULL) {
            fprintf(stderr, "faultp11: %s has no usable C_GetFunctionList\n", real_path());
            real = NULL;
            return CKR_GENERAL_ERROR;
        }
        table = *real; /* everything not wrapped below goes straight to the real module */
#define WRAP(name) table.C_##name = w_##name
        WRAP(Initialize);
        WRAP(GetSlotList);
        WRAP(GetSlotInfo);
        WRAP(GetTokenInfo);
        WRAP(GetMechanismList);
        WRAP(GetMechanismInfo);
        WRAP(OpenSession);
        WRAP(CloseSession);
        WRAP(CloseAllSessions);
        WRAP(GetSessionInfo);
        WRAP(Login);
        WRAP(Logout);
        WRAP(GetAttributeValue);
        WRAP(FindObjectsInit);
        WRAP(FindObjects);
        WRAP(FindObjectsFinal);
        WRAP(SignInit);
        WRAP(Sign);
        WRAP(SignUpdate);
        WRAP(SignFinal);
        WRAP(VerifyInit);
        WRAP(Verify);
        WRAP(DigestInit);
        WRAP(Digest);
        WRAP(GenerateRandom);
        WRAP(SetPIN);
        WRAP(InitPIN);
#undef WRAP
        table.C_GetFunctionList = C_GetFunctionList;
    }
    *list = &table;
    return CKR_OK;
}
