// sys/membarrier.hpp — process-wide memory barriers on demand (membarrier(2)).
//
// An asymmetric fence: a thread on a hot path orders its accesses with compiler barriers only,
// and a rare other party, which needs that order, pays for it by making every registered
// process's running threads execute a full barrier. shm/biased_lock.hpp is built on it.
#pragma once

namespace mp::sys {

// Registers the calling process as one whose threads may rely on membarrier_all_registered();
// once per process (a fork child registers again). False when the kernel or a sandbox refuses:
// callers then must not rely on it.
bool membarrier_register() noexcept;

namespace membarrier_cache {
extern thread_local bool registered __attribute__((tls_model("initial-exec")));
}

// Whether this thread's process has registered; a few instructions, for hot paths.
inline bool membarrier_registered() noexcept {
  return membarrier_cache::registered;
}

// Returns after every running thread of every registered process has passed a full memory
// barrier. False when no form of membarrier(2) is available.
bool membarrier_all_registered() noexcept;

}  // namespace mp::sys
