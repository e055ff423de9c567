#include "sys/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace mp::sys {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

namespace {
std::uint32_t* addr(const std::atomic<std::uint32_t>& word) {
  // The kernel compares the word itself; atomic<uint32_t> has the same representation.
  return reinterpret_cast<std::uint32_t*>(const_cast<std::atomic<std::uint32_t>*>(&word));
}
}  // namespace

WaitResult futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      const Deadline& deadline) noexcept {
  // Not FUTEX_PRIVATE: the word may be shared with other processes. FUTEX_WAIT_BITSET takes an
  // absolute CLOCK_MONOTONIC deadline, so retries after EINTR do not stretch the timeout.
  timespec ts{};
  const timespec* tsp = nullptr;
  if (!deadline.is_never()) {
    ts = deadline.as_timespec();
    tsp = &ts;
  }
  long rc = ::syscall(SYS_futex, addr(word), FUTEX_WAIT_BITSET, expected, tsp, nullptr,
                      FUTEX_BITSET_MATCH_ANY);
  if (rc == -1 && errno == ETIMEDOUT) return WaitResult::timed_out;
  return WaitResult::woken;
}

int futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept {
  long rc = ::syscall(SYS_futex, addr(word), FUTEX_WAKE, count, nullptr, nullptr, 0);
  return rc < 0 ? 0 : static_cast<int>(rc);
}

}  // namespace mp::sys
