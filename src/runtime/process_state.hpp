// runtime/process_state.hpp — what a Process handle refers to, and the per-process registry of
// children (Python's _children set and _current_process).
#pragma once

#include <atomic>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mp/process.hpp"
#include "sys/fd.hpp"

namespace mp::detail {

class ForkServer;

struct ProcessState {
  enum class Role { child, current, parent };  // ours to start; ourselves; our parent (a view)

  Role role = Role::child;
  std::string name;
  bool daemon = false;
  StartMethod method = StartMethod::fork;
  std::vector<int> identity;
  std::string authkey;           // Python's Process.authkey; under `mutex`
  std::function<void()> target;  // released in the parent once started
  TargetEncoder encoder;         // for spawn and forkserver; empty: fork only (mp's own closures)
  std::shared_ptr<ForkServer> server;  // forkserver: this one (a pool's zygote), not the global

  mutable std::mutex mutex;  // guards authkey and the fields below (concurrent join/poll)
  bool started = false;
  bool closed = false;
  int pid = 0;
  sys::UniqueFd pidfd;
  sys::UniqueFd status;  // forkserver children: the server reports the exit code here
  std::optional<int> exitcode;

  // Reaps the child once it has ended; with `block`, waits for it. Needs role == child.
  std::optional<int> poll(bool block);

 private:
  std::optional<int> poll_status(std::unique_lock<std::mutex>& lock, bool block);
};

// The library's own way into a Process handle (a pool binds its workers to its zygote).
struct ProcessAccess {
  static ProcessState& state(Process& p) noexcept { return *p.state_; }
};

// The registry of this process: who we are, who our parent is, which children we started.
// After fork the child gets a fresh one (see runtime::after_fork_in_child).
struct Registry {
  int owner_pid = 0;  // the process this registry describes; another pid means we forked since
  std::shared_ptr<ProcessState> current;
  std::shared_ptr<ProcessState> parent;  // null in the main process
  std::mutex mutex;                      // guards children and next_index
  std::vector<std::shared_ptr<ProcessState>> children;
  int next_index = 1;
};

// This process's registry. In a fork child it is rebuilt on first use, not at fork: a child
// that never asks touches (and copies) no memory for it.
Registry& registry();

// Called in a fork child, first thing: records who the child is, for registry() to find.
void note_fork_child(ProcessState* self, int parent_pid) noexcept;

// Registers finalize_children to run at exit (once).
void register_exit_handler() noexcept;

// Terminates daemonic children and joins the others (Python's _exit_function).
void finalize_children() noexcept;

// Runs in the child: the target, the exit-code rules, the flush, _exit. Never returns.
[[noreturn]] void run_child(const std::shared_ptr<ProcessState>& self) noexcept;

// Start-method strategies (Python's popen_fork, popen_forkserver, popen_spawn_posix).
void launch_fork(const std::shared_ptr<ProcessState>& state);
void launch_spawn(const std::shared_ptr<ProcessState>& state);
void launch_forkserver(const std::shared_ptr<ProcessState>& state);

// Records a child started without fork (spawn, forkserver) as started and ours to watch: its
// pid, a pidfd, and for a forkserver child the socket its exit code comes on. Returns the
// state's lock, held: the caller sends the child its BootSpec before anyone may poll it.
[[nodiscard]] std::unique_lock<std::mutex> note_started(const std::shared_ptr<ProcessState>& state,
                                                        int pid, sys::UniqueFd pidfd,
                                                        sys::UniqueFd status);

// Stops this process's forkserver, if it started one (at exit, after the children).
void stop_forkserver() noexcept;

// The spec a spawn or forkserver child receives for `state`; the descriptors of the handles in
// its arguments are appended to `fds`. Throws ProcessError when the target cannot travel.
struct BootSpec;
BootSpec make_boot_spec(const ProcessState& state, std::vector<int>& fds);

// Threads the library itself runs (a Pool's thread): fork() from the pool's own thread is the
// library's choice, so they do not count towards the "this process has threads" warning.
void note_library_thread(int delta) noexcept;
std::atomic<int>& library_threads() noexcept;

}  // namespace mp::detail
