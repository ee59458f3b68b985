// What the two programs of the command line (odyn and odyn-gan) share: one-line error reports and
// the parse-and-run step with its exit statuses.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace odyn::cli {

// Writes prefix + message as one line on stderr, control characters escaped (file names and file
// contents may hold them).
void print_error(const std::string& prefix, const std::string& message);

// print_error("odyn: error: ", message); returns 2, the exit status of bad input.
int report_error(const std::string& message);

// Parses the command line into `app`, whose callbacks run the chosen command and set `status`.
// Every command path must end at a leaf or at a command that takes arguments of its own ("odyn
// verify --all"). Returns the exit status: `status`, 0 for --help and --version, 2 (after one line
// on stderr) for a parse error or an exception.
int run_app(CLI::App& app, int argc, char** argv, const int& status);

}  // namespace odyn::cli
