// Subcommands of the odyn command-line tool. Each adds itself to the app; its callback sets
// `status` to the process exit status (0 success, 1 a verification failed). Bad input is
// reported by throwing odyn::Error, which main turns into one line on stderr and exit status 2.
#pragma once

#include <CLI/CLI.hpp>

namespace odyn::cli {

// Accepts an integer from 0 to 2^64 - 1 (seeds).
extern const CLI::Validator kUnsignedInteger;

void add_verify_command(CLI::App& app, int& status);
void add_expm_command(CLI::App& app, int& status);
void add_dynamics_command(CLI::App& app, int& status);
void add_transport_command(CLI::App& app, int& status);
void add_curves_command(CLI::App& app, int& status);

}  // namespace odyn::cli
