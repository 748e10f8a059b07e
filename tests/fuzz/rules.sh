# make check: fuzz_rules (templates, DNs, subject regexes, the config file), briefly. See short-run.sh.
. "$(dirname "$0")/short-run.sh"
short_run fuzz_rules rules 4096
