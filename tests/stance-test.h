/* stance-test.h: helpers shared by the Check test programs.
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

/* Absolute path of a file in tests/data (static buffer per call site is not needed: caller owns
 * the returned malloc'd string). */
char *stance_test_data_path(const char *relative);

/* A fresh temporary directory for a test (removed by the OS; name printed on failure). */
char *stance_test_tmpdir(void);

/* True when the tests run under valgrind (meson test --setup valgrind sets STANCE_UNDER_VALGRIND):
 * slow loops then cover fewer cases, still checking real values. */
bool stance_test_under_valgrind(void);

/* Makes the decimal-comma locale de_DE.UTF-8 available to setlocale(): the system's, or one built
 * with localedef (these machines list only C, C.utf8 and POSIX), kept in
 * $STANCE_BUILD_ROOT/test-locale for later runs (else in a temporary folder that
 * stance_test_release_comma_locale() removes). Leaves the process in the C locale; false when no
 * such locale could be set up. Call from main(), outside any test. */
bool stance_test_prepare_comma_locale(void);
void stance_test_release_comma_locale(void);

/* Runs a suite and returns the process exit status (0 when every test passed). */
int stance_test_run(Suite *s);

/* |a - b| <= tol, with a message naming what was compared. */
#define ck_assert_near(a, b, tol)                                                                  \
  do {                                                                                             \
    double _a = (a), _b = (b), _t = (tol);                                                         \
    ck_assert_msg(fabs(_a - _b) <= _t, "%s = %.9g, expected %s = %.9g within %g", #a, _a, #b, _b,  \
                  _t);                                                                             \
  } while (0)

/* Simulator helpers shared by the simulator tests (fail the test on any error). */
#include "stance-sim.h"

/* Defaults for proto with the given seed. */
StanceSimParams stance_test_sim_params(StanceProtocol proto, uint64_t seed);
/* Sets one parameter as the CLI would. */
void stance_test_sim_set(StanceSimParams *p, const char *key, const char *value);
/* Runs the simulator; truth may be NULL. */
void stance_test_sim_run(const StanceSimParams *p, StanceRecording **rec, StanceSimTruth **truth);
