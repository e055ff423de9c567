// runtime/popen_forkserver.cpp — the forkserver start method, parent side (Python's
// popen_forkserver), and the ForkServer a fork pool keeps as its zygote.
//
// Each start sends the server one end of a fresh socket pair; the server forks a child that
// reads its BootSpec from that socket, and writes back on it the child's pid and, once it has
// reaped the child, its exit code. The child is the server's: this process watches it through a
// pidfd (readable when it ends) and learns its exit code from the socket (ProcessState::status).
//
//   start():  socketpair(ours, theirs) ── theirs ──→ server: fork ──→ child reads BootSpec
//             ours ←── pid, later exit code ── server          ↑
//             ours ──────────── BootSpec ──────────────────────┘
#include "runtime/fork_server.hpp"

#include <pthread.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <system_error>
#include <vector>

#include "mp/context.hpp"
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
constexpr std::chrono::nanoseconds kGrace = std::chrono::seconds(1);

}  // namespace

namespace {

// The control sockets of this process's servers. A server exits when its control socket reaches
// EOF, which needs every copy closed: a fork child closes its copies at once, from this table
// (lock-free: another thread may have held any lock at fork).
constexpr std::size_t kMaxServers = 64;
std::array<std::atomic<int>, kMaxServers> g_control_fds{};  // fd + 1; 0: a free slot

void note_control(int fd) noexcept {
  for (auto& slot : g_control_fds) {
    int empty = 0;
    if (slot.compare_exchange_strong(empty, fd + 1)) return;
  }
  // Full: that server then lives until its last copy closes, at worst until its parent exits.
}

void forget_control(int fd) noexcept {
  for (auto& slot : g_control_fds) {
    int expected = fd + 1;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace

// A fork child must not talk to its parent's servers, nor keep them alive.
void forget_servers_in_fork_child() {
  for (auto& slot : g_control_fds) {
    const int fd = slot.exchange(0) - 1;
    if (fd >= 0) ::close(fd);
  }
  ForkServer::for_start_method().forget();
}

namespace {
[[maybe_unused]] const bool g_registered = [] {
  ::pthread_atfork(nullptr, nullptr, forget_servers_in_fork_child);
  return true;
}();
}  // namespace

ForkServer& ForkServer::for_start_method() {
  static ForkServer* const s = [] {
    auto* server = new ForkServer();  // never freed: used from the exit handler
    server->spawned_ = true;
    return server;
  }();
  return *s;
}

std::shared_ptr<ForkServer> ForkServer::fork_zygote(const std::string& name) {
  sys::UniqueFd ours, theirs;
  if (int err = sys::socket_pair(true, ours, theirs); err != 0) {
    throw std::system_error(err, std::generic_category(), "socketpair");
  }
  const int control = ours.get();
  const int served = theirs.get();
  Process zygote([control, served] {
    ::close(control);
    // A daemon, so that it is terminated at exit; but it must not die with the thread that
    // made the pool (the death signal follows threads): it ends when its control socket does.
    sys::keep_after_parent();
    serve_forkserver(served);
  });
  zygote.set_name(name);
  zygote.set_daemon(true);
  get_context(StartMethod::fork).bind(zygote);
  zygote.start();
  auto server = std::make_shared<ForkServer>();
  server->owner_pid_ = sys::this_pid();
  note_control(ours.get());
  server->control_ = std::move(ours);
  server->zygote_ = std::move(zygote);
  return server;
}

ForkServer::~ForkServer() {
  stop();
}

void ForkServer::forget() noexcept {
  control_.release();  // closed by forget_servers_in_fork_child, with every other server's
  if (pidfd_) ::close(pidfd_.release());
  owner_pid_ = 0;
}

void ForkServer::stop() noexcept {
  std::lock_guard lock(mutex_);
  if (owner_pid_ != sys::this_pid()) return;
  forget_control(control_.get());
  control_.reset();  // EOF: the server exits
  if (zygote_) {
    // Processes forked from ours since may hold the control socket too: no EOF to wait for.
    zygote_->terminate();
    if (!zygote_->join(kGrace)) {
      zygote_->kill();
      zygote_->join();
    }
    zygote_.reset();
  } else if (pid_ != 0) {
    if (!sys::wait_readable(pidfd_.get(), sys::Deadline::after(kGrace))) {
      sys::send_signal(pidfd_.get(), pid_, SIGKILL);
    }
    int ignored = 0;
    sys::reap(pid_, true, ignored);
    pid_ = 0;
    pidfd_.reset();
  }
  owner_pid_ = 0;
}

void ForkServer::ensure_started() {
  const bool ours = owner_pid_ == sys::this_pid();
  if (ours && control_ &&
      !sys::wait_readable(pidfd_.get(), sys::Deadline::after(std::chrono::nanoseconds(0)))) {
    return;
  }
  if (!spawned_) throw ProcessError("mp: the pool's zygote process is gone");
  if (ours && pid_ != 0) {  // it died: reap it and start another
    sys::send_signal(pidfd_.get(), pid_, SIGKILL);
    int ignored = 0;
    sys::reap(pid_, true, ignored);
  }
  sys::UniqueFd mine, theirs;
  if (int err = sys::socket_pair(true, mine, theirs); err != 0) {
    throw std::system_error(err, std::generic_category(), "socketpair");
  }
  sys::flush_stdio(/*all_streams=*/true);
  int pid = 0;
  if (int err = run_program("forkserver", theirs.get(), pid); err != 0) {
    throw std::system_error(err, std::generic_category(), "starting the forkserver");
  }
  pid_ = pid;
  pidfd_ = sys::pidfd_open(pid);
  if (control_) forget_control(control_.get());
  note_control(mine.get());
  control_ = std::move(mine);
  owner_pid_ = sys::this_pid();
}

void ForkServer::launch(const std::shared_ptr<ProcessState>& state) {
  std::vector<int> fds;
  const BootSpec spec = make_boot_spec(*state, fds);
  sys::UniqueFd ours, theirs;
  if (int err = sys::socket_pair(false, ours, theirs); err != 0) {
    throw std::system_error(err, std::generic_category(), "socketpair");
  }
  sys::flush_stdio(/*all_streams=*/true);
  std::int32_t pid = 0;
  {
    std::lock_guard lock(mutex_);
    if (spawned_) ensure_started();
    if (owner_pid_ != sys::this_pid() || !control_) {
      throw ProcessError("mp: the pool's zygote process has stopped");
    }
    int err = sys::send_fd(control_.get(), kStart, theirs.get(), sys::Deadline::after(kReply));
    theirs.reset();
    std::size_t got = 0;
    std::span<std::byte> out(reinterpret_cast<std::byte*>(&pid), sizeof pid);
    if (err == 0) err = sys::recv_exact(ours.get(), out, got, sys::Deadline::after(kReply));
    if (err != 0 || got != sizeof pid || pid <= 0) {
      if (spawned_) {  // a server that fails us is replaced next time
        forget_control(control_.get());
        control_.reset();
      }
      throw ProcessError("mp: the fork server did not start the process" +
                         (err != 0 ? ": " + std::generic_category().message(err) : ""));
    }
  }
  // Not our child, but a pidfd watches any process; the exit code comes on `ours`.
  const int sock = ours.get();
  auto lock = note_started(state, pid, sys::pidfd_open(pid), std::move(ours));
  try {
    send_boot(sock, spec, fds);
  } catch (const std::system_error&) {
    // The child died before reading: its exit code, from the server, says why.
  }
}

bool ForkServer::usable() {
  std::lock_guard lock(mutex_);
  if (spawned_) return true;
  return owner_pid_ == sys::this_pid() && control_ && zygote_ && zygote_->is_alive();
}

void launch_forkserver(const std::shared_ptr<ProcessState>& state) {
  if (state->server) {
    state->server->launch(state);
  } else {
    ForkServer::for_start_method().launch(state);
  }
}

void stop_forkserver() noexcept {
  ForkServer::for_start_method().stop();
}

}  // namespace mp::detail
