/* The lab's floor: one host of a TCP ring. Every host sends BYTES to the next host and receives
 * BYTES from the previous one at the same time, so every shaped link is full in both directions
 * (its TCP acknowledgements included). Run one per host; the ring's time is until the last host has
 * received everything.
 *
 *   ring LISTEN_IP PORT NEXT_IP BYTES START_FILE DONE_FILE LIMIT_S
 *
 * Listens on LISTEN_IP:PORT at once, waits until START_FILE exists, then connects to NEXT_IP:PORT
 * (retrying while the next host is not listening yet) and sends from one thread while the main
 * thread receives. When BYTES have arrived it writes the time (seconds since the epoch, like
 * `date +%s.%N`) to DONE_FILE. Everything is bounded: after LIMIT_S seconds SIGALRM ends it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in next_addr;
static long long total;

static void die(const char *what) {
  perror(what);
  exit(1);
}

static struct sockaddr_in address(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
    fprintf(stderr, "bad address %s\n", ip);
    exit(2);
  }
  return a;
}

static void *send_all(void *unused) {
  (void)unused;
  static char buf[1 << 20];
  int s;
  for (;;) { /* the next host may not listen yet: retry every 10 ms (SIGALRM bounds it) */
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) die("socket");
    if (connect(s, (struct sockaddr *)&next_addr, sizeof next_addr) == 0) break;
    if (errno != ECONNREFUSED) die("connect");
    close(s);
    usleep(10000);
  }
  for (long long sent = 0; sent < total;) {
    long long want = total - sent < (long long)sizeof buf ? total - sent : (long long)sizeof buf;
    ssize_t n = send(s, buf, want, 0);
    if (n < 0) die("send");
    sent += n;
  }
  shutdown(s, SHUT_WR);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: ring LISTEN_IP PORT NEXT_IP BYTES START_FILE DONE_FILE LIMIT_S\n");
    return 2;
  }
  int port = atoi(argv[2]);
  struct sockaddr_in me = address(argv[1], port);
  next_addr = address(argv[3], port);
  total = atoll(argv[4]);
  alarm(atoi(argv[7]));

  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  if (l < 0) die("socket");
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(l, (struct sockaddr *)&me, sizeof me) < 0) die("bind");
  if (listen(l, 4) < 0) die("listen");
  while (access(argv[5], F_OK) != 0) usleep(5000);

  pthread_t sender;
  if (pthread_create(&sender, NULL, send_all, NULL) != 0) die("pthread_create");
  int c = accept(l, NULL, NULL);
  if (c < 0) die("accept");
  static char buf[1 << 20];
  long long got = 0;
  while (got < total) {
    ssize_t n = recv(c, buf, sizeof buf, 0);
    if (n < 0) die("recv");
    if (n == 0) break;
    got += n;
  }
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  if (got < total) {
    fprintf(stderr, "ring: the previous host closed after %lld of %lld bytes\n", got, total);
    return 1;
  }
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[6]);
  FILE *done = fopen(tmp, "w");
  if (!done) die(tmp);
  fprintf(done, "%lld.%09ld\n", (long long)t.tv_sec, t.tv_nsec);
  if (fclose(done) != 0 || rename(tmp, argv[6]) != 0) die(argv[6]);
  pthread_join(sender, NULL);
  return 0;
}
