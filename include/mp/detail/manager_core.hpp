// mp/detail/manager_core.hpp — the untyped manager under mp::Manager: a server process that
// holds objects, and remote calls on them from any process that has a proxy.
//
// A call names an object and an *operation*: a function, instantiated for the object's type in
// the program, that decodes the arguments, acts on the object and encodes the result. The
// server is forked from the program, so the operation travels by address (as Pool tasks do).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace mp::detail {

// Runs in the server: acts on `object`, reading arguments from `in`, writing the result to `out`.
using ServerOp = void (*)(void* object, std::span<const std::byte> in, std::vector<std::byte>& out);
// Runs in the server: makes a new object from the arguments in `in`.
using ServerMake = std::shared_ptr<void> (*)(std::span<const std::byte> in);

// Where an object lives: its server and its id there. Copies (in any process) reach the same
// object. Each process opens its own connections to the server, as its calls need them (one per
// call in progress; kept for later calls), and a forked child never uses its parent's.
struct ObjectRef {
  std::string address;
  std::string authkey;
  std::uint64_t id = 0;

  // A proxy travels as its reference (as a Python proxy pickles to its token): a process
  // started by any method, or one that receives it over a Connection, reaches the same object.
  template <class Archive>
  void serialize(Archive& ar) {
    ar(address, authkey, id);
  }
};

// Runs `op` on the object in the server; returns the result's bytes. An exception thrown by the
// operation is rethrown here (rebuilt: the same standard type, else RemoteError).
std::vector<std::byte> call_object(const ObjectRef& ref, ServerOp op,
                                   std::span<const std::byte> args);

class ManagerCore {
 public:
  ManagerCore();   // starts the server process
  ~ManagerCore();  // shutdown()
  ManagerCore(const ManagerCore&) = delete;
  ManagerCore& operator=(const ManagerCore&) = delete;

  ObjectRef make(ServerMake maker, std::span<const std::byte> args);
  void shutdown();  // stops the server; its objects are gone
  const std::string& address() const noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mp::detail
