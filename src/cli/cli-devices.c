/* cli-devices.c: `stance-cli devices`: the Stance boards connected over USB.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Lists the boards stance_usb_list() finds (VID:PID 1209:0001), each asked for its INFO: serial,
 * firmware, protocol version, rates, whether it carries a calibration, and the problem when it
 * could not be asked (no permission, claimed by another program, a protocol this build does not
 * know). As a table or as JSON.
 */
#include "cli-common.h"

#include <getopt.h>
#include <string.h>

#include "stance-source-usb.h"

static const char *const SUB = "devices";

/* Version of the `devices --format json` document; bump on incompatible changes. */
#define DEVICES_JSON_VERSION 1

void
cli_devices_help(FILE *out)
{
  fputs("Usage: stance-cli devices [--format table|json]\n"
        "\n"
        "Lists the Stance boards connected over USB (USB ID 1209:0001): serial, firmware\n"
        "version, protocol version, sample rates, whether the board carries a calibration of its\n"
        "plates, and its USB bus and address. A board that cannot be asked (no permission: the\n"
        "udev rule is missing; claimed by another program; a protocol version this build does not\n"
        "know) is listed with the problem and what to do. With no board connected it prints \"No\n"
        "Stance boards connected.\" and exits 0.\n"
        "\n"
        "Options:\n"
        "      --format F    table (default) or json (\"stance_cli_devices\": 1 is its version)\n"
        "  -h, --help        show this text and exit\n"
        "\n"
        "Exit status: 0 listed (also when there is none), 1 USB cannot be used at all (libusb\n"
        "failed to start), 2 bad usage.\n"
        "\n"
        "Examples:\n"
        "  stance-cli devices\n"
        "  stance-cli devices --format json\n"
        "  stance-cli record --device SN-0042 --duration 30 -o trial.stance\n",
        out);
}

static void
rates_text(const StanceUsbBoard *b, char *buf, size_t n)
{
  size_t used = 0;
  buf[0] = '\0';
  for (int k = 0; k < b->n_rates && used < n; k++)
    used += (size_t)snprintf(buf + used, n - used, "%s%s", k ? " " : "",
                             cli_num_trim(b->rates_hz[k], 3));
  if (b->n_rates == 0)
    snprintf(buf, n, "?");
}

static void
print_table(const GArray *boards)
{
  printf("%-24s  %-10s  %-8s  %-22s  %-10s  %s\n", "SERIAL", "FIRMWARE", "PROTOCOL", "RATES (Hz)",
         "CALIBRATED", "USB");
  for (guint k = 0; k < boards->len; k++) {
    const StanceUsbBoard *b = &g_array_index(boards, StanceUsbBoard, k);
    char proto[16], rates[96], usb[16];
    if (b->proto_major || b->proto_minor)
      snprintf(proto, sizeof proto, "%u.%u", b->proto_major, b->proto_minor);
    else
      snprintf(proto, sizeof proto, "?");
    rates_text(b, rates, sizeof rates);
    snprintf(usb, sizeof usb, "%03u/%03u", b->bus, b->address);
    const bool known = b->problem[0] == '\0';
    printf("%-24s  %-10s  %-8s  %-22s  %-10s  %s\n", b->serial[0] ? b->serial : "?",
           b->firmware_version[0] ? b->firmware_version : "?", proto, rates,
           known ? (b->has_calibration ? "yes" : "no") : "?", usb);
    if (!known)
      printf("  problem: %s\n", b->problem);
  }
}

static void
print_json(StanceJson *j, const GArray *boards)
{
  stance_json_begin_object(j);
  stance_json_kv_int(j, "stance_cli_devices", DEVICES_JSON_VERSION);
  stance_json_key(j, "boards");
  stance_json_begin_array(j);
  for (guint k = 0; k < boards->len; k++) {
    const StanceUsbBoard *b = &g_array_index(boards, StanceUsbBoard, k);
    stance_json_begin_object(j);
    cli_json_kv_text(j, "serial", b->serial);
    cli_json_kv_text(j, "firmware_version", b->firmware_version);
    cli_json_kv_text(j, "hardware", b->hardware);
    char proto[16];
    snprintf(proto, sizeof proto, "%u.%u", b->proto_major, b->proto_minor);
    stance_json_kv_string(j, "protocol_version", proto);
    stance_json_key(j, "rates_hz");
    stance_json_begin_array(j);
    for (int r = 0; r < b->n_rates; r++)
      stance_json_number(j, b->rates_hz[r]);
    stance_json_end_array(j);
    stance_json_kv_bool(j, "calibrated", b->has_calibration);
    stance_json_kv_int(j, "bus", b->bus);
    stance_json_kv_int(j, "address", b->address);
    if (b->problem[0]) {
      cli_json_kv_text(j, "problem", b->problem);
    } else {
      stance_json_key(j, "problem");
      stance_json_null(j);
    }
    stance_json_end_object(j);
  }
  stance_json_end_array(j);
  stance_json_end_object(j);
}

int
cli_devices_main(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool json = false;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': cli_devices_help(stdout); return CLI_EXIT_OK;
    case 'f':
      if (strcmp(optarg, "table") == 0)
        json = false;
      else if (strcmp(optarg, "json") == 0)
        json = true;
      else
        return cli_usage_error(SUB, "--format: '%s' is not a format (expected table or json)",
                               optarg);
      break;
    default: return cli_getopt_error(SUB, c, argv);
    }
  }
  if (optind < argc)
    return cli_usage_error(SUB, "unexpected argument '%s' (devices takes no arguments)",
                           argv[optind]);

  GError *e = NULL;
  GArray *boards = stance_usb_list(&e);
  if (!boards) {
    cli_error(SUB, "%s", e ? e->message : "cannot list USB devices");
    g_clear_error(&e);
    return CLI_EXIT_INPUT;
  }
  int status = CLI_EXIT_OK;
  if (json) {
    StanceJson *j = stance_json_new(stdout, true);
    if (!j) {
      cli_error(SUB, "out of memory");
      g_array_unref(boards);
      return CLI_EXIT_INPUT;
    }
    print_json(j, boards);
    StanceError err;
    stance_error_clear(&err);
    if (stance_json_finish(j, &err) < 0) {
      cli_error(SUB, "JSON output: %s", err.message);
      status = CLI_EXIT_INPUT;
    }
  } else if (boards->len == 0) {
    printf("No Stance boards connected.\n");
  } else {
    print_table(boards);
  }
  g_array_unref(boards);
  return status;
}
