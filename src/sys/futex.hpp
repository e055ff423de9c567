// sys/futex.hpp — futex wait and wake on 32-bit words that may live in shared memory.
#pragma once

#include <atomic>
#include <cstdint>

#include "sys/clock.hpp"

namespace mp::sys {

enum class WaitResult { woken, timed_out };

// Sleeps while *word == expected, until woken or the deadline passes. Returns woken also when
// the value had already changed or a signal interrupted the sleep: callers recheck their
// condition in a loop, so a spurious wake-up is harmless.
WaitResult futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                      const Deadline& deadline) noexcept;

// Wakes up to `count` sleepers on `word` (INT32_MAX: all); returns how many were woken.
int futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace mp::sys
