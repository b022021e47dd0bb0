#include "rookery/catalog/content_pool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"

namespace fs = std::filesystem;

namespace rookery::catalog {
namespace {

constexpr const char* kIndexedMarker = ".indexed";

}  // namespace

std::string file_sha256(const fs::path& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw UserError("cannot read " + path.string() + ": " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buffer(1 << 20);
  while (true) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw UserError("cannot read " + path.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(n));
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &length);
  static const char* hex = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text += hex[digest[i] >> 4];
    text += hex[digest[i] & 15];
  }
  return text;
}

ContentPool::ContentPool(const fs::path& repo) : dir_(repo / ".content") {
  fs::create_directories(dir_);
  if (!fs::exists(dir_ / kIndexedMarker)) {
    index_existing(repo / "data");
    write_file_atomically(dir_ / kIndexedMarker, "");
  }
}

fs::path ContentPool::entry_for(const std::string& sha256_hex, bool executable) const {
  return dir_ / (sha256_hex + (executable ? ".x" : ".r"));
}

// Releases published before the pool: their files join it as they are (first one of each content wins).
void ContentPool::index_existing(const fs::path& data_dir) {
  if (!fs::exists(data_dir)) return;
  std::size_t joined = 0;
  for (auto it = fs::recursive_directory_iterator(data_dir); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory() && it->path().filename().string().starts_with(".")) {
      it.disable_recursion_pending();  // a staging copy of a publish that failed
      continue;
    }
    if (!it->is_regular_file() || it->is_symlink()) continue;
    struct stat st;
    if (::stat(it->path().c_str(), &st) != 0) continue;
    auto entry = entry_for(file_sha256(it->path()), (st.st_mode & S_IXUSR) != 0);
    if (!fs::exists(entry) && ::link(it->path().c_str(), entry.c_str()) == 0) ++joined;
  }
  if (joined) spdlog::info("content pool: indexed {} distinct files of the releases already published", joined);
}

bool ContentPool::place(const fs::path& source, const fs::path& target, bool executable) {
  auto entry = entry_for(file_sha256(source), executable);
  if (::link(entry.c_str(), target.c_str()) == 0) return true;
  // ENOENT: new content. EMLINK: the pooled inode has all the links the filesystem allows (65,000
  // on ext4, reached by a small file every release ships): a fresh copy takes its place in the pool.
  if (errno != ENOENT && errno != EMLINK)
    throw UserError("cannot link " + target.string() + " to " + entry.string() + ": " + std::strerror(errno));
  fs::copy_file(source, target);
  ::chmod(target.c_str(), executable ? 0755 : 0644);
  // Pooled under the copy's own hash: a source changed meanwhile must not pool wrong content.
  entry = entry_for(file_sha256(target), executable);
  auto fresh = entry;
  fresh += ".new";
  if (::link(target.c_str(), fresh.c_str()) != 0 || ::rename(fresh.c_str(), entry.c_str()) != 0) {
    spdlog::warn("content pool: cannot add {}: {}", entry.string(), std::strerror(errno));
    ::unlink(fresh.c_str());
  }
  return false;
}

}  // namespace rookery::catalog
