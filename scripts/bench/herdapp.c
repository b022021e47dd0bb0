/* The herd benchmark's application: what every host of a fleet runs at the same moment when a new
 * release lands lazily. From each file of the release it reads its hot set, 1/DENOM of the file in
 * RUNS runs, and checks every byte it read against the same range of the source tree:
 *   RUNS = 1: the first 1/DENOM of the file (the herd benchmark's default);
 *   RUNS = k: k runs of size/DENOM/k bytes, run r starting at r/k of the file (scattered).
 * Files are read one after another, in name order, with 64 KiB reads, as a program reading its
 * assets at start would; every host reads in the same order, so all of them want the same pieces at
 * the same time.
 *
 *   herdapp RELEASE_DIR SOURCE_DIR RUNS DENOM
 *
 * Prints "ok BYTES" and exits 0 when every byte matched; on a mismatch or a failed read prints
 * what and where and exits 1. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int regular(const struct dirent *e) { return e->d_type == DT_REG; }

static int open_in(const char *dir, const char *name) {
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_RDONLY);
  if (fd < 0) perror(path);
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: herdapp RELEASE_DIR SOURCE_DIR RUNS DENOM\n");
    return 2;
  }
  const char *release = argv[1], *source = argv[2];
  long runs = atol(argv[3]), denom = atol(argv[4]);
  if (runs < 1 || denom < 1) return fprintf(stderr, "RUNS and DENOM must be >= 1\n"), 2;
  static char got[65536], want[65536];
  struct dirent **files;
  int count = scandir(source, &files, regular, alphasort);
  if (count < 0) return perror(source), 1;
  long long total = 0;
  for (int i = 0; i < count; ++i) {
    const char *name = files[i]->d_name;
    int fd = open_in(release, name), src = open_in(source, name);
    if (fd < 0 || src < 0) return 1;
    struct stat st;
    fstat(src, &st);
    off_t run = st.st_size / denom / runs;
    for (long r = 0; r < runs; ++r) {
      off_t start = st.st_size / runs * r;
      for (off_t off = start; off < start + run;) {
        size_t want_n = start + run - off < (off_t)sizeof got ? (size_t)(start + run - off) : sizeof got;
        ssize_t n = pread(fd, got, want_n, off);
        if (n <= 0) {
          fprintf(stderr, "%s: read at %lld: %s\n", name, (long long)off, n < 0 ? strerror(errno) : "end of file");
          return 1;
        }
        if (pread(src, want, n, off) != n || memcmp(got, want, n) != 0) {
          fprintf(stderr, "%s: bytes %lld-%lld differ from the source\n", name, (long long)off, (long long)(off + n));
          return 1;
        }
        off += n;
        total += n;
      }
    }
    close(fd);
    close(src);
  }
  printf("ok %lld\n", total);
  return 0;
}
