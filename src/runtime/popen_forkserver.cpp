// runtime/popen_forkserver.cpp — the forkserver start method, parent side (Python's
// popen_forkserver).
//
// The first forkserver start runs this program again as a server (MP_BOOT=forkserver:3): a
// process with one thread and nothing but the program's global state, started once. Each start
// then sends the server one end of a fresh socket pair; the server forks a child that reads its
// BootSpec from that socket, and writes back on it the child's pid and, once it has reaped the
// child, its exit code. The child is the server's: this process watches it through a pidfd
// (readable when it ends) and learns its exit code from the socket (ProcessState::status).
//
//   start():  socketpair(ours, theirs) ── theirs ──→ server: fork ──→ child reads BootSpec
//             ours ←── pid, later exit code ── server          ↑
//             ours ──────────── BootSpec ──────────────────────┘
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <vector>

#include "runtime/boot.hpp"
#include "runtime/process_state.hpp"
#include "runtime/spawn_program.hpp"
#include "sys/child.hpp"
#include "sys/poll.hpp"
#include "sys/socket.hpp"
#include "sys/thread_id.hpp"

namespace mp::detail {

namespace {

constexpr std::uint64_t kStart = 1;
constexpr std::chrono::nanoseconds kReply = std::chrono::seconds(30);

struct Server {
  std::mutex mutex;
  int owner_pid = 0;  // the process whose server this is; a fork child has none
  int pid = 0;
  sys::UniqueFd control;  // SOCK_SEQPACKET; EOF tells the server to exit
  sys::UniqueFd pidfd;
};

Server& server() {
  static Server* const s = new Server();  // never freed: used from the exit handler
  return *s;
}

// A fork child must not talk to its parent's server, nor keep it alive: drop the descriptors
// without touching the mutex (another thread may have held it at fork).
void forget_in_fork_child() {
  Server& s = server();
  if (s.control) {
    ::close(s.control.release());
    ::close(s.pidfd.release());
  }
  s.owner_pid = 0;
}

[[maybe_unused]] const bool g_registered = [] {
  ::pthread_atfork(nullptr, nullptr, forget_in_fork_child);
  return true;
}();

void reap_server(Server& s, std::chrono::nanoseconds grace) {
  if (s.pid == 0) return;
  if (!sys::wait_readable(s.pidfd.get(), sys::Deadline::after(grace))) {
    sys::send_signal(s.pidfd.get(), s.pid, SIGKILL);
  }
  int ignored = 0;
  sys::reap(s.pid, true, ignored);
  s.pid = 0;
  s.pidfd.reset();
  s.control.reset();
}

// Starts the server if this process has none running. Holds s.mutex.
void ensure_server(Server& s) {
  if (s.owner_pid == sys::this_pid() && s.control &&
      !sys::wait_readable(s.pidfd.get(), sys::Deadline::after(std::chrono::nanoseconds(0)))) {
    return;
  }
  if (s.owner_pid == sys::this_pid()) reap_server(s, std::chrono::milliseconds(0));
  sys::UniqueFd ours, theirs;
  if (int err = sys::socket_pair(true, ours, theirs); err != 0) {
    throw std::system_error(err, std::generic_category(), "socketpair");
  }
  sys::flush_stdio(/*all_streams=*/true);
  int pid = 0;
  if (int err = run_program("forkserver", theirs.get(), pid); err != 0) {
    throw std::system_error(err, std::generic_category(), "starting the forkserver");
  }
  s.pid = pid;
  s.pidfd = sys::pidfd_open(pid);
  s.control = std::move(ours);
  s.owner_pid = sys::this_pid();
}

}  // namespace

void launch_forkserver(const std::shared_ptr<ProcessState>& state) {
  std::vector<int> fds;
  const BootSpec spec = make_boot_spec(*state, fds);
  sys::UniqueFd ours, theirs;
  if (int err = sys::socket_pair(false, ours, theirs); err != 0) {
    throw std::system_error(err, std::generic_category(), "socketpair");
  }
  sys::flush_stdio(/*all_streams=*/true);
  std::int32_t pid = 0;
  {
    Server& s = server();
    std::lock_guard lock(s.mutex);
    ensure_server(s);
    int err = sys::send_fd(s.control.get(), kStart, theirs.get(), sys::Deadline::after(kReply));
    theirs.reset();
    std::size_t got = 0;
    std::span<std::byte> out(reinterpret_cast<std::byte*>(&pid), sizeof pid);
    if (err == 0) err = sys::recv_exact(ours.get(), out, got, sys::Deadline::after(kReply));
    if (err != 0 || got != sizeof pid || pid <= 0) {
      reap_server(s, std::chrono::milliseconds(0));  // a server that fails us is replaced
      throw ProcessError("mp: the forkserver did not start the process" +
                         (err != 0 ? ": " + std::generic_category().message(err) : ""));
    }
  }
  Registry& reg = registry();
  {
    std::lock_guard lock(reg.mutex);
    reg.children.push_back(state);
  }
  std::unique_lock lock(state->mutex);
  state->started = true;
  state->pid = pid;
  state->pidfd = sys::pidfd_open(pid);  // not our child, but a pidfd watches any process
  try {
    send_boot(ours.get(), spec, fds);
  } catch (const std::system_error&) {
    // The child died before reading: its exit code, from the server, says why.
  }
  state->status = std::move(ours);
}

void stop_forkserver() noexcept {
  Server& s = server();
  std::lock_guard lock(s.mutex);
  if (s.owner_pid != sys::this_pid() || !s.control) return;
  s.control.reset();  // EOF: the server exits
  reap_server(s, std::chrono::milliseconds(1000));
}

}  // namespace mp::detail
