// sys/thread_id.hpp — cached process and thread ids, and whether a thread still lives.
//
// getpid() and gettid() are system calls; lock fast paths need them in a few nanoseconds, so
// both are cached. The pid cache lives in a page the kernel zeroes in every child however it was
// made (MADV_WIPEONFORK): fork(), but also _Fork() and a raw clone(), which run no
// pthread_atfork handlers. A child that kept its parent's ids would take the parent's locks as
// its own and unlink the parent's shared memory. The tid cache is valid only while that page
// holds a pid.
#pragma once

#include <atomic>
#include <cstdint>

namespace mp::sys {

int this_pid() noexcept;

namespace id_cache {
// initial-exec: the library is linked into programs (or libraries loaded at start-up), and the
// default model for position-independent code would call __tls_get_addr on every lock fast path.
// constinit: no dynamic initializer, so the compiler calls no TLS wrapper to check for one.
extern constinit thread_local int tid __attribute__((tls_model("initial-exec")));
// The cached pid (0: unknown, as in a new child); null until first used.
extern constinit std::atomic<std::atomic<int>*> pid_slot;
int fetch_tid() noexcept;
}  // namespace id_cache

// Unique among live threads of the machine's pid namespace. Inline: lock fast paths use it.
inline int this_tid() noexcept {
  // A tid is cached only after this_pid() made the slot (fetch_tid), so t != 0 means it exists.
  const int t = id_cache::tid;
  return t != 0 && id_cache::pid_slot.load(std::memory_order_relaxed)
                           ->load(std::memory_order_relaxed) != 0
             ? t
             : id_cache::fetch_tid();
}

// Resets the caches; called in a fork child before anything else runs there.
void reset_id_cache_after_fork() noexcept;

// False once the thread (or process) `tid` has ended, zombies included. A reused id reads as
// alive: ids cycle only after pid_max further threads are created.
bool thread_alive(int tid) noexcept;

}  // namespace mp::sys
