#include "sys/thread_id.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mp::sys {

namespace {
int g_pid = 0;

void child_after_fork() noexcept {
  reset_id_cache_after_fork();
}

[[maybe_unused]] const bool g_registered = [] {
  ::pthread_atfork(nullptr, nullptr, child_after_fork);
  return true;
}();
}  // namespace

int this_pid() noexcept {
  if (g_pid == 0) g_pid = static_cast<int>(::getpid());
  return g_pid;
}

namespace id_cache {
constinit thread_local int tid __attribute__((tls_model("initial-exec"))) = 0;
int fetch_tid() noexcept {
  return tid = static_cast<int>(::syscall(SYS_gettid));
}
}  // namespace id_cache

void reset_id_cache_after_fork() noexcept {
  g_pid = 0;
  id_cache::tid = 0;
}

bool thread_alive(int tid) noexcept {
  // /proc/<tid>/stat exists for every thread, leaders and others; its state letter tells a
  // zombie (Z) or a dead task (X) from a live one. kill(tid, 0) would count zombies as alive.
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", tid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ESRCH) return false;
    return ::kill(tid, 0) == 0 || errno != ESRCH;  // /proc unavailable: best effort
  }
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return false;  // the task went away between open and read
  buf[n] = '\0';
  const char* paren = std::strrchr(buf, ')');  // the command name may itself hold ')'
  if (paren == nullptr || paren[1] == '\0' || paren[2] == '\0') return true;
  char state = paren[2];
  return state != 'Z' && state != 'X' && state != 'x';
}

}  // namespace mp::sys
