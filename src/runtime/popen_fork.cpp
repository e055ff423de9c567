// runtime/popen_fork.cpp — the fork start method (Python's popen_fork).
//
// The child is a copy of the parent: it runs the target straight from the copied closure, so
// any callable works. Standard output is flushed before fork so that nothing buffered in the
// parent is printed twice.
//
// Start-up cost is mostly page faults: the child faults on every page it touches for the first
// time, the parent on every page it writes while the child shares it. So the parent does its
// bookkeeping before fork, and the child touches as little as it can on its way to the target.
#include <cerrno>
#include <csignal>
#include <system_error>

#include "runtime/process_state.hpp"
#include "sys/child.hpp"
#include "sys/thread_id.hpp"

namespace mp::detail {

void launch_fork(const std::shared_ptr<ProcessState>& state) {
  sys::flush_stdio(/*all_streams=*/true);  // nothing buffered may be printed twice
  const int parent_pid = sys::this_pid();
  Registry& reg = registry();
  // Everything the parent records is written before fork: after it, each page the parent
  // writes while the child lives is copied (a page fault), and the child waits for none of it.
  {
    std::lock_guard lock(reg.mutex);
    reg.children.push_back(state);
  }
  std::unique_lock lock(state->mutex);
  state->started = true;

  // The child does not need the registry's lock: it rebuilds its own registry from fields that
  // never change after creation (see registry()).
  const int pid = sys::fork_process();
  if (pid == 0) {
    if (state->daemon && !sys::die_with_parent(parent_pid)) sys::exit_now(1);
    note_fork_child(state.get(), parent_pid);
    run_child(state);
  }
  if (pid < 0) {
    state->started = false;
    lock.unlock();
    std::lock_guard reg_lock(reg.mutex);
    std::erase(reg.children, state);
    throw std::system_error(-pid, std::generic_category(), "fork");
  }
  state->pid = pid;
  state->pidfd = sys::pidfd_open(pid);
  if (!state->pidfd) {
    int err = errno;
    // Without a pidfd there is no sentinel; kill the child rather than leave it unwatched.
    sys::send_signal(-1, pid, SIGKILL);
    int ignored = 0;
    sys::reap(pid, true, ignored);
    state->exitcode = -SIGKILL;
    lock.unlock();
    std::lock_guard reg_lock(reg.mutex);
    std::erase(reg.children, state);
    throw std::system_error(err, std::generic_category(), "pidfd_open");
  }
}

}  // namespace mp::detail
