# make check: fuzz_crl_index (the CRL index: DER, signature, extensions, payload), briefly. See short-run.sh.
. "$(dirname "$0")/short-run.sh"
short_run fuzz_crl_index crl_index 40960
