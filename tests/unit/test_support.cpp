#include "test_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace rookery::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "rookery-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_text(const std::filesystem::path& path, const std::string& text, int mode) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
}

std::string pattern_bytes(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

void make_sample_tree(const std::filesystem::path& root) {
  write_text(root / "bin" / "app", "#!/bin/sh\necho hello\n", 0755);
  write_text(root / "lib" / "deep" / "data.bin", pattern_bytes(300000, 7));
  write_text(root / "empty.txt", "");
  write_text(root / "README", "read me\n");
  std::filesystem::create_symlink("../bin/app", root / "lib" / "app-link");
}

catalog::PublishOptions publish_options(const std::filesystem::path& source, const std::filesystem::path& repo,
                                        const std::string& version) {
  catalog::PublishOptions o;
  o.source = source;
  o.repo = repo;
  o.version = version;
  o.piece_size = 16384;
  o.trackers = {"http://127.0.0.1:1/announce"};
  return o;
}

}  // namespace rookery::test
