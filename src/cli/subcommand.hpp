// The subcommands of the `rookery` binary. Each add_*_command registers its CLI11 subcommand and
// options on the app and returns the subcommand with what to run when it is the one chosen; main
// builds the app, the global options, parses and runs that one.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace rookery::cli {

struct Subcommand {
  CLI::App* app;             // parsed: *app is true when the command line chose this subcommand
  std::function<int()> run;  // does the work; returns the exit status, throws UserError for a user's mistake
};

// Origin side: release authoring and seeding.
Subcommand add_publish_command(CLI::App& app);  // publish_command.cpp
Subcommand add_keygen_command(CLI::App& app);   // keygen_command.cpp
Subcommand add_seed_command(CLI::App& app);     // seed_command.cpp

// Host side: the mount daemon.
Subcommand add_mount_command(CLI::App& app);  // mount_command.cpp

// Host side: status, prefetch, trace, activate, rollback, gc and upgrade, in that order
// (operator_commands.cpp).
std::vector<Subcommand> add_operator_commands(CLI::App& app);

}  // namespace rookery::cli
