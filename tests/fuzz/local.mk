# Fuzz targets (libFuzzer): the bindings file (fuzz_bindings), what
# [[mapping.rule]] is made of, the config file included (fuzz_rules), and the
# CRL index: its DER reader, its checks and its payload (fuzz_crl_index).
#
# Built only when configure found clang++ with libFuzzer (HAVE_LIBFUZZER), by
# clang++ directly rather than through libtool: the code under test needs
# clang's coverage instrumentation, so every C++ file of libcardgate is
# compiled once more into tests/fuzz/libcardgate-fuzz.a and each target links
# what it uses from there. `make check` runs each target briefly over its seed
# corpus (bindings.sh, rules.sh, crl_index.sh, all TAP; skipped without clang++);
# tests/fuzz/run-long fuzzes for longer, by hand.
FUZZ_TARGETS = tests/fuzz/fuzz_bindings tests/fuzz/fuzz_rules tests/fuzz/fuzz_crl_index
FUZZ_TESTS = tests/fuzz/bindings.sh tests/fuzz/rules.sh tests/fuzz/crl_index.sh
FUZZ_LIB = tests/fuzz/libcardgate-fuzz.a

TESTS += $(FUZZ_TESTS)
EXTRA_DIST += $(FUZZ_TESTS) tests/fuzz/short-run.sh tests/fuzz/run-long \
	tests/fuzz/fixed_cert.hpp tests/fuzz/fuzz_bindings.cpp tests/fuzz/fuzz_rules.cpp \
	tests/fuzz/fuzz_crl_index.cpp \
	tests/fuzz/corpus
CLEANFILES += $(FUZZ_TARGETS) $(FUZZ_LIB) \
	tests/fuzz/fuzz_*-crash-* tests/fuzz/fuzz_*-leak-* tests/fuzz/fuzz_*-timeout-* \
	tests/fuzz/fuzz_*-oom-* tests/fuzz/fuzz_*-slow-unit-*

if HAVE_LIBFUZZER
check_DATA += $(FUZZ_TARGETS)
FUZZ_ENABLED = yes
else
FUZZ_ENABLED = no
endif
AM_TESTS_ENVIRONMENT += CARDGATE_FUZZ='$(FUZZ_ENABLED)'; export CARDGATE_FUZZ;

# toml++ is the shared library the programs use: its own bugs are upstream's
# (e.g. marzer/tomlplusplus#294, #295), and this way the fuzzer runs the TOML parser
# exactly as shipped; cardgate's own code is what gets instrumented.
FUZZ_CPPFLAGS = -I$(abs_top_srcdir) -I$(abs_top_srcdir)/src -I$(abs_top_builddir) \
	-DCARDGATE_INDEX_DIR='"$(localstatedir)/cache/cardgate"' \
	$(OPENSSL_CFLAGS) $(P11KIT_CFLAGS) $(TOMLPP_CFLAGS) $(CURL_CFLAGS)
FUZZ_LIBS = $(OPENSSL_LIBS) $(TOMLPP_LIBS) $(CURL_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)

# One object per C++ file of libcardgate, named after its path, made in a
# scratch directory so an interrupted build leaves no half-made archive.
$(FUZZ_LIB): $(libcardgate_la_SOURCES)
	$(AM_V_GEN)rm -rf $(FUZZ_LIB).tmp && $(MKDIR_P) $(FUZZ_LIB).tmp && \
	for s in $(libcardgate_la_SOURCES); do \
	  case $$s in *.cpp) ;; *) continue ;; esac; \
	  o=`echo "$$s" | sed 's|/|_|g; s|\.cpp$$|.o|'`; \
	  $(CLANGXX) $(CG_FUZZ_CXXFLAGS) $(FUZZ_CPPFLAGS) -c -o $(FUZZ_LIB).tmp/$$o $(abs_top_srcdir)/$$s || exit 1; \
	done && \
	rm -f $@ && $(AR) cr $@ $(FUZZ_LIB).tmp/*.o && $(RANLIB) $@ && rm -rf $(FUZZ_LIB).tmp

tests/fuzz/fuzz_bindings: tests/fuzz/fuzz_bindings.cpp tests/fuzz/fixed_cert.hpp $(FUZZ_LIB)
	$(AM_V_CXXLD)$(CLANGXX) $(CG_FUZZ_CXXFLAGS) $(FUZZ_CPPFLAGS) $(CG_FUZZ_LDFLAGS) -o $@ \
	  $(srcdir)/tests/fuzz/fuzz_bindings.cpp $(FUZZ_LIB) $(FUZZ_LIBS)

tests/fuzz/fuzz_rules: tests/fuzz/fuzz_rules.cpp tests/fuzz/fixed_cert.hpp $(FUZZ_LIB)
	$(AM_V_CXXLD)$(CLANGXX) $(CG_FUZZ_CXXFLAGS) $(FUZZ_CPPFLAGS) $(CG_FUZZ_LDFLAGS) -o $@ \
	  $(srcdir)/tests/fuzz/fuzz_rules.cpp $(FUZZ_LIB) $(FUZZ_LIBS)

tests/fuzz/fuzz_crl_index: tests/fuzz/fuzz_crl_index.cpp $(FUZZ_LIB)
	$(AM_V_CXXLD)$(CLANGXX) $(CG_FUZZ_CXXFLAGS) $(FUZZ_CPPFLAGS) $(CG_FUZZ_LDFLAGS) -o $@ \
	  $(srcdir)/tests/fuzz/fuzz_crl_index.cpp $(FUZZ_LIB) $(FUZZ_LIBS)

# Removed by the top-level clean-local, should a build have been interrupted.
FIXTURE_CLEAN_DIRS += $(FUZZ_LIB).tmp
