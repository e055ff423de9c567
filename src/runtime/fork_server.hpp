// runtime/fork_server.hpp — a single-threaded process that forks children on request (the
// server side is runtime/forkserver.cpp; the protocol is in docs/design/start_methods.md).
//
// Two kinds exist:
// - the forkserver start method's server: the program run again, started on first use, one per
//   process (ForkServer::for_start_method());
// - a fork pool's zygote: a fork of the program taken when the pool is made, before the pool's
//   thread exists, from which the pool's thread forks replacement workers. Forking from the
//   zygote instead of from the pool's process copies no lock that another thread holds.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "mp/process.hpp"
#include "sys/fd.hpp"

namespace mp::detail {

struct ProcessState;

class ForkServer {
 public:
  // The forkserver start method's server of this process (started by launch() when needed).
  static ForkServer& for_start_method();

  // Forks a zygote now, from the calling thread; it serves until stop() or until this process
  // ends. Throws std::system_error.
  static std::shared_ptr<ForkServer> fork_zygote(const std::string& name);

  ForkServer() = default;
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;
  ~ForkServer();

  // Starts `state`'s process through the server; the child reads its BootSpec as under spawn.
  void launch(const std::shared_ptr<ProcessState>& state);

  // Stops the server; children it started go on (their exit codes are then unknown).
  void stop() noexcept;

  // Whether launch() can work: always for the start method's server (it restarts); for a
  // zygote, while it runs.
  bool usable();

 private:
  void ensure_started();   // the start method's server only; holds mutex_
  void forget() noexcept;  // in a fork child: the parent's server is not ours

  std::mutex mutex_;
  bool spawned_ = false;           // started by running the program again (restartable)
  int owner_pid_ = 0;              // the process whose server this is
  sys::UniqueFd control_;          // SOCK_SEQPACKET; EOF tells the server to exit
  std::optional<Process> zygote_;  // a forked server, as a child Process of ours
  int pid_ = 0;                    // a spawned server's pid
  sys::UniqueFd pidfd_;

  friend void forget_servers_in_fork_child();
};

}  // namespace mp::detail
