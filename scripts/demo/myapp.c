/* The demo's "application": reads its config and a small slice of each asset at start, like a real
 * service loading what it needs (the Slacker paper: 6.4% of an image is read at start), then says
 * it is ready. Run from the mount before the release has landed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  char dir[4096], path[4200], buf[65536];
  /* The real path of this binary, wherever it was started from (a symlink, a deploy link). */
  ssize_t len = readlink("/proc/self/exe", dir, sizeof dir - 1);
  if (len < 0) { perror("/proc/self/exe"); return 1; }
  dir[len] = 0;
  char* slash = strrchr(dir, '/');
  if (slash) *slash = 0; else strcpy(dir, ".");
  long total = 0;
  snprintf(path, sizeof path, "%s/../config/app.conf", dir);
  int fd = open(path, O_RDONLY);
  if (fd < 0) { perror(path); return 1; }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = 0;
  for (int i = 0; i < 4; ++i) {
    snprintf(path, sizeof path, "%s/../assets/pack%d.bin", dir, i);
    fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); return 1; }
    off_t size = lseek(fd, 0, SEEK_END);
    /* 4 MiB from the middle of each pack */
    for (off_t off = size / 2; off < size / 2 + (4 << 20); off += sizeof buf) {
      ssize_t r = pread(fd, buf, sizeof buf, off);
      if (r <= 0) break;
      total += r;
    }
    close(fd);
  }
  printf("myapp %s ready (read %ld KiB of assets)\n", argc > 1 ? argv[1] : "", total / 1024);
  return 0;
}
