// runtime/popen_spawn.cpp — the spawn start method (Python's popen_spawn_posix).
//
// The child is this program run again (/proc/self/exe, or mp::set_executable's choice) with
// MP_BOOT=spawn:3 in its environment and one socket as descriptor 3; every other descriptor above
// 2 is closed, so the child holds only what it is sent. posix_spawn runs none of our code between
// fork and exec, which is what makes spawn safe from a program with busy threads. The child's
// mp::freeze_support() reads the BootSpec from the socket and runs the target.
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "runtime/boot.hpp"
#include "runtime/process_state.hpp"
#include "runtime/spawn_program.hpp"
#include "sys/child.hpp"
#include "sys/socket.hpp"
#include "sys/thread_id.hpp"

namespace mp::detail {

void launch_spawn(const std::shared_ptr<ProcessState>& state) {
  std::vector<int> fds;
  const BootSpec spec = make_boot_spec(*state, fds);  // throws before anything has started
  sys::UniqueFd ours, theirs;
  if (int err = sys::socket_pair(false, ours, theirs); err != 0) {
    throw std::system_error(err, std::generic_category(), "socketpair");
  }
  sys::flush_stdio(/*all_streams=*/true);  // keeps output in the order it was written

  int pid = 0;
  if (int err = run_program("spawn", theirs.get(), pid); err != 0) {
    throw std::system_error(err, std::generic_category(), "spawn");
  }
  sys::UniqueFd pidfd = sys::pidfd_open(pid);
  if (!pidfd) {
    // Without a pidfd there is no sentinel; kill the child rather than leave it unwatched.
    const int err = errno;
    sys::send_signal(-1, pid, SIGKILL);
    int ignored = 0;
    sys::reap(pid, true, ignored);
    throw std::system_error(err, std::generic_category(), "spawn");
  }
  theirs.reset();
  auto lock = note_started(state, pid, std::move(pidfd), {});
  try {
    send_boot(ours.get(), spec, fds);
  } catch (const std::system_error&) {
    // The child died before reading (EPIPE): its exit code says why; nothing to undo here.
  }
}

}  // namespace mp::detail
