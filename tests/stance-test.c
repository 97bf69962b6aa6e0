/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "stance-test.h"

#include <locale.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
stance_test_data_path(const char *relative)
{
  const char *dir = getenv("STANCE_TEST_DATA");
  if (!dir || !*dir)
    dir = STANCE_TEST_DATA_DIR;
  size_t n = strlen(dir) + strlen(relative) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", dir, relative);
  return p;
}

char *
stance_test_tmpdir(void)
{
  const char *base = getenv("TMPDIR");
  if (!base || !*base)
    base = "/tmp";
  size_t n = strlen(base) + 32;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/stance-test-XXXXXX", base);
  ck_assert_ptr_nonnull(mkdtemp(p));
  return p;
}

int
stance_test_run(Suite *s)
{
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

StanceSimParams
stance_test_sim_params(StanceProtocol proto, uint64_t seed)
{
  StanceSimParams p;
  stance_sim_params_default(&p, proto);
  p.seed = seed;
  return p;
}

void
stance_test_sim_set(StanceSimParams *p, const char *key, const char *value)
{
  StanceError err = {0};
  ck_assert_msg(stance_sim_params_set(p, key, value, &err) == 0, "%s=%s: %s", key, value,
                err.message);
}

void
stance_test_sim_run(const StanceSimParams *p, StanceRecording **rec, StanceSimTruth **truth)
{
  StanceError err = {0};
  int r = stance_sim_run(p, rec, truth, &err);
  ck_assert_msg(r == 0, "stance_sim_run(%s) failed: %s", stance_protocol_name(p->protocol),
                err.message);
  ck_assert_ptr_nonnull(*rec);
  if (truth)
    ck_assert_ptr_nonnull(*truth);
}

bool
stance_test_under_valgrind(void)
{
  const char *v = getenv("STANCE_UNDER_VALGRIND");
  return v && *v && strcmp(v, "0") != 0;
}

/* Makes de_DE.UTF-8 available: the system's, or one built with localedef (these machines list
 * only C, C.utf8 and POSIX). The build is kept in $STANCE_BUILD_ROOT/test-locale for the next run
 * and the other test programs (built in a temporary folder renamed into place, so two programs
 * building at once do not collide); without STANCE_BUILD_ROOT in a temporary folder removed at
 * the end. */
static char *comma_locale_dir = NULL;

bool
stance_test_prepare_comma_locale(void)
{
  if (setlocale(LC_ALL, "de_DE.UTF-8")) {
    setlocale(LC_ALL, "C");
    return true;
  }
  const char *root = getenv("STANCE_BUILD_ROOT");
  char cache[512] = "", probe[600];
  if (root && *root) {
    snprintf(cache, sizeof cache, "%s/test-locale", root);
    snprintf(probe, sizeof probe, "%s/de_DE.UTF-8/LC_NUMERIC", cache);
  }
  if (!cache[0] || access(probe, R_OK) != 0) {
    /* Not stance_test_tmpdir(): it asserts, and main() runs outside any test. */
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    if (cache[0])
      snprintf(tmpl, sizeof tmpl, "%s.XXXXXX", cache);
    else
      snprintf(tmpl, sizeof tmpl, "%s/stance-locale-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl))
      return false;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1", tmpl);
    int r = system(cmd);
    if (cache[0]) {
      if (r != 0 || rename(tmpl, cache) != 0) {
        /* Failed, or another program renamed its build first: use that one. */
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
        if (system(cmd) != 0)
          fprintf(stderr, "could not remove %s\n", tmpl);
      }
    } else {
      comma_locale_dir = strdup(tmpl);
      if (r != 0 || !comma_locale_dir)
        return false;
    }
  }
  setenv("LOCPATH", cache[0] ? cache : comma_locale_dir, 1);
  if (setlocale(LC_ALL, "de_DE.UTF-8")) {
    setlocale(LC_ALL, "C");
    return true;
  }
  return false;
}

void
stance_test_release_comma_locale(void)
{
  if (!comma_locale_dir)
    return;
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", comma_locale_dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", comma_locale_dir);
  free(comma_locale_dir);
  comma_locale_dir = NULL;
}
