// Shared fixtures for unit tests: temporary directories and small release trees.
#pragma once
#include <filesystem>
#include <string>

#include "rookery/catalog/publisher.hpp"

namespace rookery::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& path, const std::string& text, int mode = 0644);
std::string pattern_bytes(std::size_t size, unsigned seed);

// A tree with nested directories, an empty file, an executable, a symlink and a file spanning
// several pieces: the shapes the mount must show.
void make_sample_tree(const std::filesystem::path& root);

// Options that publish `source` as `version` into `repo`: 16 KiB pieces (several per sample file)
// and a tracker nobody listens on.
catalog::PublishOptions publish_options(const std::filesystem::path& source, const std::filesystem::path& repo,
                                        const std::string& version);

}  // namespace rookery::test
