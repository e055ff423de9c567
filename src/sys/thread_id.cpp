#include "sys/thread_id.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

namespace mp::sys {

namespace {
// Where a kernel without MADV_WIPEONFORK (before 4.14) keeps it: then the atfork handler alone
// resets it.
std::atomic<int> g_fallback_pid{0};

void child_after_fork() noexcept {
  reset_id_cache_after_fork();
}

[[maybe_unused]] const bool g_registered = [] {
  ::pthread_atfork(nullptr, nullptr, child_after_fork);
  return true;
}();

std::atomic<int>* make_pid_slot() noexcept {
  const long page = ::sysconf(_SC_PAGESIZE);
  void* p = ::mmap(nullptr, static_cast<std::size_t>(page), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  std::atomic<int>* slot = &g_fallback_pid;
  if (p != MAP_FAILED) {
    if (::madvise(p, static_cast<std::size_t>(page), MADV_WIPEONFORK) == 0) {
      slot = new (p) std::atomic<int>(0);
    } else {
      ::munmap(p, static_cast<std::size_t>(page));
    }
  }
  std::atomic<int>* none = nullptr;
  if (!id_cache::pid_slot.compare_exchange_strong(none, slot) && slot != &g_fallback_pid) {
    ::munmap(slot, static_cast<std::size_t>(page));  // another thread made one first
  }
  return id_cache::pid_slot.load();
}
}  // namespace

int this_pid() noexcept {
  std::atomic<int>* slot = id_cache::pid_slot.load(std::memory_order_acquire);
  if (slot == nullptr) slot = make_pid_slot();
  int pid = slot->load(std::memory_order_relaxed);
  if (pid == 0) {
    pid = static_cast<int>(::getpid());
    slot->store(pid, std::memory_order_relaxed);
  }
  return pid;
}

namespace id_cache {
constinit thread_local int tid __attribute__((tls_model("initial-exec"))) = 0;
constinit std::atomic<std::atomic<int>*> pid_slot{nullptr};
int fetch_tid() noexcept {
  (void)this_pid();  // so that the tid is known valid from now on (see this_tid)
  return tid = static_cast<int>(::syscall(SYS_gettid));
}
}  // namespace id_cache

void reset_id_cache_after_fork() noexcept {
  if (auto* slot = id_cache::pid_slot.load(std::memory_order_relaxed)) slot->store(0);
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
