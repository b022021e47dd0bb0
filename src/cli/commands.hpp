// The operator commands that talk to a running mount daemon (status, prefetch, gc) or flip deploy
// links (activate, rollback). Each returns the process exit status and prints one clear line on
// failure.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace rookery::cli {

int run_status(const std::filesystem::path& cache, bool json);
// Exit 0 only when every piece of the release is verified; 1 after `timeout_seconds` (0 = none).
int run_prefetch(const std::filesystem::path& cache, const std::string& version, int timeout_seconds);
int run_activate(const std::filesystem::path& mountpoint, const std::filesystem::path& cache,
                 const std::string& version, const std::filesystem::path& link, bool wait_full, int timeout_seconds);
int run_rollback(const std::filesystem::path& cache, const std::filesystem::path& link);
int run_gc(const std::filesystem::path& cache, std::uint64_t max_bytes);

}  // namespace rookery::cli
