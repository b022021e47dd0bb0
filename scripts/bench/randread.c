/* Random 4 KiB reads of one file, one at a time, each timed: the probe of the random-read
 * benchmarks. Prints one latency per line, in microseconds.
 *
 *   randread FILE COUNT SEED [PIECE_BYTES [REFERENCE]]
 *
 * With PIECE_BYTES, every read falls in a different piece (so each read of a lazy release is a
 * cold fetch of its own piece) at a random 4 KiB-aligned offset inside it; without, offsets are
 * uniform over the file. With REFERENCE, each read is compared with the same bytes of that file and
 * a mismatch fails the run: a fast wrong answer must not count. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { kBlock = 4096 };

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char** argv) {
  if (argc < 4 || argc > 6) {
    fprintf(stderr, "usage: %s FILE COUNT SEED [PIECE_BYTES [REFERENCE]]\n", argv[0]);
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) return perror(argv[1]), 1;
  int ref = argc == 6 ? open(argv[5], O_RDONLY) : -1;
  if (argc == 6 && ref < 0) return perror(argv[5]), 1;
  long count = atol(argv[2]);
  srandom((unsigned)atol(argv[3]));
  long long piece = argc >= 5 ? atoll(argv[4]) : 0;
  long long size = lseek(fd, 0, SEEK_END);
  long long blocks = size / kBlock;
  long long pieces = piece > 0 ? (size + piece - 1) / piece : 0;
  if (blocks == 0 || (piece > 0 && count > pieces)) {
    fprintf(stderr, "%s: %lld bytes hold fewer than %ld distinct reads\n", argv[1], size, count);
    return 2;
  }
  /* Distinct pieces: a partial Fisher-Yates shuffle of the piece indices. */
  long long* order = NULL;
  if (piece > 0) {
    order = malloc(sizeof *order * pieces);
    for (long long i = 0; i < pieces; ++i) order[i] = i;
    for (long i = 0; i < count; ++i) {
      long long j = i + random() % (pieces - i), t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }
  static char buf[kBlock], want[kBlock];
  for (long i = 0; i < count; ++i) {
    long long off;
    if (piece > 0) {
      long long first = order[i] * piece / kBlock, last = (order[i] + 1) * piece / kBlock;
      if (last > blocks) last = blocks;
      off = (first + random() % (last - first)) * kBlock;
    } else {
      off = (random() % blocks) * kBlock;
    }
    double start = now_us();
    ssize_t n = pread(fd, buf, kBlock, off);
    double took = now_us() - start;
    if (n != kBlock) return fprintf(stderr, "%s: read at %lld returned %zd\n", argv[1], off, n), 1;
    if (ref >= 0 && (pread(ref, want, kBlock, off) != kBlock || memcmp(buf, want, kBlock) != 0))
      return fprintf(stderr, "%s: bytes at %lld differ from %s\n", argv[1], off, argv[5]), 1;
    printf("%.0f\n", took);
  }
  return 0;
}
