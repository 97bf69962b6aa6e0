/* stance-cli.c: entry point of stance-cli: global options and subcommand dispatch.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   stance-cli simulate ...   simulated plates -> .stance or CSV + ground truth JSON
 *   stance-cli import ...     other systems' text files -> .stance
 *   stance-cli info ...       what a .stance or text file holds
 *   stance-cli analyse ...    trials, events, per-limb metrics, asymmetry (table, JSON, CSV)
 *   stance-cli record ...     plates, simulated plates or a replay -> .stance
 *   stance-cli devices        the boards connected over USB
 *   stance-cli athlete|session|report|export|import-bundle|trend   the session store
 *
 * Exit codes: 0 success, 1 bad input, 2 bad usage (see cli-common.h and docs/cli.md).
 */
#include "cli-common.h"
#include "cli-store.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "stance-config.h"

typedef struct {
  const char *name;
  const char *summary;
  CliMain run;
  void (*help)(FILE *out);
} CliCommand;

static const CliCommand commands[] = {
    {"simulate", "simulate an athlete on the twin plates; write a recording and its ground truth",
     cli_simulate_main, cli_simulate_help},
    {"import", "convert force-time text files of other systems into .stance recordings",
     cli_import_main, cli_import_help},
    {"info", "describe .stance recordings and importable text files", cli_info_main, cli_info_help},
    {"analyse", "trials, events, per-limb metrics and asymmetry of recordings (table, JSON, CSV)",
     cli_analyse_main, cli_analyse_help},
    {"record", "record from the plates, the simulated plates or a file replay into a .stance file",
     cli_record_main, cli_record_help},
    {"devices", "list the Stance boards connected over USB", cli_devices_main, cli_devices_help},
    {"athlete", "add, list, show and edit the athletes of the session store", cli_athlete_main,
     cli_athlete_help},
    {"session", "list and show stored sessions; accept, reject and re-analyse their trials",
     cli_session_main, cli_session_help},
    {"report", "write the PDF asymmetry report of a stored session", cli_report_main,
     cli_report_help},
    {"export", "export a stored session as CSV, C3D, JSON, PDF or a bundle", cli_export_main,
     cli_export_help},
    {"import-bundle", "import a session bundle from another Stance into the store",
     cli_import_bundle_main, cli_import_bundle_help},
    {"trend", "one metric across an athlete's sessions, with typical error and MDC95",
     cli_trend_main, cli_trend_help},
    {"calibrate", "calibrate the load cells (guided, simulated or from a recorded session)",
     cli_calibrate_main, cli_calibrate_help},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void
print_help(FILE *out)
{
  fputs("Usage: stance-cli <subcommand> [options] [arguments]\n"
        "       stance-cli help [<subcommand>]\n"
        "       stance-cli --version\n"
        "\n"
        "Stance measures how evenly an athlete's two legs produce force on twin force plates.\n"
        "\n"
        "Subcommands:\n",
        out);
  for (size_t k = 0; k < N_COMMANDS; k++)
    fprintf(out, "  %-13s %s\n", commands[k].name, commands[k].summary);
  fputs("  help          show this text, or a subcommand's options (same as <subcommand> --help)\n"
        "\n"
        "Options:\n"
        "  -h, --help     show this text and exit\n"
        "  -V, --version  show the version and exit\n"
        "\n"
        "Exit status: 0 success, 1 bad input (a file that cannot be read, is corrupt or cannot\n"
        "be parsed; a failed write), 2 bad usage (unknown subcommand or option, missing or bad\n"
        "option value).\n"
        "\n"
        "Examples:\n"
        "  stance-cli simulate --protocol cmj --asymmetry 10 --seed 7 -o cmj.stance\n"
        "  stance-cli import single_trial.csv -o athlete-cmj.stance --protocol cmj\n"
        "  stance-cli info athlete-cmj.stance\n"
        "  stance-cli analyse --format json athlete-cmj.stance\n"
        "  stance-cli record --sim cmj --rate 1000 --duration 3 -o c.stance\n"
        "  stance-cli athlete add \"Ana Silva\" --involved left\n"
        "  stance-cli record --sim cmj --asymmetry 10 --duration 30 --athlete \"Ana Silva\"\n"
        "  stance-cli session show latest\n"
        "  stance-cli report latest -o report.pdf\n"
        "\n"
        "Each subcommand's options: stance-cli <subcommand> --help. Manual: docs/cli.md.\n",
        out);
}

static const CliCommand *
find_command(const char *name)
{
  if (strcmp(name, "analyze") == 0)
    name = "analyse"; /* the American spelling is accepted too */
  for (size_t k = 0; k < N_COMMANDS; k++)
    if (strcmp(commands[k].name, name) == 0)
      return &commands[k];
  return NULL;
}

int
main(int argc, char **argv)
{
  /* The user's locale for messages and character handling, but numbers stay "C": the core parses
   * option values and files with strtod() and must see a decimal point. The CLI's own output does
   * not depend on LC_NUMERIC either (cli_fmt). */
  setlocale(LC_ALL, "");
  setlocale(LC_NUMERIC, "C");

  if (argc < 2) {
    fputs("stance-cli: no subcommand given\n", stderr);
    fputs("Usage: stance-cli <subcommand> [options]; subcommands: simulate, import, info, "
          "analyse, record, devices, athlete, session, report, export, import-bundle, trend, "
          "calibrate.\n"
          "Try 'stance-cli --help' for more.\n",
          stderr);
    return CLI_EXIT_USAGE;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
    print_help(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(sub, "--version") == 0 || strcmp(sub, "-V") == 0) {
    printf("stance-cli %s\n", STANCE_VERSION);
    return CLI_EXIT_OK;
  }
  if (strcmp(sub, "help") == 0) {
    if (argc == 2) {
      print_help(stdout);
      return CLI_EXIT_OK;
    }
    const CliCommand *c = find_command(argv[2]);
    if (!c)
      return cli_usage_error(NULL,
                             "help: '%s' is not a subcommand (expected simulate, import, info, "
                             "analyse, record, devices, athlete, session, report, export, "
                             "import-bundle, trend or calibrate)",
                             argv[2]);
    if (argc > 3)
      return cli_usage_error(NULL, "help takes one subcommand name, got %d arguments", argc - 2);
    c->help(stdout);
    return CLI_EXIT_OK;
  }
  if (sub[0] == '-')
    return cli_usage_error(NULL, "unknown option '%s' (expected a subcommand first)", sub);
  const CliCommand *c = find_command(sub);
  if (!c)
    return cli_usage_error(NULL,
                           "'%s' is not a subcommand (expected simulate, import, info, "
                           "analyse, record, devices, athlete, session, report, export, "
                           "import-bundle, trend or calibrate)",
                           sub);
  int code = c->run(argc - 1, argv + 1);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_error(sub, "cannot write to standard output");
    if (code == CLI_EXIT_OK)
      code = CLI_EXIT_INPUT;
  }
  return code;
}
