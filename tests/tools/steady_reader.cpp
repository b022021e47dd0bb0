// steady_reader: a program that keeps reading one file of a mount, the way a long-running
// application does, and checks every byte against the source, for the takeover tests and benchmark.
//
//   rookery_steady_reader MOUNTED_FILE SOURCE_FILE STOP_FILE REPORT_FILE MAX_SECONDS
//
// It holds the file open (and mapped) for its whole life. Each round drops the file's pages from
// the page cache, so the next accesses go to the FUSE daemon again, then reads 64 KiB at a moving
// offset with pread and 64 KiB more through the mapping (a page fault answered by the daemon, or
// SIGBUS when the mount is broken). Every ~100 ms and at the end it rewrites REPORT_FILE:
//   reads=N errors=E first_error=TEXT longest_stall_ms=M
// It stops when STOP_FILE exists or after MAX_SECONDS; exit 0 when every access was exact.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kChunk = 64 * 1024;
const char* report_path;

void write_report(long reads, long errors, const std::string& first_error, double longest_ms) {
  std::string tmp = std::string(report_path) + ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    std::fprintf(f, "reads=%ld errors=%ld first_error=%s longest_stall_ms=%.1f\n", reads, errors,
                 first_error.empty() ? "none" : first_error.c_str(), longest_ms);
    std::fclose(f);
    std::rename(tmp.c_str(), report_path);
  }
}

void on_sigbus(int) {
  const char msg[] = "steady_reader: SIGBUS on a mapped page of the mount\n";
  (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
  if (FILE* f = std::fopen(report_path, "w")) {  // not async-signal-safe, but the process ends here
    std::fputs("reads=0 errors=1 first_error=SIGBUS longest_stall_ms=0\n", f);
    std::fclose(f);
  }
  ::_exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s MOUNTED_FILE SOURCE_FILE STOP_FILE REPORT_FILE MAX_SECONDS\n", argv[0]);
    return 2;
  }
  report_path = argv[4];
  const char* stop_file = argv[3];
  const auto deadline = Clock::now() + std::chrono::seconds(std::atoi(argv[5]));
  int fd = ::open(argv[1], O_RDONLY);
  int source = ::open(argv[2], O_RDONLY);
  struct stat st;
  if (fd < 0 || source < 0 || ::fstat(source, &st) != 0 || st.st_size < static_cast<off_t>(2 * kChunk)) {
    std::fprintf(stderr, "steady_reader: cannot open %s or %s: %s\n", argv[1], argv[2], std::strerror(errno));
    return 2;
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  auto* mapped = static_cast<const char*>(::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0));
  if (mapped == MAP_FAILED) {
    std::perror("steady_reader: mmap");
    return 2;
  }
  signal(SIGBUS, on_sigbus);

  std::vector<char> got(kChunk), want(kChunk);
  long reads = 0, errors = 0;
  double longest_ms = 0;
  std::string first_error;
  auto fail = [&](std::string what) {
    if (errors++ == 0) first_error = std::move(what);
  };
  auto last_report = Clock::now();
  std::size_t offset = 0;
  while (Clock::now() < deadline && ::access(stop_file, F_OK) != 0) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::madvise(const_cast<char*>(mapped), size, MADV_DONTNEED);
    offset = (offset + 1037 * 4096) % (size - 2 * kChunk);
    auto start = Clock::now();
    ssize_t n = ::pread(fd, got.data(), kChunk, static_cast<off_t>(offset));
    int error = errno;
    (void)!::pread(source, want.data(), kChunk, static_cast<off_t>(offset));
    if (n < 0) fail(std::string("pread:") + strerrorname_np(error));
    else if (n != static_cast<ssize_t>(kChunk) || std::memcmp(got.data(), want.data(), kChunk) != 0)
      fail("pread_mismatch_at_" + std::to_string(offset));
    (void)!::pread(source, want.data(), kChunk, static_cast<off_t>(offset + kChunk));
    if (std::memcmp(mapped + offset + kChunk, want.data(), kChunk) != 0)
      fail("mmap_mismatch_at_" + std::to_string(offset + kChunk));
    longest_ms = std::max(longest_ms, std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    reads += 2;
    if (Clock::now() - last_report > std::chrono::milliseconds(100)) {
      write_report(reads, errors, first_error, longest_ms);
      last_report = Clock::now();
    }
    ::usleep(static_cast<useconds_t>(reads % 7 * 3000));  // idle gaps of 0-18 ms between rounds
  }
  write_report(reads, errors, first_error, longest_ms);
  return errors == 0 ? 0 : 1;
}
