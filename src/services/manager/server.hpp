// services/manager/server.hpp — a manager's objects and the operations on them, without sockets
// (serve.cpp puts them on a Listener; the request fuzzer calls them directly).
//
// One lock guards every object, so each operation is atomic, as in Python's manager. A blocking
// operation (a queue's get, a lock's acquire, a wait) waits on its object's condition variable,
// releasing that lock: it holds up its own caller only, while other threads serve other calls.
//
// Lifetimes: each client process holds references to objects (a proxy made or received counts
// once per process, see client.cpp). An unnamed object with no references left is freed after a
// grace period, which covers a proxy in flight (in a Queue, or given to a child that has not
// announced it yet). A client whose anchor connection closes is gone: its references are dropped,
// the locks it held are released and marked owner-died, and its blocked calls end.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "mp/detail/manager_protocol.hpp"
#include "services/manager/objects.hpp"

namespace mp::detail::manager {

struct ServerOptions {
  // How long an unnamed object outlives its last reference (a proxy in flight).
  std::chrono::nanoseconds grace = std::chrono::seconds(5);
  // The longest any operation waits (the fuzzer sets 0: nothing blocks).
  std::chrono::nanoseconds max_wait = std::chrono::nanoseconds::max();
};

class Server {
 public:
  explicit Server(ServerOptions options = {});

  // Runs one request; throws what the caller is to receive (ValueError, KeyError-like
  // std::out_of_range, TypeError, Empty, ...). A get whose reply could not be delivered is
  // given back with undo_get.
  Reply handle(const Request& request);
  // Decodes a request (ProtocolError when malformed) and runs it.
  Reply handle(std::span<const std::byte> request);
  void undo_get(const Request& request, Bytes item);

  void client_gone(std::uint64_t client);
  bool stopping() const;
  std::size_t object_count();

 private:
  using Lock = std::unique_lock<std::mutex>;
  struct Client {
    std::map<std::uint64_t, std::int64_t> holds;  // object → references
  };

  std::shared_ptr<Object> find(std::uint64_t id, Lock& lock);
  Reply create(const Request& r, Lock& lock);
  void incref(std::uint64_t client, std::uint64_t id);
  void decref(std::uint64_t client, std::uint64_t id);
  void free_expired();
  // Waits on `o` until `ready()` holds: false on timeout. Throws EOFError when the caller's
  // process has gone or the server stops meanwhile.
  template <class Ready>
  bool wait(Object& o, Lock& lock, const Request& r, Ready ready);
  bool gone(std::uint64_t client) const;

  Reply on_dict(Object& o, const Request& r);
  Reply on_list(Object& o, const Request& r);
  Reply on_namespace(Object& o, const Request& r);
  Reply on_queue(Object& o, const Request& r, Lock& lock);
  Reply on_lock(Object& o, const Request& r, Lock& lock);
  Reply on_semaphore(Object& o, const Request& r, Lock& lock);
  Reply on_condition(Object& o, const Request& r, Lock& lock);
  Reply on_event(Object& o, const Request& r, Lock& lock);
  Reply on_barrier(Object& o, const Request& r, Lock& lock);
  Reply on_value(Object& o, const Request& r);

  ServerOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Object>> objects_;
  std::map<std::string, std::uint64_t> names_;
  std::unordered_map<std::uint64_t, Client> clients_;
  std::vector<std::uint64_t> gone_;  // clients that left (recent ones; see client_gone)
  std::multimap<std::chrono::steady_clock::time_point, std::uint64_t> expiring_;
  std::uint64_t next_id_ = 0;
  bool stopping_ = false;
};

}  // namespace mp::detail::manager
