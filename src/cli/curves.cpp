// odyn curves: logged values over training (the "step" of each JSON line of RUN/metrics.jsonl, or of
// any JSON-lines file) for one or more runs, drawn as one PNG with a line per run and key.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "odyn/core/error.hpp"
#include "odyn/io/plot.hpp"

namespace odyn::cli {
namespace {

struct CurvesOptions {
  std::vector<std::string> runs, keys, labels;
  std::string out;
  bool log_y = false;
};

// The value at a dotted path ("eval.modes_covered") of a JSON object, or NaN when it is missing.
double value_at(const nlohmann::json& j, const std::string& key) {
  const nlohmann::json* node = &j;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(part)) return NAN;
    node = &(*node)[part];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return node->is_number() ? node->get<double>() : NAN;
}

int run_curves(const CurvesOptions& o) {
  if (!o.labels.empty() && o.labels.size() != o.runs.size())
    throw InvalidArgument("odyn curves: --labels needs one label per run (" + std::to_string(o.runs.size()) + ")");
  io::Plot plot(900, 600);
  plot.set_labels("step", o.keys.size() == 1 ? o.keys[0] : "value");
  plot.set_log_y(o.log_y);
  int series = 0;
  for (std::size_t r = 0; r < o.runs.size(); ++r) {
    const std::filesystem::path run(o.runs[r]);
    const std::filesystem::path file = std::filesystem::is_directory(run) ? run / "metrics.jsonl" : run;
    std::ifstream in(file);
    if (!in) throw IoError("odyn curves: cannot read " + file.string());
    std::vector<nlohmann::json> lines;
    std::string text;
    for (int number = 1; std::getline(in, text); ++number) {
      if (text.empty()) continue;
      try {
        lines.push_back(nlohmann::json::parse(text));
      } catch (const nlohmann::json::exception&) {
        throw IoError("odyn curves: " + file.string() + ": line " + std::to_string(number) + " is not JSON");
      }
    }
    const std::string name = o.labels.empty() ? run.filename().string() : o.labels[r];
    for (const std::string& key : o.keys) {
      std::vector<double> x, y;
      for (const auto& line : lines) {
        const double step = value_at(line, "step"), v = value_at(line, key);
        if (std::isfinite(step) && std::isfinite(v)) {
          x.push_back(step);
          y.push_back(v);
        }
      }
      if (x.empty()) throw InvalidArgument("odyn curves: " + file.string() + " has no values of '" + key + "'");
      const std::string label = o.keys.size() == 1 ? name : name + ": " + key;
      plot.add_line(x, y, io::default_color(series++), label);
      std::cout << label << ": " << x.size() << " points, step " << x.front() << " " << y.front() << " -> step "
                << x.back() << " " << y.back() << '\n';
    }
  }
  plot.save(o.out);
  std::cout << "wrote " << o.out << '\n';
  return 0;
}

}  // namespace

void add_curves_command(CLI::App& app, int& status) {
  auto options = std::make_shared<CurvesOptions>();
  auto* cmd = app.add_subcommand("curves", "Plot logged values over training steps (RUN/metrics.jsonl) as a PNG");
  cmd->add_option("runs", options->runs, "Run directories or JSON-lines files")->required();
  cmd->add_option("--key", options->keys, "Logged values to draw, dotted for nested ones (eval.w2)")->required();
  cmd->add_option("--out", options->out, "The PNG file")->required();
  cmd->add_option("--labels", options->labels, "One legend label per run (default: the directory names)");
  cmd->add_flag("--log-y", options->log_y, "Logarithmic y axis");
  cmd->callback([options, &status] { status = run_curves(*options); });
}

}  // namespace odyn::cli
