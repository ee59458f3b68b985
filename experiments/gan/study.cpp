// The seeded GAN study of docs/gan.md: trains every configuration given for each of several seeds,
// evaluates each run and reports the mean ± standard error of its metrics over the seeds.
//
//   odyn_exp_gan --config experiments/gan/grid_wgan_div.toml experiments/gan/grid_gan_qp.toml
//       --seeds 5 --out runs/study
//
// Each run lives in OUT/<config stem>/seed<k> with the trainer's checkpoints; a run with a
// study.json (its evaluation, written when it finished) is not trained again, an unfinished one
// resumes from its last checkpoint, so an interrupted study loses no finished work. A run that
// diverges is reported and left out of the means. The summary goes to stdout and to
// OUT/results.md and OUT/results.json.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "odyn/core/error.hpp"
#include "odyn/gan/config.hpp"
#include "odyn/gan/evaluate.hpp"
#include "odyn/gan/trainer.hpp"
#include "odyn/io/atomic_file.hpp"
#include "odyn/torch/tensor.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Summary {
  double mean = 0, standard_error = 0;
  int count = 0;
};

Summary summarize(const std::vector<double>& v) {
  Summary s;
  s.count = static_cast<int>(v.size());
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= s.count;
  if (s.count > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.standard_error = std::sqrt(ss / (s.count - 1) / s.count);
  }
  return s;
}

std::string format(const Summary& s, int digits, double scale = 1) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << s.mean * scale << " ± " << s.standard_error * scale;
  return out.str();
}

// The metrics reported per run, in table order: key in eval.json, column title, digits, scale.
struct Column {
  const char* key;
  const char* title;
  int digits;
  double scale;
};
const std::vector<Column> kToyColumns = {{"modes_covered", "modes", 2, 1},
                              {"high_quality", "high quality %", 1, 100},
                              {"reverse_kl", "reverse KL", 3, 1},
                              {"w2", "W2", 4, 1}};
const std::vector<Column> kMnistColumns = {{"confident", "confident > 0.9 %", 1, 100},
                                {"class_kl", "class KL", 4, 1},
                                {"classifier_score", "classifier score", 2, 1},
                                {"fld", "FLD", 2, 1},
                                {"kid", "KID", 4, 1}};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains each GAN configuration for several seeds and reports mean ± s.e. of the evaluation metrics"};
  std::vector<std::string> configs;
  int seeds = 5;
  uint64_t first_seed = 0;
  std::string out = "runs/study";
  int64_t iterations = 0;
  bool quiet = false;
  app.add_option("--config", configs, "TOML configurations (experiments/gan/*.toml)")->required()->check(CLI::ExistingFile);
  app.add_option("--seeds", seeds, "Seeds per configuration")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--first-seed", first_seed, "The first seed; runs use first-seed, first-seed + 1, ...")
      ->capture_default_str();
  app.add_option("--out", out, "Output directory")->capture_default_str();
  app.add_option("--iterations", iterations, "Override train.iterations (0: the config's)")->check(CLI::NonNegativeNumber);
  app.add_flag("--quiet", quiet, "No progress lines");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "odyn_exp_gan: error: " << e.what() << '\n';
    return 2;
  }

  try {
    json results = json::object();
    std::ostringstream table;
    for (const std::string& path : configs) {
      odyn::gan::TrainConfig base = odyn::gan::load_config(path);
      if (iterations > 0) base.train.iterations = iterations;
      const std::string stem = fs::path(path).stem().string();
      const bool mnist = base.data.is_mnist();
      const std::vector<Column>& columns = mnist ? kMnistColumns : kToyColumns;
      std::map<std::string, std::vector<double>> values;
      std::vector<double> seconds;
      std::vector<uint64_t> diverged;
      json runs = json::array();
      for (int k = 0; k < seeds; ++k) {
        odyn::gan::TrainConfig config = base;
        config.train.seed = first_seed + static_cast<uint64_t>(k);
        const std::string run_dir = (fs::path(out) / stem / ("seed" + std::to_string(config.train.seed))).string();
        const fs::path eval_file = fs::path(run_dir) / "study.json";
        json eval;
        if (fs::exists(eval_file)) {
          std::ifstream in(eval_file);
          eval = json::parse(in);
        } else {
          odyn::torch::set_num_threads(config.train.threads);
          const auto start = std::chrono::steady_clock::now();
          try {
            odyn::gan::Trainer trainer(config, run_dir);
            trainer.run(/*resume=*/true, quiet ? odyn::gan::ProgressFn{} : [&](const std::string& line) {
              std::cerr << stem << " seed " << config.train.seed << ": " << line << '\n';
            });
          } catch (const odyn::gan::TrainingDiverged& e) {
            // Reported and counted, not averaged; the other runs go on.
            std::cerr << stem << " seed " << config.train.seed << ": training diverged: " << e.what() << '\n';
            diverged.push_back(config.train.seed);
            runs.push_back({{"seed", config.train.seed}, {"run_dir", run_dir}, {"diverged", e.what()}});
            continue;
          }
          const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          eval = odyn::gan::evaluate_run(run_dir);
          eval["study_train_seconds"] = train_s;
          odyn::io::write_file_atomically(eval_file.string(), [&](std::ostream& o) { o << eval.dump(2) << '\n'; });
        }
        const json& metrics = mnist ? eval.at("generated") : eval;
        for (const Column& c : columns) {
          if (metrics.contains(c.key)) values[c.key].push_back(metrics.at(c.key).get<double>());
        }
        if (eval.contains("study_train_seconds")) seconds.push_back(eval["study_train_seconds"].get<double>());
        runs.push_back({{"seed", config.train.seed}, {"run_dir", run_dir}, {"eval", eval}});
        if (!quiet) std::cerr << stem << " seed " << config.train.seed << ": " << metrics.dump() << '\n';
      }
      json summary = json::object();
      summary["diverged_seeds"] = diverged;
      table << "\n### " << stem << " (" << seeds << " seeds, " << base.train.iterations << " iterations";
      if (!diverged.empty()) table << "; " << diverged.size() << " diverged, left out";
      table << ")\n\n";
      std::string header = "|", rule = "|", row = "|";
      for (const Column& c : columns) {
        if (!values.count(c.key)) continue;
        const Summary s = summarize(values[c.key]);
        summary[c.key] = {{"mean", s.mean}, {"standard_error", s.standard_error}, {"values", values[c.key]}};
        header += std::string(" ") + c.title + " |";
        rule += "---|";
        row += " " + format(s, c.digits, c.scale) + " |";
      }
      if (!seconds.empty()) {
        const Summary s = summarize(seconds);
        summary["train_seconds"] = {{"mean", s.mean}, {"standard_error", s.standard_error}};
        header += " train s |";
        rule += "---|";
        row += " " + format(s, 0) + " |";
      }
      table << header << '\n' << rule << '\n' << row << '\n';
      results[stem] = {{"config", path}, {"summary", summary}, {"runs", runs}};
    }
    fs::create_directories(out);
    odyn::io::write_file_atomically((fs::path(out) / "results.json").string(),
                                    [&](std::ostream& o) { o << results.dump(2) << '\n'; });
    odyn::io::write_file_atomically((fs::path(out) / "results.md").string(),
                                    [&](std::ostream& o) { o << "# GAN study\n" << table.str(); });
    std::cout << table.str();
  } catch (const std::exception& e) {
    std::cerr << "odyn_exp_gan: error: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
