// sys/thread_id.hpp — cached process and thread ids, and whether a thread still lives.
//
// getpid() and gettid() are system calls; lock fast paths need them in a few nanoseconds, so
// both are cached and the caches are reset in the child of every fork (pthread_atfork).
#pragma once

#include <cstdint>

namespace mp::sys {

int this_pid() noexcept;

namespace id_cache {
// initial-exec: the library is linked into programs (or libraries loaded at start-up), and the
// default model for position-independent code would call __tls_get_addr on every lock fast path.
// constinit: no dynamic initializer, so the compiler calls no TLS wrapper to check for one.
extern constinit thread_local int tid __attribute__((tls_model("initial-exec")));
int fetch_tid() noexcept;
}  // namespace id_cache

// Unique among live threads of the machine's pid namespace. Inline: lock fast paths use it.
inline int this_tid() noexcept {
  const int t = id_cache::tid;
  return t != 0 ? t : id_cache::fetch_tid();
}

// Resets the caches; called in a fork child before anything else runs there.
void reset_id_cache_after_fork() noexcept;

// False once the thread (or process) `tid` has ended, zombies included. A reused id reads as
// alive: ids cycle only after pid_max further threads are created.
bool thread_alive(int tid) noexcept;

}  // namespace mp::sys
