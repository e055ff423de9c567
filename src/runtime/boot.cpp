// runtime/boot.cpp — the child side of spawn and forkserver, up to the target.
//
// The pre-main hook only reads the environment: user code has not run, and nothing may be
// started before main's global constructors. The work happens in mp::freeze_support(), the
// first line of main. Two checks turn a missing line into an error instead of a second run of
// main: a program that never calls freeze_support (its object file is absent from the link) is
// stopped before main; one that calls it late is stopped when it starts mp work, or at exit.
#include "runtime/boot.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "mp/codec.hpp"
#include "mp/detail/fd_transfer.hpp"
#include "runtime/framing.hpp"
#include "runtime/process_state.hpp"
#include "sys/child.hpp"
#include "sys/socket.hpp"
#include "sys/thread_id.hpp"

extern "C" {
// Defined next to mp::freeze_support(): present in the link only when the program calls it.
extern const char mp_freeze_support_linked __attribute__((weak));
}

namespace mp::detail {

namespace {

BootEnv g_boot;
bool g_boot_pending = false;

[[noreturn]] void missing_freeze_support(const char* when) noexcept {
  std::fprintf(stderr,
               "mp: this process was started by the %s start method to run a Process target, "
               "but %s. Make `mp::freeze_support();` the first statement of main() (see "
               "mp/context.hpp)\n",
               g_boot.role == BootRole::forkserver ? "forkserver" : "spawn", when);
  std::fflush(stderr);
  sys::exit_now(1);
}

__attribute__((constructor)) void read_boot_environment() {
  const char* v = std::getenv(kBootVariable);
  if (v == nullptr) return;
  BootEnv env;
  if (std::strncmp(v, "spawn:", 6) == 0) {
    env.role = BootRole::spawn_child;
    env.fd = std::atoi(v + 6);
  } else if (std::strncmp(v, "forkserver:", 11) == 0) {
    env.role = BootRole::forkserver;
    env.fd = std::atoi(v + 11);
  }
  ::unsetenv(kBootVariable);  // the program's own children must not see it
  if (env.role == BootRole::none || env.fd < 0) return;
  g_boot = env;
  g_boot_pending = true;
  if (&mp_freeze_support_linked == nullptr)
    missing_freeze_support("main() never calls mp::freeze_support()");
  std::atexit([] {
    if (g_boot_pending)
      missing_freeze_support("main() returned without calling mp::freeze_support()");
  });
}

}  // namespace

BootEnv boot_env() noexcept {
  return g_boot_pending ? g_boot : BootEnv{};
}

void boot_done() noexcept {
  g_boot_pending = false;
}

void check_not_booting() noexcept {
  if (g_boot_pending)
    missing_freeze_support("main() started processes before calling mp::freeze_support()");
}

void send_boot(int sock, const BootSpec& spec, std::span<const int> fds) {
  runtime::write_frame(sock, mp::encode(spec), fds);
}

BootSpec make_boot_spec(const ProcessState& state, std::vector<int>& fds) {
  if (!state.encoder) {
    throw ProcessError("mp: this process can only be started by fork (its target is a closure)");
  }
  BootSpec spec;
  spec.name = state.name;
  spec.daemon = state.daemon;
  spec.method = static_cast<std::uint8_t>(state.method);
  spec.identity = state.identity;
  Registry& r = registry();
  spec.parent_pid = sys::this_pid();
  spec.parent_name = r.current->name;
  spec.log = runtime::log_settings();
  {
    std::lock_guard key_lock(state.mutex);
    spec.authkey = state.authkey;
  }
  FdOutbox out;  // the handles among the arguments name their descriptors here
  state.encoder(spec.entry, spec.body);
  if (out.fds().size() > sys::kMaxPassedFds) {
    throw ProcessError("mp: a Process may be given at most " + std::to_string(sys::kMaxPassedFds) +
                       " shared objects as arguments, not " + std::to_string(out.fds().size()));
  }
  fds = out.fds();
  return spec;
}

namespace {

// The target as the child runs it: decoded from the spec, then called.
void run_spec(const BootSpec& spec, ReceivedFds& fds) {
  using Entry = void(std::span<const std::byte>, ReceivedFds&);
  Entry* entry = resolve_function<Entry>(spec.entry);
  entry(spec.body, fds);
}

}  // namespace

void run_boot_child(int sock, int death_parent) noexcept {
  BootSpec spec;
  ReceivedFds fds;
  try {
    std::vector<std::byte> bytes;
    std::vector<sys::UniqueFd> received;
    const runtime::FrameStatus status =
        runtime::read_frame(sock, bytes, runtime::kUnlimited, sys::Deadline::never(), &received);
    for (auto& fd : received) fds.adopt(fd.release());
    // The parent is gone before telling us anything: nothing to run.
    if (status == runtime::FrameStatus::eof) sys::exit_now(1);
    if (status != runtime::FrameStatus::ok) throw ProtocolError("bad descriptors");
    spec = mp::decode<BootSpec>(bytes);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mp: a new process could not read what to run: %s\n", e.what());
    sys::exit_now(1);
  }
  ::close(sock);
  if (death_parent == 0) death_parent = spec.parent_pid;
  if (spec.daemon && !sys::die_with_parent(death_parent)) sys::exit_now(1);
  runtime::apply_log_settings(spec.log);
  note_boot_child(spec);
  auto self = registry().current;
  self->target = [&spec, &fds] { run_spec(spec, fds); };
  run_child(self);
}

}  // namespace mp::detail
