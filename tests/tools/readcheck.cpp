// readcheck: concurrent random-offset reads of a file (through the mount) compared byte for byte
// with a reference copy. Used by the integration tests to prove that lazy reads never return a
// byte that differs from the published source.
//
//   rookery_readcheck MOUNTED_FILE SOURCE_FILE READS THREADS MAX_READ_BYTES SEED
//
// Each thread opens its own descriptor (its own readahead window in the daemon). Exit 0 when every
// read matched; prints the first mismatch otherwise.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s MOUNTED_FILE SOURCE_FILE READS THREADS MAX_READ_BYTES SEED\n", argv[0]);
    return 2;
  }
  const char* mounted = argv[1];
  const char* source = argv[2];
  const int reads = std::atoi(argv[3]);
  const int threads = std::atoi(argv[4]);
  const long max_read = std::atol(argv[5]);
  const unsigned seed = static_cast<unsigned>(std::atoi(argv[6]));
  int src_fd = ::open(source, O_RDONLY);
  if (src_fd < 0) return std::perror(source), 2;
  off_t size = ::lseek(src_fd, 0, SEEK_END);

  std::atomic<int> next{0}, bad{0}, failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      int fd = ::open(mounted, O_RDONLY);
      if (fd < 0) {
        std::perror(mounted);
        ++failed;
        return;
      }
      std::mt19937_64 rng(seed * 1000003u + static_cast<unsigned>(t));
      std::vector<char> got(static_cast<size_t>(max_read)), want(static_cast<size_t>(max_read));
      while (next.fetch_add(1) < reads) {
        off_t off = static_cast<off_t>(rng() % static_cast<unsigned long>(size));
        size_t len = 1 + rng() % static_cast<unsigned long>(max_read);
        ssize_t n = ::pread(fd, got.data(), len, off);
        ssize_t m = ::pread(src_fd, want.data(), len, off);
        if (n < 0) {
          std::fprintf(stderr, "read error at %lld: %s\n", static_cast<long long>(off), std::strerror(errno));
          ++failed;
        } else if (n != m || std::memcmp(got.data(), want.data(), static_cast<size_t>(n)) != 0) {
          std::fprintf(stderr, "MISMATCH at offset %lld length %zu (got %zd bytes, want %zd)\n",
                       static_cast<long long>(off), len, n, m);
          ++bad;
        }
      }
      ::close(fd);
    });
  }
  for (auto& th : pool) th.join();
  std::printf("readcheck: %d reads, %d mismatches, %d errors\n", reads, bad.load(), failed.load());
  return bad == 0 && failed == 0 ? 0 : 1;
}
