# faultp11: fault-injecting PKCS#11 module for tests (see faultp11.c). A libtool
# module so it lands at tests/faultp11/.libs/faultp11.so (FAULTP11_MODULE).
check_LTLIBRARIES += tests/faultp11/faultp11.la
tests_faultp11_faultp11_la_SOURCES = tests/faultp11/faultp11.c
tests_faultp11_faultp11_la_CPPFLAGS = $(P11KIT_CFLAGS)
tests_faultp11_faultp11_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_faultp11_faultp11_la_LIBADD = $(DL_LIBS)
