// mp/detail/manager_client.hpp — a process's side of a manager: where an object lives, the
// references this process holds, and the call that reaches the server (src/services/manager).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mp/detail/manager_protocol.hpp"

namespace mp::detail::manager {

// Where an object lives. Copies in any process reach the same object.
struct ObjectRef {
  std::string address;
  std::string authkey;
  std::uint64_t id = 0;                      // 0: the manager itself
  std::int64_t timeout_ns = 30'000'000'000;  // the longest a reply may take, beyond a wait's own

  template <class Archive>
  void serialize(Archive& ar) {
    ar(address, authkey, id, timeout_ns);
  }
};

// This process's hold on an object, shared by the copies of one proxy. The server frees an
// object once no process holds it (after a grace period for proxies in flight); a hold is
// announced to the server, and its end too, with this process's next call to that server.
class Holder {
 public:
  // `made_here`: the server counted this process's hold when it made (or named) the object.
  Holder(ObjectRef ref, bool made_here);
  ~Holder();
  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;
  const ObjectRef& ref() const noexcept { return ref_; }

 private:
  ObjectRef ref_;
};

// Runs `request` on the server of `ref` (on object ref.id): fills in who calls, waits for the
// reply (no longer than ref.timeout_ns beyond the request's own timeout, if it has one), and
// rethrows the server's exception. Throws TimeoutError when no reply comes in time, EOFError
// when the server closes the connection.
Reply call(const ObjectRef& ref, Request request);

struct ServerSettings {
  std::string address;  // "": a private Unix socket
  std::string authkey;  // "": random
  std::chrono::nanoseconds timeout{std::chrono::seconds(30)};
  std::chrono::nanoseconds grace{std::chrono::seconds(5)};
};

// A manager from a client's side: one it started (its server process), or one it connected to.
class ManagerCore {
 public:
  explicit ManagerCore(const ServerSettings& settings);  // starts a server process
  static std::unique_ptr<ManagerCore> connect(const std::string& address,
                                              const std::string& authkey,
                                              std::chrono::nanoseconds timeout);
  ~ManagerCore();  // shutdown() for a manager this process started
  ManagerCore(const ManagerCore&) = delete;
  ManagerCore& operator=(const ManagerCore&) = delete;

  // Makes an object (or, named, finds the one by that name: TypeError when its kind or types
  // differ). The reference is this process's hold.
  std::shared_ptr<const Holder> create(Kind kind, const std::string& name,
                                       std::vector<TypeDesc> types, std::vector<Bytes> values,
                                       std::int64_t count);
  void shutdown();
  std::size_t object_count();
  const std::string& address() const noexcept { return self_.address; }
  const std::string& authkey() const noexcept { return self_.authkey; }

  // Serves in this process until a client asks the server to shut down (mp-manager).
  static void serve_forever(const std::string& address, const std::string& authkey,
                            std::chrono::nanoseconds grace);

 private:
  ManagerCore() = default;
  ObjectRef self_;
  std::string directory_;  // a private socket's directory, removed at shutdown
  struct ServerProcess;
  std::unique_ptr<ServerProcess> server_;
  bool stopped_ = false;
};

}  // namespace mp::detail::manager
