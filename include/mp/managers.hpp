// mp/managers.hpp — objects kept by a server process and used through proxies from any
// process, as Python's multiprocessing.Manager; also shared between separately built programs.
//
//   mp::Manager manager;
//   auto d = manager.dict<std::string, int>();
//   mp::Process p([d]() mutable { d["hits"] += 1; });   // proxies are handles; += is atomic
//   p.start(); p.join();
//   std::cout << d << "\n";                              // {'hits': 1}
//
//   // objects shared between programs: a served manager and named objects
//   mp::Manager served(mp::ManagerOptions{.address = "/run/app.sock", .authkey = key});
//   auto jobs = served.queue<std::string>("jobs");               // get-or-create by name
//   auto remote = mp::Manager::connect("/run/app.sock", key);    // from another program
//   auto same = remote.queue<std::string>("jobs");               // TypeError if not a Queue of
//                                                                // std::string there
//
// The server (src/services/manager) runs a fixed set of operations on values it keeps as
// encoded bytes: it runs no code of the client's, so any program built with mp (and the same
// compiler, whose type names tag the values) can use it. It serves every connection on a thread
// of its own, so a blocking call (a queue's get, a lock's acquire) blocks only its caller.
// Every call has a timeout (ManagerOptions::timeout, beyond a blocking call's own timeout); a
// server that dies fails the calls in progress with EOFError at once.
//
// Lifetimes: an object is freed once no process holds a proxy to it (each process's holds are
// dropped when it exits or dies), after ManagerOptions::release_delay, which lets a proxy in
// flight (in a Queue, or given to a child) arrive first. Named objects live until the server
// stops. The started server is a daemonic child of the Manager's process, started with the
// default start method; shutdown() or the destructor stops it.
//
// Differences from Python: see mp/proxies.hpp, and docs/parity.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mp/codec.hpp"
#include "mp/detail/manager_client.hpp"
#include "mp/process.hpp"
#include "mp/proxies.hpp"

namespace mp {

struct ManagerOptions {
  // "" : a private Unix socket; else a filesystem path (Unix socket) or "host:port" (TCP;
  // port 0 picks a free one, see Manager::address()).
  std::string address;
  // The shared secret clients prove they know; "" : this process's authkey
  // (current_process().authkey(), as Python's managers), which its children inherit.
  std::string authkey;
  // The longest a call waits for its reply, beyond a blocking call's own timeout.
  std::chrono::milliseconds timeout{30'000};
  // How long an unnamed object outlives the last proxy to it.
  std::chrono::milliseconds release_delay{5'000};
};

class Manager {
 public:
  Manager() : Manager(ManagerOptions{}) {}  // starts the server process
  explicit Manager(const ManagerOptions& options)
      : core_(std::make_unique<detail::manager::ManagerCore>(detail::manager::ServerSettings{
            options.address, options.authkey, options.timeout, options.release_delay})) {}
  // A manager served by another process (another program's Manager, or mp-manager). Throws
  // AuthenticationError for a wrong key, std::system_error when nothing listens there.
  static Manager connect(const std::string& address, const std::string& authkey,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return Manager(detail::manager::ManagerCore::connect(address, authkey, timeout));
  }
  // With this process's authkey (current_process().authkey(), Python's default): what a child
  // of the process that made the manager uses.
  static Manager connect(const std::string& address) {
    return connect(address, current_process().authkey());
  }
  Manager(Manager&&) noexcept = default;
  Manager& operator=(Manager&&) noexcept = default;
  ~Manager() = default;  // shutdown() when this process started the server

  // Each maker takes an optional name first: a named object is found by that name if the
  // server has it (TypeError when it is of another kind or type), else made and named.
  template <class K, class V>
  DictProxy<K, V> dict(const std::string& name = {}) {
    static_assert(detail::require_encodable<K>() && detail::require_encodable<V>(),
                  "mp: Manager::dict needs encodable K and V");
    return DictProxy<K, V>(make(Kind::dict, name, {desc<K>(), desc<V>()}));
  }
  template <class T>
  ListProxy<T> list(const std::string& name = {}) {
    static_assert(detail::require_encodable<T>(), "mp: Manager::list needs an encodable T");
    return ListProxy<T>(make(Kind::list, name, {desc<T>()}));
  }
  NamespaceProxy namespace_(const std::string& name = {}) {
    return NamespaceProxy(make(Kind::namespace_, name, {}));
  }
  template <class T>
  QueueProxy<T> queue(std::size_t maxsize = 0) {
    return queue<T>(std::string(), maxsize);
  }
  template <class T>
  QueueProxy<T> queue(const std::string& name, std::size_t maxsize = 0) {
    static_assert(detail::require_encodable<T>(), "mp: Manager::queue needs an encodable T");
    return QueueProxy<T>(make(Kind::queue, name, {desc<T>()}, {}, maxsize));
  }
  template <class T>
  QueueProxy<T> joinable_queue(std::size_t maxsize = 0) {
    return joinable_queue<T>(std::string(), maxsize);
  }
  template <class T>
  QueueProxy<T> joinable_queue(const std::string& name, std::size_t maxsize = 0) {
    static_assert(detail::require_encodable<T>(), "mp: Manager::queue needs an encodable T");
    return QueueProxy<T>(make(Kind::joinable_queue, name, {desc<T>()}, {}, maxsize));
  }
  LockProxy lock(const std::string& name = {}) { return LockProxy(make(Kind::lock, name, {})); }
  LockProxy rlock(const std::string& name = {}) { return LockProxy(make(Kind::rlock, name, {})); }
  SemaphoreProxy semaphore(int value = 1) { return semaphore(std::string(), value); }
  SemaphoreProxy semaphore(const std::string& name, int value) {
    return SemaphoreProxy(make(Kind::semaphore, name, {}, {}, value));
  }
  SemaphoreProxy bounded_semaphore(int value = 1) {
    return bounded_semaphore(std::string(), value);
  }
  SemaphoreProxy bounded_semaphore(const std::string& name, int value) {
    return SemaphoreProxy(make(Kind::bounded_semaphore, name, {}, {}, value));
  }
  ConditionProxy condition(const std::string& name = {}) {
    return ConditionProxy(make(Kind::condition, name, {}));
  }
  EventProxy event(const std::string& name = {}) { return EventProxy(make(Kind::event, name, {})); }
  BarrierProxy barrier(int parties) { return barrier(std::string(), parties); }
  BarrierProxy barrier(const std::string& name, int parties) {
    return BarrierProxy(make(Kind::barrier, name, {}, {}, parties));
  }
  template <class T>
  ValueProxy<T> value(const T& initial) {
    return value<T>(std::string(), initial);
  }
  template <class T>
  ValueProxy<T> value(const std::string& name, const T& initial) {
    static_assert(detail::require_encodable<T>(), "mp: Manager::value needs an encodable T");
    return ValueProxy<T>(make(Kind::value, name, {desc<T>()}, {encode(initial)}));
  }
  // n elements, each T{}.
  template <class T>
  ArrayProxy<T> array(std::size_t n) {
    return array<T>(std::string(), n);
  }
  template <class T>
  ArrayProxy<T> array(const std::string& name, std::size_t n) {
    static_assert(detail::require_encodable<T>(), "mp: Manager::array needs an encodable T");
    return ArrayProxy<T>(
        make(Kind::array, name, {desc<T>()}, {encode(T{})}, static_cast<std::int64_t>(n)));
  }

  // Stops the server this process started (proxies fail afterwards); for a connected
  // manager, only stops using it.
  void shutdown() { core_->shutdown(); }
  const std::string& address() const noexcept { return core_->address(); }
  const std::string& authkey() const noexcept { return core_->authkey(); }
  // How many objects the server keeps (named ones included).
  std::size_t object_count() { return core_->object_count(); }

  // Serves named objects in this process until a client asks the server to shut down: what
  // the mp-manager program runs (Python's get_server().serve_forever()).
  static void serve_forever(const ManagerOptions& options) {
    detail::manager::ManagerCore::serve_forever(options.address, options.authkey,
                                                options.release_delay);
  }

 private:
  using Kind = detail::manager::Kind;
  explicit Manager(std::unique_ptr<detail::manager::ManagerCore> core) : core_(std::move(core)) {}
  template <class T>
  static detail::manager::TypeDesc desc() {
    return detail::manager::type_desc<T>();
  }
  std::shared_ptr<const detail::manager::Holder> make(
      Kind kind, const std::string& name, std::vector<detail::manager::TypeDesc> types,
      std::vector<detail::manager::Bytes> values = {}, std::int64_t count = 0) {
    return core_->create(kind, name, std::move(types), std::move(values), count);
  }

  std::unique_ptr<detail::manager::ManagerCore> core_;
};

}  // namespace mp
