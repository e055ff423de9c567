// runtime/boot.hpp — how a child that is not a copy of its parent (spawn, forkserver) learns
// what to run: the parent sends a BootSpec over a socket, the child's mp::freeze_support()
// reads it, becomes that Process and runs the target.
//
//   parent: launch_spawn / launch_forkserver ── BootSpec (+ descriptors) ──→ socket
//   child:  pre-main hook finds MP_BOOT=<role>:<fd>; freeze_support() → run_boot_child(fd)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mp/detail/code_ref.hpp"
#include "mp/process.hpp"
#include "runtime/log.hpp"

namespace mp::detail {

struct BootSpec {
  std::string name;
  bool daemon = false;
  std::uint8_t method = 0;  // StartMethod
  std::vector<int> identity;
  int parent_pid = 0;
  std::string parent_name;
  CodeRef entry;  // void(std::span<const std::byte>, ReceivedFds&): run_encoded_target
  std::vector<std::byte> body;
  runtime::LogSettings log;  // the parent's logger settings (mp/logger.hpp)
  std::string authkey;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, daemon, method, identity, parent_pid, parent_name, entry, body, log, authkey);
  }
};

// The environment variable that tells a re-executed program its role, and the descriptor its
// instructions arrive on: "spawn:<fd>" or "forkserver:<fd>".
inline constexpr const char* kBootVariable = "MP_BOOT";

enum class BootRole { none, spawn_child, forkserver };
struct BootEnv {
  BootRole role = BootRole::none;
  int fd = -1;
};
// What the pre-main hook found (and removed from the environment).
BootEnv boot_env() noexcept;
// Marks the boot as handled (freeze_support ran).
void boot_done() noexcept;

// Parent: sends the spec and the descriptors its handles need. Throws std::system_error.
void send_boot(int sock, const BootSpec& spec, std::span<const int> fds);

// Child: reads the spec from `sock`, becomes that process and runs its target; never returns.
// A daemonic child dies with `death_parent`, the process that started it at the OS level (0:
// the Process's parent, as under spawn).
[[noreturn]] void run_boot_child(int sock, int death_parent) noexcept;

// The forkserver's loop (runtime/forkserver.cpp); never returns.
[[noreturn]] void serve_forkserver(int control) noexcept;

// In a re-executed program whose main() started mp work without calling mp::freeze_support()
// first: says so on stderr and exits 1, so that main() does not silently run twice.
void check_not_booting() noexcept;

// Records, in a boot child, who it is (registry: current and parent process).
void note_boot_child(const BootSpec& spec) noexcept;

}  // namespace mp::detail
