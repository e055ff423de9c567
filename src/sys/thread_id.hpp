// sys/thread_id.hpp — cached process and thread ids, and whether a thread still lives.
//
// getpid() and gettid() are system calls; lock fast paths need them in a few nanoseconds, so
// both are cached and the caches are reset in the child of every fork (pthread_atfork).
#pragma once

#include <cstdint>

namespace mp::sys {

int this_pid() noexcept;
int this_tid() noexcept;  // unique among live threads of the machine's pid namespace

// Resets the caches; called in a fork child before anything else runs there.
void reset_id_cache_after_fork() noexcept;

// False once the thread (or process) `tid` has ended, zombies included. A reused id reads as
// alive: ids cycle only after pid_max further threads are created.
bool thread_alive(int tid) noexcept;

}  // namespace mp::sys
