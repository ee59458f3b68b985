// odyn: the command-line tool. See docs/cli.md.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <iostream>

#include "commands.hpp"
#include "odyn/config.hpp"
#include "odyn/core/error.hpp"
#include "odyn/core/runtime.hpp"

namespace {

// Errors are one line: control characters from file names or file contents are escaped.
int report_error(const std::string& message) {
  std::string line;
  for (unsigned char c : message) {
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      line += hex;
    } else {
      line += static_cast<char>(c);
    }
  }
  std::cerr << "odyn: error: " << line << '\n';
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"odyn " ODYN_VERSION_STRING
               ": matrix functions and identities, optimization as dynamics, transport distances"};
  app.name("odyn");
  app.set_version_flag("--version", std::string("odyn ") + ODYN_VERSION_STRING);
  int threads = 1;
  app.add_option("--threads", threads, "Threads for parallel kernels (keep 1 on small machines)")
      ->check(CLI::TypeValidator<int>("an integer"))
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.parse_complete_callback([&] { odyn::set_num_threads(threads); });

  int status = 0;
  odyn::cli::add_verify_command(app, status);
  odyn::cli::add_expm_command(app, status);
  odyn::cli::add_dynamics_command(app, status);
  odyn::cli::add_transport_command(app, status);

  try {
    app.parse(argc, argv);
    // Every command path must end at a leaf or at a command that takes arguments of its own
    // ("odyn verify --all"); that command reports a missing argument itself.
    std::string path = "odyn";
    for (const CLI::App* cmd = &app; !cmd->get_subcommands({}).empty();) {
      const auto chosen = cmd->get_subcommands();
      if (chosen.empty() && cmd != &app &&
          !cmd->get_options([](const CLI::Option* o) { return o->get_positional(); }).empty()) {
        break;
      }
      if (chosen.empty()) {
        std::string names;
        for (const CLI::App* sub : cmd->get_subcommands({})) names += (names.empty() ? "" : ", ") + sub->get_name();
        throw CLI::ValidationError(path + ": expected a command: " + names);
      }
      cmd = chosen.front();
      path += " " + cmd->get_name();
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_error(std::string(e.what()) + " (see odyn --help)");
  } catch (const std::exception& e) {
    return report_error(e.what());
  }
  if (!std::cout.flush()) return report_error("cannot write the output");
  return status;
}
