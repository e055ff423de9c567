// runtime/process.cpp — the Process handle and the registry of children.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "mp/context.hpp"
#include "mp/process.hpp"
#include "runtime/boot.hpp"
#include "runtime/log.hpp"
#include "runtime/process_state.hpp"
#include "sys/child.hpp"
#include "sys/memory.hpp"
#include "sys/poll.hpp"
#include "sys/socket.hpp"
#include "sys/thread_id.hpp"

namespace mp {
namespace detail {

namespace {

std::shared_ptr<ProcessState> make_main_state() {
  auto s = std::make_shared<ProcessState>();
  s->role = ProcessState::Role::current;
  s->name = "MainProcess";
  s->started = true;
  s->pid = sys::this_pid();
  // Python's: 32 random bytes, which children inherit. None to be had: empty, and a Manager
  // then makes a key of its own.
  std::string key(32, '\0');
  if (sys::random_bytes(key.data(), key.size())) s->authkey = std::move(key);
  return s;
}

Registry* make_registry(std::shared_ptr<ProcessState> current) {
  auto* r = new Registry();  // never freed: it must outlive every static destructor
  r->owner_pid = sys::this_pid();
  r->current = std::move(current);
  return r;
}

Registry* g_registry = nullptr;

// Set in a child by launch_fork; read when the child first needs its registry.
ProcessState* g_fork_self = nullptr;
int g_fork_self_pid = 0;
int g_fork_parent_pid = 0;

// The registry of a fork child, built from the parent's copy. The parent's registry may have
// been locked by another thread at fork time: it is read without its lock (only owner_pid and
// current, which never change after creation) and left behind untouched.
Registry* rebuild_after_fork(const Registry& old) {
  auto current = std::make_shared<ProcessState>();
  current->role = ProcessState::Role::current;
  current->started = true;
  current->pid = sys::this_pid();
  int parent_pid = old.owner_pid;
  if (g_fork_self != nullptr && g_fork_self_pid == current->pid) {
    current->name = g_fork_self->name;
    current->daemon = g_fork_self->daemon;
    current->method = g_fork_self->method;
    current->identity = g_fork_self->identity;
    current->authkey = g_fork_self->authkey;
    parent_pid = g_fork_parent_pid;
  } else {  // a fork that mp did not make: we are a copy of the old current process
    current->name = old.current->name;
    current->identity = old.current->identity;
    current->authkey = old.current->authkey;
  }
  auto parent = std::make_shared<ProcessState>();
  parent->role = ProcessState::Role::parent;
  parent->name = old.current->name;
  parent->started = true;
  parent->pid = parent_pid;
  parent->pidfd = sys::pidfd_open(parent_pid);

  Registry* fresh = make_registry(std::move(current));
  fresh->parent = std::move(parent);
  return fresh;
}

void erase_child(const ProcessState* s) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::erase_if(r.children, [s](const auto& c) { return c.get() == s; });
}

}  // namespace

Registry& registry() {
  // Function-local so that processes started from static initializers find it ready.
  static Registry* const initial = g_registry = make_registry(make_main_state());
  (void)initial;
  if (g_registry->owner_pid != sys::this_pid()) g_registry = rebuild_after_fork(*g_registry);
  return *g_registry;
}

void note_fork_child(ProcessState* self, int parent_pid) noexcept {
  g_fork_self = self;
  g_fork_self_pid = sys::this_pid();
  g_fork_parent_pid = parent_pid;
}

std::optional<int> ProcessState::poll(bool block) {
  std::unique_lock lock(mutex);
  if (exitcode || !started || pid == 0) return exitcode;
  if (status) return poll_status(lock, block);
  int err = 0;
  auto code = sys::reap(pid, block, err);
  if (!code && err == ECHILD) {
    // Someone else reaped it (a SIGCHLD handler set to SIG_IGN, a stray waitpid(-1)): Python
    // reports the same situation as an unknown status; treat it as exited.
    code = 0;
  }
  if (!code) return std::nullopt;
  exitcode = code;
  lock.unlock();
  erase_child(this);
  return exitcode;
}

std::optional<int> ProcessState::poll_status(std::unique_lock<std::mutex>& lock, bool block) {
  // A forkserver child is the server's child: the server reaps it and writes its exit code,
  // promptly, so a blocking read needs only a generous bound against a server that hangs.
  constexpr std::chrono::nanoseconds kServerReply = std::chrono::seconds(30);
  if (!block &&
      !sys::wait_readable(status.get(), sys::Deadline::after(std::chrono::nanoseconds(0)))) {
    return std::nullopt;
  }
  std::int32_t code = 0;
  std::size_t got = 0;
  std::span<std::byte> out(reinterpret_cast<std::byte*>(&code), sizeof code);
  const int err = sys::recv_exact(status.get(), out, got, sys::Deadline::after(kServerReply));
  // Without a reply (the server died) the code is unknown: 255, as Python reports it.
  exitcode = (err == 0 && got == sizeof code) ? code : 255;
  status.reset();
  lock.unlock();
  erase_child(this);
  return exitcode;
}

std::unique_lock<std::mutex> note_started(const std::shared_ptr<ProcessState>& state, int pid,
                                          sys::UniqueFd pidfd, sys::UniqueFd status) {
  Registry& reg = registry();
  {
    std::lock_guard lock(reg.mutex);
    reg.children.push_back(state);
  }
  std::unique_lock lock(state->mutex);
  state->started = true;
  state->pid = pid;
  state->pidfd = std::move(pidfd);
  state->status = std::move(status);
  return lock;
}

void note_boot_child(const BootSpec& spec) noexcept {
  Registry& r = registry();
  auto& current = *r.current;
  current.name = spec.name;
  current.daemon = spec.daemon;
  current.method = static_cast<StartMethod>(spec.method);
  current.identity = spec.identity;
  current.authkey = spec.authkey;
  auto parent = std::make_shared<ProcessState>();
  parent->role = ProcessState::Role::parent;
  parent->name = spec.parent_name;
  parent->started = true;
  parent->pid = spec.parent_pid;
  parent->pidfd = sys::pidfd_open(spec.parent_pid);
  r.parent = std::move(parent);
}

std::atomic<int>& library_threads() noexcept {
  static std::atomic<int> count{0};
  return count;
}

void note_library_thread(int delta) noexcept {
  library_threads().fetch_add(delta, std::memory_order_relaxed);
}

void register_exit_handler() noexcept {
  static std::once_flag once;
  try {
    std::call_once(once, [] { std::atexit([] { detail::finalize_children(); }); });
  } catch (...) {  // call_once failed to start: children are still reaped by whoever joins them
  }
}

void finalize_children() noexcept {
  // Python's words, for the logger (mp/logger.hpp); its atexit finalizers are ours too.
  runtime::log(LogLevel::info, "process shutting down");
  runtime::log(LogLevel::debug, "running all \"atexit\" finalizers with priority >= 0");
  // A child that never used the registry has started no processes: nothing to do, and no
  // reason to build one.
  if (g_registry != nullptr && g_registry->owner_pid == sys::this_pid()) {
    std::vector<std::shared_ptr<ProcessState>> children;
    {
      Registry& r = *g_registry;
      std::lock_guard lock(r.mutex);
      children = r.children;
    }
    const bool told = runtime::logging(LogLevel::info);
    for (auto& c : children) {
      if (c->daemon && !c->poll(false)) {
        if (told) runtime::log(LogLevel::info, {"calling terminate() for daemon ", c->name});
        sys::send_signal(c->pidfd.get(), c->pid, SIGTERM);
      }
    }
    for (auto& c : children) {
      if (told && !c->poll(false))
        runtime::log(LogLevel::info, {"calling join() for process ", c->name});
      c->poll(true);
    }
    stop_forkserver();
  }
  runtime::log(LogLevel::debug, "running the remaining \"atexit\" finalizers");
}

}  // namespace detail

using detail::ProcessState;
using Role = detail::ProcessState::Role;

namespace {

void check_open(const ProcessState& s) {
  if (s.closed) throw ValueError("process object is closed");
}

void check_joinable(const ProcessState& s) {
  check_open(s);
  if (s.role == Role::current) throw ProcessError("cannot join current process");
  if (s.role == Role::parent) throw ProcessError("can only join a child process");
  if (!s.started) throw ProcessError("can only join a started process");
}

// Harmless once the child has ended: it is reaped first, so its pid is never reused under us.
void signal_child(ProcessState& s, int sig) {
  check_open(s);
  if (s.role != Role::child || !s.started || s.poll(false)) return;
  sys::send_signal(s.pidfd.get(), s.pid, sig);
}

void warn_if_threaded() {
  static std::atomic<bool> warned{false};
  if (warned.load(std::memory_order_relaxed)) return;
  int threads = sys::thread_count() - detail::library_threads().load(std::memory_order_relaxed);
  if (threads > 1 && !warned.exchange(true)) {
    std::fprintf(stderr,
                 "mp: warning: process %d has %d threads; fork() copies only the calling one and "
                 "the child may deadlock on a lock another thread held. Prefer "
                 "mp::StartMethod::forkserver or spawn when threads are running.\n",
                 sys::this_pid(), threads);
  }
}

}  // namespace

const char* to_string(StartMethod method) noexcept {
  switch (method) {
    case StartMethod::fork:
      return "fork";
    case StartMethod::forkserver:
      return "forkserver";
    case StartMethod::spawn:
      return "spawn";
  }
  return "unknown";
}

Process::Process(std::shared_ptr<detail::ProcessState> state) noexcept : state_(std::move(state)) {}

Process::Process(std::function<void()> target, detail::TargetEncoder encoder)
    : Process(std::move(target)) {
  state_->encoder = std::move(encoder);
}

Process::Process(std::function<void()> target) : state_(std::make_shared<ProcessState>()) {
  state_->target = std::move(target);
  state_->method = get_start_method();
  auto& r = detail::registry();
  std::lock_guard lock(r.mutex);
  state_->identity = r.current->identity;
  state_->identity.push_back(r.next_index++);
  {
    std::lock_guard key_lock(r.current->mutex);
    state_->authkey = r.current->authkey;
  }
  state_->name = "Process";
  char sep = '-';
  for (int i : state_->identity) {
    state_->name += sep + std::to_string(i);
    sep = ':';
  }
}

void Process::set_name(std::string name) {
  state_->name = std::move(name);
}
const std::string& Process::name() const {
  return state_->name;
}

std::string Process::authkey() const {
  std::lock_guard lock(state_->mutex);
  return state_->authkey;
}

void Process::set_authkey(std::string key) {
  if (key.empty()) throw ValueError("an authkey must not be empty");
  std::lock_guard lock(state_->mutex);
  state_->authkey = std::move(key);
}

void Process::set_daemon(bool daemon) {
  if (state_->started) throw ProcessError("process has already started");
  state_->daemon = daemon;
}
bool Process::daemon() const {
  return state_->daemon;
}
StartMethod Process::start_method() const {
  return state_->method;
}

void Process::start() {
  ProcessState& s = *state_;
  check_open(s);
  if (s.role != Role::child || s.started) throw ProcessError("cannot start a process twice");
  detail::check_not_booting();
  auto& r = detail::registry();
  if (r.current->daemon) throw ProcessError("daemonic processes are not allowed to have children");

  // Reap children that have ended, as Python's start() does, so zombies do not pile up.
  std::vector<std::shared_ptr<ProcessState>> children;
  {
    std::lock_guard lock(r.mutex);
    children = r.children;
  }
  for (auto& c : children) c->poll(false);

  if (s.method == StartMethod::fork) warn_if_threaded();
  detail::register_exit_handler();
  switch (s.method) {
    case StartMethod::fork:
      detail::launch_fork(state_);
      break;
    case StartMethod::forkserver:
      detail::launch_forkserver(state_);
      break;
    case StartMethod::spawn:
      detail::launch_spawn(state_);
      break;
  }
  // Python drops the target at start too: a pipe end it captured must not stay open here, or
  // the other end would never see EOF.
  s.target = nullptr;
  s.encoder = nullptr;
}

bool Process::join_for(std::chrono::nanoseconds timeout) {
  ProcessState& s = *state_;
  check_joinable(s);
  if (s.exitcode) return true;
  if (!sys::wait_readable(s.pidfd.get(), sys::Deadline::after(timeout))) return false;
  return s.poll(true).has_value();
}

void Process::join() {
  ProcessState& s = *state_;
  check_joinable(s);
  s.poll(true);
}

bool Process::is_alive() {
  ProcessState& s = *state_;
  check_open(s);
  switch (s.role) {
    case Role::current:
      return true;
    case Role::parent:
      return !sys::wait_readable(s.pidfd.get(), sys::Deadline::after(std::chrono::nanoseconds(0)));
    case Role::child:
      return s.started && !s.poll(false);
  }
  return false;
}

void Process::terminate() {
  signal_child(*state_, SIGTERM);
}
void Process::kill() {
  signal_child(*state_, SIGKILL);
}

void Process::close() {
  ProcessState& s = *state_;
  if (s.closed) return;
  if (s.role == Role::child && s.started && !s.poll(false)) {
    throw ValueError(
        "cannot close a process while it is still running; join() or terminate() it first");
  }
  std::lock_guard lock(s.mutex);
  s.pidfd.reset();
  s.closed = true;
}

pid_t Process::pid() const {
  return state_->pid;
}

std::optional<int> Process::exitcode() {
  ProcessState& s = *state_;
  check_open(s);
  if (s.role != Role::child || !s.started) return std::nullopt;
  return s.poll(false);
}

int Process::sentinel() const {
  check_open(*state_);
  if (!state_->started) throw ValueError("process not started");
  return state_->pidfd.get();
}

std::vector<int> Process::identity() const {
  return state_->identity;
}

Process current_process() {
  return Process(detail::registry().current);
}

std::optional<Process> parent_process() {
  auto& parent = detail::registry().parent;
  if (!parent) return std::nullopt;
  return Process(parent);
}

std::vector<Process> active_children() {
  auto& r = detail::registry();
  std::vector<std::shared_ptr<ProcessState>> children;
  {
    std::lock_guard lock(r.mutex);
    children = r.children;
  }
  std::vector<Process> alive;
  for (auto& c : children) {
    if (!c->poll(false)) alive.emplace_back(c);
  }
  return alive;
}

int cpu_count() {
  return sys::online_cpus();
}

}  // namespace mp
