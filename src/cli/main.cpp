// odyn: the command-line tool. See docs/cli.md.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "app.hpp"
#include "commands.hpp"
#include "odyn/config.hpp"
#include "odyn/core/error.hpp"
#include "odyn/core/runtime.hpp"

namespace {

// The GAN commands run in the program odyn-gan installed beside odyn, which links LibTorch; the
// core commands stay free of its start-up cost.
const char* const kGanCommands[] = {"train", "eval", "classifier"};

// The command word of the command line: its first argument that is neither an option nor the
// value of --threads.
std::string command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads") {
      ++i;
    } else if (a.empty() || a[0] != '-') {
      return a;
    }
  }
  return {};
}

// Replaces this process by odyn-gan with the same arguments; returns only on failure.
int run_gan_program(int argc, char** argv) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string program = "odyn-gan";
  if (n > 0) {
    std::string path(self, static_cast<std::size_t>(n));
    program = path.substr(0, path.rfind('/') + 1) + "odyn-gan";
  }
  std::vector<char*> args{const_cast<char*>(program.c_str())};
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(program.c_str(), args.data());
  const int error = errno;
  return odyn::cli::report_error("odyn " + command_word(argc, argv) + ": this build has no GAN layer (" + program + ": " +
                      std::strerror(error) + "); build odyn with LibTorch");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = command_word(argc, argv);
  for (const char* gan : kGanCommands) {
    if (command == gan) return run_gan_program(argc, argv);
  }

  CLI::App app{"odyn " ODYN_VERSION_STRING
               ": matrix functions and identities, optimization as dynamics, transport distances, GANs"};
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
  odyn::cli::add_curves_command(app, status);
  // Listed for --help; main() hands them to odyn-gan before parsing.
  app.add_subcommand("train", "Train a GAN from a TOML config (odyn train --help)");
  app.add_subcommand("eval", "Evaluate a GAN training run (odyn eval --help)");
  app.add_subcommand("classifier", "Train or test the MNIST LeNet used by the image metrics");

  return odyn::cli::run_app(app, argc, argv, status);
}
