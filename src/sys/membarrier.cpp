#include "sys/membarrier.hpp"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "sys/thread_id.hpp"

namespace mp::sys {

namespace membarrier_cache {
thread_local bool registered __attribute__((tls_model("initial-exec"))) = false;
}

namespace {

long membarrier(int cmd) noexcept {
  return ::syscall(SYS_membarrier, cmd, 0, 0);
}

// The pid that registered: a fork child has another pid and registers again.
std::atomic<int> g_registered_pid{0};

void child_after_fork() noexcept {
  membarrier_cache::registered = false;  // the forking thread's copy, the only thread there
}

[[maybe_unused]] const bool g_atfork = [] {
  ::pthread_atfork(nullptr, nullptr, child_after_fork);
  return true;
}();

}  // namespace

bool membarrier_register() noexcept {
  const int pid = this_pid();
  if (g_registered_pid.load(std::memory_order_acquire) != pid) {
    const long supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported < 0 || !(supported & MEMBARRIER_CMD_GLOBAL_EXPEDITED)) return false;
    if (membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) != 0) return false;
    g_registered_pid.store(pid, std::memory_order_release);
  }
  membarrier_cache::registered = true;
  return true;
}

bool membarrier_all_registered() noexcept {
  if (membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0) return true;
  // The slow form covers every thread of the machine, registered or not.
  return membarrier(MEMBARRIER_CMD_GLOBAL) == 0;
}

}  // namespace mp::sys
