// gc-floor.c: the system calls of a sessgc sweep and nothing else, to
// measure what they cost on a mount without a Go runtime around them (the
// floor under sessgc's own time; docs/measurements.md, "sessgc's wall
// time on NFS").
//
// Over a depth-1 store's data directory, THREADS threads take one shard at
// a time: open it, getdents64 it, fstatat each entry; an entry older than
// AGE seconds by this host's clock is, in MODE 0, unlinked in place (what
// find -delete does), in MODE 1 renamed aside (.tmp-gc-NAME) and unlinked
// after the listing, in MODE 2 renamed aside, the shard listed again and
// each aside name fstatat'ed (sessgc's check), then unlinked: sessgc's
// removal protocol without its decisions. At most 256 expired entries per
// shard are handled (sessgc's batch); the rest are left aside.
//
//   gcc -O2 -pthread -o gc-floor scripts/gc-floor.c
//   gc-floor STORE/data THREADS MODE AGE
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>

static char *data; static int mode; static long age; static time_t now;
static atomic_int next; static char shards[1024][3]; static int nshards;
static atomic_long scanned, removed;

struct ld { unsigned long long ino; long long off; unsigned short reclen; unsigned char type; char name[]; };

static void *work(void *arg) {
  char buf[32768], path[4096], aside[300];
  char (*cand)[64] = malloc(256 * 64);
  for (;;) {
    int i = atomic_fetch_add(&next, 1);
    if (i >= nshards) break;
    snprintf(path, sizeof path, "%s/%s", data, shards[i]);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    int nc = 0;
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
      for (long p = 0; p < n;) {
        struct ld *d = (struct ld *)(buf + p); p += d->reclen;
        if (d->name[0] == '.') continue;
        struct stat st;
        atomic_fetch_add(&scanned, 1);
        if (fstatat(fd, d->name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (now - st.st_mtime > age) {
          if (mode == 0) { if (unlinkat(fd, d->name, 0) == 0) atomic_fetch_add(&removed, 1); continue; }
          snprintf(aside, sizeof aside, ".tmp-gc-%s", d->name);
          if (renameat(fd, d->name, fd, aside) == 0 && nc < 256) strcpy(cand[nc++], d->name);
        }
      }
    }
    if (nc > 0 && mode == 2) {
      lseek(fd, 0, SEEK_SET);
      while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long p = 0; p < n;) {
          struct ld *d = (struct ld *)(buf + p); p += d->reclen;
          struct stat st;
          if (strncmp(d->name, ".tmp-gc-", 8) == 0) fstatat(fd, d->name, &st, AT_SYMLINK_NOFOLLOW);
        }
    }
    for (int c = 0; c < nc; c++) {
      snprintf(aside, sizeof aside, ".tmp-gc-%s", cand[c]);
      if (unlinkat(fd, aside, 0) == 0) atomic_fetch_add(&removed, 1);
    }
    close(fd);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: gc-floor DATADIR THREADS MODE AGE\n"); return 2; }
  data = argv[1]; int threads = atoi(argv[2]); mode = atoi(argv[3]); age = atol(argv[4]);
  now = time(NULL);
  DIR *d = opendir(data); struct dirent *e;
  if (!d) { perror(data); return 1; }
  while ((e = readdir(d))) if (strlen(e->d_name) == 2 && e->d_name[0] != '.' && nshards < 1024) strcpy(shards[nshards++], e->d_name);
  closedir(d);
  pthread_t t[64];
  if (threads < 1 || threads > 64) threads = 1;
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, work, NULL);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  printf("floor threads=%d mode=%d: scanned %ld removed %ld\n", threads, mode, scanned, removed);
  return 0;
}
