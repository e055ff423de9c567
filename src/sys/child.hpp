// sys/child.hpp — the OS side of child processes: fork, pidfds, signals and reaping.
// Errors are returned as errno values (0: success); nothing here throws.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "sys/clock.hpp"
#include "sys/fd.hpp"

namespace mp::sys {

// fork(); returns the child's pid in the parent, 0 in the child, -errno on failure.
int fork_process() noexcept;

// Runs `path` (posix_spawn: no code of ours runs in the child before exec, so this is safe with
// any number of threads) with `argv` and `envp`; `pass_fd` becomes descriptor `as_fd` in the
// child, and every other descriptor above 2 is closed there. Sets `pid`; returns errno.
int spawn_program(const char* path, char* const argv[], char* const envp[], int pass_fd, int as_fd,
                  int& pid) noexcept;

// The first argument this process was started with (/proc/self/cmdline), for a re-executed
// copy to show the same name; "" if unknown.
std::string program_name();

// A pidfd for `pid` (Linux 5.3+), or an empty fd with errno set.
UniqueFd pidfd_open(int pid) noexcept;

// Sends `sig` to the process behind `pidfd`, or to `pid` where no pidfd is held.
int send_signal(int pidfd, int pid, int sig) noexcept;

// Reaps `pid` if it has ended (blocking when `block`); returns the exit code decoded as Python
// does (n for exit(n), -N for signal N), or nullopt if it still runs. `err` gets errno on failure.
std::optional<int> reap(int pid, bool block, int& err) noexcept;

// Makes the calling child get SIGKILL when its parent dies; returns false if the parent
// `parent_pid` is already gone (the race the prctl alone cannot close).
bool die_with_parent(int parent_pid) noexcept;

// Undoes die_with_parent (and an inherited death signal): this process outlives its parent.
void keep_after_parent() noexcept;

// Threads of this process, from /proc/self/stat; 0 if unknown.
int thread_count() noexcept;

// Online CPUs.
int online_cpus() noexcept;
// The CPUs this process may run on (its affinity mask), at least 1.
int usable_cpus() noexcept;

// _exit(code), without running atexit handlers or flushing anything.
[[noreturn]] void exit_now(int code) noexcept;

// Registers `hook` to run first when this process calls exit(), with the exit status (glibc's
// on_exit); used in fork children only.
void on_exit_first(void (*hook)(int status, void* arg)) noexcept;

// Flushes what stdio holds: every stream (before fork), or only stdout and stderr when they hold
// something (a child's end: touching no other stream keeps copy-on-write faults down).
void flush_stdio(bool all_streams) noexcept;

}  // namespace mp::sys
