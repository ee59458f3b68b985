// One odyn::gan training iteration — the critic steps, the generator step, the EMA update — timed
// through Trainer::step() on the CPU with one LibTorch thread. bench/peers/gan_peer.py runs the same
// models, losses and optimizer in PyTorch (Python); bench/run.sh prints the ratios.
//   BM_Iteration/<case>, case mlp_<loss> (the 2-D MLPs of experiments/gan/grid_*.toml: 3 hidden layers
//     of 128, latent 2, batch 64, the 25-Gaussian grid; 2 critic steps, sgan 1) or dcgan_<loss> (the
//     28 × 28 conv nets of experiments/gan/mnist_*.toml: latent 128, base width 32, batch 64, MNIST;
//     wgan_div 1 critic step, gan_qp 2). Adam(1e-4, betas (0.5, 0.9)) for both networks; no EMA, no
//     checkpoints, no logging.
//   BM_Iteration/dcgan_ogan (O-GAN's joint step: three encoder passes, one backward) against
//   BM_Iteration/dcgan_gan_qp_1 (GAN-QP with one critic step per generator step): O-GAN's claim of
//   almost no extra computation (docs/models.md). Not in the PyTorch peer.
// The dcgan cases need MNIST in data/mnist (or $ODYN_DATA_DIR/mnist) and are skipped without it.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <utility>

#include "odyn/gan/config.hpp"
#include "odyn/gan/trainer.hpp"
#include "odyn/io/mnist.hpp"
#include "odyn/torch/tensor.hpp"

namespace {

int64_t critic_steps(const std::string& model, const std::string& loss) {
  if (loss == "sgan" || (model == "dcgan" && loss == "wgan_div")) return 1;
  return 2;
}

odyn::gan::TrainConfig bench_config(const std::string& model, const std::string& loss, int64_t steps) {
  odyn::gan::TrainConfig c;
  c.loss_name = loss;
  c.loss = odyn::gan::loss_preset(loss);
  c.loss.sampling = odyn::transport::CriticSampling::pooled;
  c.train.critic_steps = steps;
  c.train.iterations = 1000000;
  if (model == "mlp") {
    c.data.name = "grid";
    c.data.samples = 10000;
    c.model.kind = "mlp";
    c.model.latent_dim = 2;
    c.model.hidden = 128;
    c.model.depth = 3;
    c.train.batch = 64;
  } else {
    c.data.name = "mnist";
    c.model.kind = "dcgan";
    c.model.latent_dim = 128;
    c.model.hidden = 32;
    c.model.generator_norm = odyn::gan::Norm::batch;
    c.train.batch = 64;
  }
  for (odyn::gan::OptimizerConfig* o : {&c.generator_optimizer, &c.critic_optimizer}) {
    o->name = "adam";
    o->lr = 1e-4;
    o->beta1 = 0.5;
    o->beta2 = 0.9;
  }
  return c;
}

void BM_Iteration(benchmark::State& state, const std::string& model, const std::string& loss, int64_t steps) {
  odyn::torch::set_num_threads(1);
  if (model == "dcgan" && !std::filesystem::exists(odyn::io::default_mnist_dir())) {
    state.SkipWithError("MNIST missing");
    return;
  }
  const std::string dir = (std::filesystem::temp_directory_path() / "odyn_gan_bench").string();
  odyn::gan::Trainer trainer(bench_config(model, loss, steps), dir);
  for (int i = 0; i < 3; ++i) trainer.step();               // warm-up: optimizer state, allocator
  for (auto _ : state) trainer.step(/*with_parts=*/false);  // as run() steps between logged iterations
  state.counters["critic_steps"] = static_cast<double>(steps);
}

void register_all() {
  for (const char* model : {"mlp", "dcgan"}) {
    for (const char* loss : {"wgan_gp", "wgan_div", "gan_qp", "sgan"}) {
      if (std::string(model) == "dcgan" && (std::string(loss) == "wgan_gp" || std::string(loss) == "sgan")) continue;
      benchmark::RegisterBenchmark((std::string("BM_Iteration/") + model + "_" + loss).c_str(), BM_Iteration,
                                   std::string(model), std::string(loss), critic_steps(model, loss))
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  for (const auto& [name, loss] :
       {std::pair<const char*, const char*>{"dcgan_ogan", "ogan"}, {"dcgan_gan_qp_1", "gan_qp"}})
    benchmark::RegisterBenchmark((std::string("BM_Iteration/") + name).c_str(), BM_Iteration, std::string("dcgan"),
                                 std::string(loss), int64_t{1})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
