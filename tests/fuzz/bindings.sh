# make check: fuzz_bindings (the bindings file), briefly. See short-run.sh.
. "$(dirname "$0")/short-run.sh"
short_run fuzz_bindings bindings 8192
