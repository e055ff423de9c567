// mp/process.hpp — processes, as Python's multiprocessing.Process.
//
//   void greet(std::string name) { std::cout << "Hello, " << name << std::endl; }
//
//   int main() {
//     mp::Process p(greet, std::string("Alice"));   // like std::thread: args are copied
//     p.start();
//     p.join();
//     return *p.exitcode();                          // 0
//   }
//
// A Process is a handle: copies refer to the same child, as Python names do. The child runs the
// target and ends with _exit after flushing its own stdio, so the parent's atexit handlers and
// static destructors never run twice; output the parent buffered before start() is flushed
// first and never printed twice.
//
// Exit codes follow Python: 0 on return; n after std::exit(n) in the target; 1 after an uncaught
// exception (printed to stderr as "Process <name>:" and "<type>: <what()>"); -N after signal N.
//
// At normal exit of a process, its daemonic children are terminated and the others joined. A
// daemonic child also dies (SIGKILL) when its parent dies abruptly. Joined children leave no
// zombie; children nobody joins are reaped by active_children() and at exit.
//
// Differences from Python:
// - Dropping every handle of a running child does not lose it: it is still reaped and joined.
// - The death signal of a daemonic child follows the thread that started it (Linux
//   PR_SET_PDEATHSIG): start daemons from a thread that lives as long as the process.
#pragma once

#include <chrono>
#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "mp/detail/fd_transfer.hpp"
#include "mp/detail/task.hpp"
#include "mp/detail/type_name.hpp"
#include "mp/errors.hpp"

namespace mp {

using pid_t = int;  // the same type as the POSIX pid_t on Linux

// How a child process is started (Python's start methods).
enum class StartMethod {
  fork,        // copy this process; any callable works (the default)
  forkserver,  // a clean server process, started once, forks each child
  spawn,       // re-execute this program; main() must begin with mp::freeze_support()
};

const char* to_string(StartMethod method) noexcept;

namespace detail {
struct ProcessState;
struct ProcessAccess;

// A target as a program that is not a copy of this one receives it (spawn, forkserver): the
// code that runs it, and the callable and arguments encoded (handles among them pass their
// descriptors through the FdOutbox active while this runs).
using TargetEncoder = std::function<void(CodeRef& entry, std::vector<std::byte>& body)>;

// Runs in the child. The descriptors that came with the target are closed once decoded: the
// handles keep duplicates, and a pipe end the child was not given must not stay open here.
template <class F, class... Args>
void run_encoded_target(std::span<const std::byte> body, ReceivedFds& fds) {
  using Wire = typename CallableWire<F>::type;
  using Decoded = std::tuple<Wire, std::tuple<Args...>>;
  Decoded decoded = [&] {
    FdInbox in(fds.fds());
    return decode_payload<Decoded>(body);
  }();
  fds.clear();
  F f = CallableWire<F>::from(std::move(std::get<0>(decoded)));
  std::apply(f, std::get<1>(decoded));
}

template <class F, class... Args>
TargetEncoder target_encoder(std::shared_ptr<std::tuple<F, std::tuple<Args...>>> box) {
  if constexpr (!PoolCallable<F>) {
    return [](CodeRef&, std::vector<std::byte>&) {
      throw ProcessError(
          "mp: under the spawn and forkserver start methods a Process target must "
          "be a function pointer, a captureless lambda or an encodable function "
          "object; this one (" +
          type_name<F>() +
          ") cannot be sent to a new program: a lambda that captures works only "
          "under fork. Pass what it captures as arguments instead");
    };
  } else if constexpr (!(Encodable<Args> && ...)) {
    return [](CodeRef&, std::vector<std::byte>&) {
      std::string bad;
      ((Encodable<Args> ? void() : void(bad += (bad.empty() ? "" : ", ") + type_name<Args>())),
       ...);
      throw ProcessError(
          "mp: under the spawn and forkserver start methods Process arguments "
          "must be encodable values or mp handles; these are not: " +
          bad);
    };
  } else {
    return [box = std::move(box)](CodeRef& entry, std::vector<std::byte>& body) {
      using Wire = typename CallableWire<F>::type;
      entry = code_ref_of(&run_encoded_target<F, Args...>);
      encode_payload_into(std::tuple<Wire, std::tuple<Args...>>(
                              CallableWire<F>::to(std::get<0>(*box)), std::get<1>(*box)),
                          body);
    };
  }
}

}  // namespace detail

class Process {
 public:
  // Runs f(args...) in the child; args are decay-copied, as by std::thread. Under fork any
  // callable works; under spawn and forkserver f must be a function pointer, a captureless lambda
  // or an encodable function object, and the arguments encodable or handles (else start()
  // throws ProcessError saying which).
  template <class F, class... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  explicit Process(F&& f, Args&&... args)
      : Process(make_box<std::decay_t<F>, std::decay_t<Args>...>(std::forward<F>(f),
                                                                 std::forward<Args>(args)...)) {}

  // Before start(): Python's name and daemon attributes. Default name: Process-N.
  void set_name(std::string name);
  const std::string& name() const;
  void set_daemon(bool daemon);
  bool daemon() const;
  StartMethod start_method() const;

  // Starts the child. Throws ProcessError when started twice, when closed, or when called in a
  // daemonic process (daemons may not have children, as in Python).
  void start();

  // Waits for the child to end. The timed form returns true once the child has exited.
  // Throws ProcessError before start() or when called on the current process.
  void join();
  template <class Rep, class Period>
  bool join(std::chrono::duration<Rep, Period> timeout) {
    return join_for(std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

  bool is_alive();   // reaps the child if it has ended
  void terminate();  // SIGTERM; harmless once the child has ended
  void kill();       // SIGKILL; likewise
  void close();      // frees the handle's resources; ValueError while the child runs

  // Python's authkey: the main process's is 32 random bytes; a Process takes its creator's, and
  // the child has it as current_process().authkey(). A Manager made without a key uses the
  // current process's, so children connect to it by address alone. ValueError when empty.
  std::string authkey() const;
  void set_authkey(std::string key);

  pid_t pid() const;                     // 0 before start()
  pid_t ident() const { return pid(); }  // Python's ident: the same as pid
  std::optional<int> exitcode();         // nullopt while running; reaps the child if it ended
  int sentinel() const;  // fd readable once the child ends (a pidfd); ValueError before start
  std::vector<int> identity() const;  // Python's _identity: (1,), (2,), (1, 3) for a grandchild

  friend bool operator==(const Process& a, const Process& b) noexcept {
    return a.state_ == b.state_;
  }

  explicit Process(std::shared_ptr<detail::ProcessState> state) noexcept;
  // A target for fork alone (mp's own workers use it with a closure).
  explicit Process(std::function<void()> target);
  Process(std::function<void()> target, detail::TargetEncoder encoder);

 private:
  template <class F, class... Args, class G, class... As>
  static Process make_box(G&& f, As&&... args) {
    auto box = std::make_shared<std::tuple<F, std::tuple<Args...>>>(
        std::forward<G>(f), std::tuple<Args...>(std::forward<As>(args)...));
    auto encoder = detail::target_encoder<F, Args...>(box);
    return Process([box = std::move(box)] { std::apply(std::get<0>(*box), std::get<1>(*box)); },
                   std::move(encoder));
  }

  bool join_for(std::chrono::nanoseconds timeout);
  std::shared_ptr<detail::ProcessState> state_;
  friend class Context;
  friend struct detail::ProcessAccess;
};

// The process running this code ("MainProcess" in the original process).
Process current_process();
// The process that started this one; nullopt in the main process.
std::optional<Process> parent_process();
// The children started by this process that are still running; reaps those that ended.
std::vector<Process> active_children();
// The number of online CPUs.
int cpu_count();

}  // namespace mp
