/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "stance-test.h"

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
