// runtime/popen_fork.cpp — the fork start method (Python's popen_fork).
//
// The child is a copy of the parent: it runs the target straight from the copied closure, so
// any callable works. Standard output is flushed before fork so that nothing buffered in the
// parent is printed twice.
#include <csignal>
#include <cerrno>
#include <system_error>

#include "runtime/process_state.hpp"
#include "sys/child.hpp"
#include "sys/thread_id.hpp"

namespace mp::detail {

void launch_fork(const std::shared_ptr<ProcessState>& state) {
  flush_standard_streams();
  const int parent_pid = sys::this_pid();
  const std::string parent_name = registry().current->name;

  // Hold our own registry lock across fork so the child never copies it mid-update.
  int pid = 0;
  {
    std::lock_guard lock(registry().mutex);
    pid = sys::fork_process();
  }
  if (pid < 0) throw std::system_error(-pid, std::generic_category(), "fork");
  if (pid == 0) {
    if (state->daemon && !sys::die_with_parent(parent_pid)) sys::exit_now(1);
    after_fork_in_child(state, parent_pid, parent_name);
    run_child(state);
  }

  std::lock_guard lock(state->mutex);
  state->pid = pid;
  state->pidfd = sys::pidfd_open(pid);
  state->started = true;
  if (!state->pidfd) {
    int err = errno;
    // Without a pidfd there is no sentinel; kill the child rather than leave it unwatched.
    sys::send_signal(-1, pid, SIGKILL);
    int ignored = 0;
    sys::reap(pid, true, ignored);
    state->exitcode = -SIGKILL;
    throw std::system_error(err, std::generic_category(), "pidfd_open");
  }
}

}  // namespace mp::detail
