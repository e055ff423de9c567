// tests/support/leak_check.hpp — a fixture that fails any test leaving behind a child process,
// a zombie, a file descriptor or a /dev/shm entry of its own (named "mp-<pid>-...": shared
// memory names carry their creator's pid, so tests running in parallel do not blame each other).
//
// Also here, because every test binary links this file: the arrangement that the children of a
// test binary die with it (see children_die_with_test()), and the probes tests use to know that
// another process has really reached a point (asleep in a wait) or really let go of memory.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <set>
#include <string>

namespace mp::testing {

// Whether this build runs under ASan or TSan (slower starts, fewer iterations).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

std::set<int> open_fds();
std::set<std::string> shm_entries();
// Polls until /dev/shm has no entry `name` (a tracker unlinks it from another process, with
// nothing to wait on), or 10 s pass; false then.
bool shm_entry_vanishes(const std::string& name);

// Descriptors of this process that are memfds (mp's anonymous shared memory), and mappings of
// memfds in this process's address space (/proc/self/maps).
std::size_t memfd_fds();
std::size_t memfd_mappings();

// Waits until the process `pid` (its main thread) sleeps in futex(2) FUTEX_WAIT, i.e. it is
// inside a blocking wait and not merely about to enter one; false if that does not happen
// within `limit`. Reads /proc/<pid>/syscall, so `pid` must be a descendant of the caller (or
// otherwise ptrace-readable).
bool wait_until_asleep_in_futex(int pid, std::chrono::milliseconds limit);

// Makes every process that the test binary's main thread forks from now on get SIGKILL when the
// test binary dies (ctest's timeout kills it with SIGKILL, which no handler can see). Runs from a
// static initializer of this file; idempotent, so a test may call it to be sure of it before its
// first fork. The comment in leak_check.cpp says which processes are covered and why.
void children_die_with_test() noexcept;

class LeakCheckedTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

 private:
  std::set<int> fds_;
  std::set<std::string> shm_;
};

}  // namespace mp::testing
