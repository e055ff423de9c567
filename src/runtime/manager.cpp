// runtime/manager.cpp — the manager's server process and the calls that reach it.
//
//   proxy call: [object id | operation | arguments] ──Unix socket (HMAC-authenticated)──→ server
//   server: operation(object, arguments) → outcome (runtime/outcome.hpp) ──→ caller
//
// The server is one thread serving every connection in turn (connection::wait), so the objects
// need no locks and each call is atomic, as in Python's manager. Object id 0 is the manager
// itself: operation 0 shuts it down, any other operation makes a new object.
#include "mp/detail/code_ref.hpp"
#include "mp/detail/manager_core.hpp"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "mp/connection.hpp"
#include "mp/context.hpp"
#include "mp/errors.hpp"
#include "mp/process.hpp"
#include "runtime/exception_info.hpp"
#include "runtime/outcome.hpp"
#include "sys/memory.hpp"

namespace mp::detail {

namespace {

struct RequestHeader {
  std::uint64_t id;
  CodeRef op;  // resolved in the server; the server is the same program (see manager_core.hpp)
};

template <class H>
void append(std::vector<std::byte>& out, const H& h) {
  const auto* p = reinterpret_cast<const std::byte*>(&h);
  out.insert(out.end(), p, p + sizeof h);
}

// --- the server -------------------------------------------------------------------------------

class Server {
 public:
  // Serves until asked to shut down.
  void run(Listener& listener) {
    for (;;) {
      std::vector<connection::Waitable> watched{listener.fileno()};
      for (auto& c : clients_) watched.emplace_back(&c);
      std::vector<Connection> joined;
      for (const auto& ready : connection::wait(watched)) {
        if (ready.connection() == nullptr) {
          try {
            joined.push_back(listener.accept(std::chrono::seconds(5)));
          } catch (const std::exception&) {
            // A client that failed its handshake: the listener dropped it.
          }
          continue;
        }
        if (!serve(*ready.connection())) return;
      }
      std::erase_if(clients_, [](const Connection& c) { return c.closed(); });
      for (auto& c : joined) clients_.push_back(std::move(c));
    }
  }

 private:
  // One request; false when it was the request to shut down.
  bool serve(Connection& client) {
    std::vector<std::byte> request;
    try {
      request = client.recv_bytes();
    } catch (const std::exception&) {  // EOF: the client's process is done with us
      client.close();
      return true;
    }
    RequestHeader h{};
    std::vector<std::byte> result;
    runtime::ExceptionInfo error;
    bool ok = true;
    bool stop = false;
    try {
      if (request.size() < sizeof h) throw ProtocolError("malformed manager request");
      std::memcpy(&h, request.data(), sizeof h);
      std::span<const std::byte> args(request.data() + sizeof h, request.size() - sizeof h);
      if (h.id == 0 && h.op == CodeRef{}) {
        stop = true;
      } else if (h.id == 0) {
        auto object = resolve_function<std::remove_pointer_t<ServerMake>>(h.op)(args);
        const std::uint64_t id = ++next_id_;
        objects_.emplace(id, std::move(object));
        append(result, id);
      } else {
        auto it = objects_.find(h.id);
        if (it == objects_.end()) throw ValueError("the manager has no such object");
        resolve_function<std::remove_pointer_t<ServerOp>>(h.op)(it->second.get(), args, result);
      }
    } catch (...) {
      ok = false;
      error = runtime::describe_current_exception();
    }
    std::vector<std::byte> response;
    runtime::append_outcome(response, ok ? nullptr : &error, result);
    try {
      client.send_bytes(response);
    } catch (const std::exception&) {
      client.close();
    }
    return !stop;
  }

  std::vector<Connection> clients_;
  std::unordered_map<std::uint64_t, std::shared_ptr<void>> objects_;
  std::uint64_t next_id_ = 0;
};

// --- the callers' connections -----------------------------------------------------------------

// Each process keeps, per server, the connections its calls are not using: a call borrows one
// (or opens a new one) and gives it back when its response has come. So calls from several
// threads run side by side, each on its own connection, and a connect or handshake that hangs
// (up to its 30 s) holds up only its own call: the lock below is never held across I/O.
//
// Fork: the child gets copies of the parent's sockets, idle or in the middle of a call on
// another thread; using one would mix its messages with the parent's. The lock is taken around
// fork (so the child inherits the lists in one piece, and no lock held), and the child closes
// its copies of all of them at once, then opens its own.
constexpr std::size_t kMaxIdle = 8;  // per server; more are closed when given back

struct Links {
  std::mutex mutex;
  int pid = 0;  // the process these connections are for
  std::map<std::string, std::vector<Connection>> idle;
  std::multiset<int> lent;  // the descriptors of connections in use by calls now

  // In a process other than `pid` (a fork child): drops what belongs to the parent. Locked.
  void adopt_locked(std::vector<Connection>& drop) {
    const int me = ::getpid();  // not a cache: this also runs in the child's fork handler
    if (pid == me) return;
    pid = me;
    for (auto& [address, conns] : idle) {
      for (auto& c : conns) drop.push_back(std::move(c));
    }
    idle.clear();
    for (int fd : lent) ::close(fd);  // the parent's threads' copies: no one here uses them
    lent.clear();
  }
};

void links_before_fork() noexcept;
void links_in_parent() noexcept;
void links_in_child() noexcept;

Links& links() {
  // Never destroyed: calls may still run on other threads while the program exits.
  static Links* const l = [] {
    auto* made = new Links;
    made->pid = ::getpid();
    ::pthread_atfork(links_before_fork, links_in_parent, links_in_child);
    return made;
  }();
  return *l;
}

void links_before_fork() noexcept {
  links().mutex.lock();
}
void links_in_parent() noexcept {
  links().mutex.unlock();
}
void links_in_child() noexcept {
  Links& l = links();
  std::vector<Connection> drop;
  try {
    l.adopt_locked(drop);
  } catch (...) {
    // Out of memory: the next call's adopt_locked finishes the job.
  }
  l.mutex.unlock();
}

// A connection borrowed for one call; given back by keep(), else closed.
class Lease {
 public:
  explicit Lease(const ObjectRef& ref) : address_(ref.address) {
    Links& l = links();
    std::vector<Connection> drop;
    {
      std::lock_guard lock(l.mutex);
      l.adopt_locked(drop);
      if (auto it = l.idle.find(address_); it != l.idle.end() && !it->second.empty()) {
        connection_ = std::move(it->second.back());
        it->second.pop_back();
        lend_locked(l);
        return;
      }
    }
    connection_ = Client(ref.address, ref.authkey);  // no lock held
    std::lock_guard lock(l.mutex);
    lend_locked(l);
  }
  ~Lease() {
    if (fd_ < 0) return;
    Links& l = links();
    std::lock_guard lock(l.mutex);
    unlend_locked(l);
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  Connection& connection() { return connection_; }

  // Gives the connection back for later calls (after a complete round trip only: a call that
  // failed half way leaves the connection in an unknown state, and it is closed).
  void keep() {
    Links& l = links();
    Connection spare;
    {
      std::lock_guard lock(l.mutex);
      if (fd_ < 0) return;
      const bool ours = unlend_locked(l);
      auto& list = l.idle[address_];
      if (!ours || list.size() >= kMaxIdle) {
        spare = std::move(connection_);  // closed below, outside the lock
      } else {
        list.push_back(std::move(connection_));
      }
    }
  }

 private:
  void lend_locked(Links& l) {
    fd_ = connection_.fileno();
    pid_ = l.pid;
    l.lent.insert(fd_);
  }
  // False when a fork came between lend and now and this is the child: then the child
  // closed the descriptor (it looked like one of the parent's), and the connection is dead.
  bool unlend_locked(Links& l) {
    const int fd = std::exchange(fd_, -1);
    if (pid_ != ::getpid()) return false;
    if (auto it = l.lent.find(fd); it != l.lent.end()) l.lent.erase(it);
    return true;
  }

  std::string address_;
  Connection connection_;
  int fd_ = -1;
  int pid_ = 0;
};

void forget_links(const std::string& address) {
  Links& l = links();
  std::vector<Connection> drop;
  std::lock_guard lock(l.mutex);
  l.adopt_locked(drop);
  if (auto it = l.idle.find(address); it != l.idle.end()) {
    drop = std::move(it->second);
    l.idle.erase(it);
  }
}

std::vector<std::byte> round_trip(const ObjectRef& ref, std::uint64_t id, const CodeRef& op,
                                  std::span<const std::byte> args) {
  std::vector<std::byte> request;
  append(request, RequestHeader{id, op});
  request.insert(request.end(), args.begin(), args.end());
  std::vector<std::byte> response;
  {
    Lease lease(ref);
    lease.connection().send_bytes(request);
    response = lease.connection().recv_bytes();
    lease.keep();
  }
  runtime::Outcome outcome = runtime::read_outcome(response);
  if (outcome.error) std::rethrow_exception(outcome.error);
  return {outcome.result.begin(), outcome.result.end()};
}

}  // namespace

std::vector<std::byte> call_object(const ObjectRef& ref, ServerOp op,
                                   std::span<const std::byte> args) {
  // Id 0 is the manager itself, whose requests make objects: a proxy never names it.
  if (ref.id == 0) throw ValueError("mp: this proxy is not bound to a manager object");
  return round_trip(ref, ref.id, code_ref_of(op), args);
}

struct ManagerCore::State {
  std::string directory;  // private to this user: holds the socket
  ObjectRef self;         // id 0: the manager
  std::unique_ptr<Listener> listener;
  std::optional<Process> server;
  bool stopped = false;
};

ManagerCore::ManagerCore() : state_(std::make_unique<State>()) {
  State& s = *state_;
  char dir[] = "/tmp/mp-manager-XXXXXX";
  if (::mkdtemp(dir) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  s.directory = dir;
  s.self = {s.directory + "/socket", sys::random_hex(32), 0};
  if (s.self.authkey.empty()) {
    ::rmdir(s.directory.c_str());
    throw Error("no random bytes for a manager's key");
  }
  try {
    // Bound before the server starts, so that calls may be made as soon as this returns.
    s.listener = std::make_unique<Listener>(s.self.address, s.self.authkey);
    Listener* listener = s.listener.get();
    s.server.emplace([listener] { Server().run(*listener); });
    // The server runs operations named by code identity from this program's copy: forked,
    // whatever the default method (a served manager that runs no client code is issue 11's).
    get_context(StartMethod::fork).bind(*s.server);
    s.server->set_name("SyncManager");
    s.server->set_daemon(true);
    s.server->start();
  } catch (...) {
    s.listener.reset();
    ::rmdir(s.directory.c_str());
    throw;
  }
}

ManagerCore::~ManagerCore() {
  try {
    shutdown();
  } catch (...) {
  }
}

const std::string& ManagerCore::address() const noexcept {
  return state_->self.address;
}

ObjectRef ManagerCore::make(ServerMake maker, std::span<const std::byte> args) {
  if (state_->stopped) throw ProcessError("the manager has been shut down");
  auto bytes = round_trip(state_->self, 0, code_ref_of(maker), args);
  ObjectRef ref = state_->self;
  if (bytes.size() != sizeof ref.id) throw ProtocolError("malformed manager response");
  std::memcpy(&ref.id, bytes.data(), sizeof ref.id);
  return ref;
}

void ManagerCore::shutdown() {
  State& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  try {
    round_trip(s.self, 0, CodeRef{}, {});
  } catch (const std::exception&) {
    // The server is gone already; it is joined below either way.
  }
  forget_links(s.self.address);
  if (s.server && !s.server->join(std::chrono::seconds(5))) {
    s.server->kill();
    s.server->join();
  }
  s.listener.reset();  // removes the socket file
  ::rmdir(s.directory.c_str());
}

}  // namespace mp::detail
