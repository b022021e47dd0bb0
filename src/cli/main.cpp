// rookery: deliver software releases over a private BitTorrent swarm and mount them lazily.
// This file only builds the command line (global options, then each subcommand from its
// *_command.cpp), parses it and runs the chosen subcommand; the work lives in the modules
// (catalog, swarm, fs, fuse, store, deploy).
#include <CLI/CLI.hpp>
#include <exception>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <string>
#include <vector>

#include "rookery/common/error.hpp"
#include "rookery/daemon/mount_daemon.hpp"
#include "subcommand.hpp"

using namespace rookery;

namespace {

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("rookery");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rookery: deliver releases over a private BitTorrent swarm and mount them lazily with FUSE"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--log-level) may follow the subcommand
  app.set_version_flag("--version", daemon::rookery_version() + " (" + daemon::library_versions() + ")");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();

  // Registration order is the order `rookery --help` lists them in.
  std::vector<cli::Subcommand> subcommands = {cli::add_publish_command(app), cli::add_keygen_command(app),
                                              cli::add_seed_command(app), cli::add_mount_command(app)};
  for (auto& command : cli::add_operator_commands(app)) subcommands.push_back(std::move(command));

  CLI11_PARSE(app, argc, argv);
  setup_logging(log_level);

  try {
    for (const auto& command : subcommands) {
      if (*command.app) return command.run();
    }
  } catch (const UserError& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::critical("unexpected error: {}", e.what());
    return 2;
  }
  return 0;
}
