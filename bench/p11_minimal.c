/* The peer for `cardgate prove`: the least a program can do with libp11 to
 * sign a fresh 32-byte challenge on the card and verify it with the
 * certificate's public key. No config, no validation, no timeouts.
 * usage: p11_minimal MODULE TOKEN-LABEL PIN */
#include <stdio.h>
#include <string.h>

#include <libp11.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODULE TOKEN-LABEL PIN\n", argv[0]);
        return 2;
    }
    PKCS11_CTX *ctx = PKCS11_CTX_new();
    PKCS11_SLOT *slots = NULL, *slot = NULL;
    unsigned int nslots = 0, ncerts = 0, i;
    PKCS11_CERT *certs = NULL;
    int rc = 1;
    if (PKCS11_CTX_load(ctx, argv[1]) != 0 || PKCS11_enumerate_slots(ctx, &slots, &nslots) != 0) return 3;
    for (i = 0; i < nslots; i++)
        if (slots[i].token && strcmp(slots[i].token->label, argv[2]) == 0) slot = &slots[i];
    if (!slot) return 3;
    /* libp11 #525: open a session before login. */
    if (PKCS11_open_session(slot, 0) != 0 || PKCS11_login(slot, 0, argv[3]) != 0) return 3;
    if (PKCS11_enumerate_certs(slot->token, &certs, &ncerts) != 0 || ncerts == 0) return 3;
    PKCS11_KEY *key = PKCS11_find_key(&certs[0]);
    if (!key) return 3;
    EVP_PKEY *priv = PKCS11_get_private_key(key);
    EVP_PKEY *pub = X509_get0_pubkey(certs[0].x509);
    unsigned char challenge[32], sig[1024];
    size_t siglen = sizeof sig;
    RAND_bytes(challenge, sizeof challenge);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, priv) == 1 &&
        EVP_DigestSign(md, sig, &siglen, challenge, sizeof challenge) == 1) {
        EVP_MD_CTX_reset(md);
        if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
            EVP_DigestVerify(md, sig, siglen, challenge, sizeof challenge) == 1)
            rc = 0;
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(priv);
    PKCS11_release_all_slots(ctx, slots, nslots);
    PKCS11_CTX_unload(ctx);
    PKCS11_CTX_free(ctx);
    puts(rc == 0 ? "verified" : "FAILED");
    return rc;
}
