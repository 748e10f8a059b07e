# pamdrive: drives the real libpam (under pam_wrapper) with a scripted person,
# for tests/integration/pam.sh. Plain libpam, so what it sees is what sshd,
# login or sudo would see.
check_PROGRAMS += tests/pam/pamdrive
tests_pam_pamdrive_SOURCES = tests/pam/pamdrive.c
tests_pam_pamdrive_LDADD = $(PAM_LIBS)
