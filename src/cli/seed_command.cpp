// `rookery seed`: seed every release of a repository until SIGINT or SIGTERM.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <spdlog/spdlog.h>
#include <thread>

#include "rookery/origin/seeder.hpp"
#include "subcommand.hpp"
#include "swarm_options.hpp"

namespace rookery::cli {
namespace {

// Blocks SIGINT/SIGTERM in every thread and returns a thread that waits for one and sets `stop`.
std::thread stop_on_signal(std::atomic<bool>& stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return std::thread([set, &stop] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("received signal {}, stopping", sig);
    stop = true;
  });
}

}  // namespace

Subcommand add_seed_command(CLI::App& app) {
  struct Arguments {
    origin::SeederOptions seed;
    int poll_ms = 2000;
    std::string serve = "unique";
  };
  auto args = std::make_shared<Arguments>();
  auto& seed = args->seed;
  auto* seed_cmd = app.add_subcommand("seed", "seed every release of a repository, picking up new ones while running");
  seed_cmd->add_option("--repo", seed.repo, "repository directory")->required();
  seed_cmd->add_option("--poll-interval", args->poll_ms, "how often to look for new releases, in ms")->capture_default_str();
  seed_cmd->add_option("--upload-slots", seed.swarm.upload_slots,
                       "hosts uploaded to at once (0 = all); fewer makes each piece complete, and relayable "
                       "by the hosts, sooner")
      ->capture_default_str();
  seed_cmd->add_option("--serve", args->serve,
                       "unique: upload only pieces no connected host has or is receiving, and tell hosts to ask "
                       "each other for the rest (the origin sends each piece about once); all: whatever is asked, "
                       "as plain BitTorrent")
      ->check(CLI::IsMember({"unique", "all"}))
      ->capture_default_str();
  seed_cmd->add_option("--hot-set-window", seed.hot_set_window,
                       "with --serve unique: pieces of a release's hot set under way from the origin at once (0 = no "
                       "limit); fewer makes each whole, and relayable by the hosts, sooner when a fleet starts at once")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  add_swarm_options(seed_cmd, seed.swarm);

  return {seed_cmd, [args] {
            auto& seed = args->seed;
            seed.poll_interval = std::chrono::milliseconds(args->poll_ms);
            seed.serve_unique = args->serve == "unique";
            std::atomic<bool> stop{false};
            auto waiter = stop_on_signal(stop);
            waiter.detach();
            origin::run_seeder(seed, stop);
            return 0;
          }};
}

}  // namespace rookery::cli
