#include "app.hpp"

#include <cstdio>
#include <exception>
#include <iostream>

namespace odyn::cli {

void print_error(const std::string& prefix, const std::string& message) {
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
  std::cerr << prefix << line << '\n';
}

int report_error(const std::string& message) {
  print_error("odyn: error: ", message);
  return 2;
}

int run_app(CLI::App& app, int argc, char** argv, const int& status) {
  try {
    app.parse(argc, argv);
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

}  // namespace odyn::cli
