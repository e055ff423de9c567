// runtime/manager.cpp — the manager's server process and the calls that reach it.
//
//   proxy call: [object id | operation | arguments] ──Unix socket (HMAC-authenticated)──→ server
//   server: operation(object, arguments) → outcome (runtime/outcome.hpp) ──→ caller
//
// The server is one thread serving every connection in turn (connection::wait), so the objects
// need no locks and each call is atomic, as in Python's manager. Object id 0 is the manager
// itself: operation 0 shuts it down, any other operation makes a new object.
#include "mp/detail/manager_core.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "mp/connection.hpp"
#include "mp/errors.hpp"
#include "mp/process.hpp"
#include "runtime/exception_info.hpp"
#include "runtime/outcome.hpp"
#include "sys/memory.hpp"
#include "sys/thread_id.hpp"

namespace mp::detail {

namespace {

struct RequestHeader {
  std::uint64_t id;
  std::uint64_t op;
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
      if (h.id == 0 && h.op == 0) {
        stop = true;
      } else if (h.id == 0) {
        auto object = reinterpret_cast<ServerMake>(static_cast<std::uintptr_t>(h.op))(args);
        const std::uint64_t id = ++next_id_;
        objects_.emplace(id, std::move(object));
        append(result, id);
      } else {
        auto it = objects_.find(h.id);
        if (it == objects_.end()) throw ValueError("the manager has no such object");
        reinterpret_cast<ServerOp>(static_cast<std::uintptr_t>(h.op))(it->second.get(), args,
                                                                      result);
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

// One connection per server and process, shared by the process's threads one call at a time.
struct Link {
  std::mutex mutex;
  Connection connection;
};

std::mutex g_links_mutex;
int g_links_pid = 0;
std::map<std::string, std::shared_ptr<Link>> g_links;

std::shared_ptr<Link> link_to(const ObjectRef& ref) {
  std::lock_guard lock(g_links_mutex);
  if (g_links_pid != sys::this_pid()) {  // a forked child: its parent's connections are not its
    g_links.clear();
    g_links_pid = sys::this_pid();
  }
  auto& link = g_links[ref.address];
  if (!link) {
    auto fresh = std::make_shared<Link>();
    fresh->connection = Client(ref.address, ref.authkey);
    link = std::move(fresh);
  }
  return link;
}

void forget_link(const std::string& address) {
  std::lock_guard lock(g_links_mutex);
  if (g_links_pid == sys::this_pid()) g_links.erase(address);
}

std::vector<std::byte> round_trip(const ObjectRef& ref, std::uint64_t id, std::uint64_t op,
                                  std::span<const std::byte> args) {
  std::vector<std::byte> request;
  append(request, RequestHeader{id, op});
  request.insert(request.end(), args.begin(), args.end());
  std::vector<std::byte> response;
  {
    auto link = link_to(ref);
    std::lock_guard lock(link->mutex);
    link->connection.send_bytes(request);
    response = link->connection.recv_bytes();
  }
  runtime::Outcome outcome = runtime::read_outcome(response);
  if (outcome.error) std::rethrow_exception(outcome.error);
  return {outcome.result.begin(), outcome.result.end()};
}

}  // namespace

std::vector<std::byte> call_object(const ObjectRef& ref, ServerOp op,
                                   std::span<const std::byte> args) {
  return round_trip(ref, ref.id, reinterpret_cast<std::uintptr_t>(op), args);
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

ObjectRef ManagerCore::make(ServerMake make, std::span<const std::byte> args) {
  if (state_->stopped) throw ProcessError("the manager has been shut down");
  auto bytes = round_trip(state_->self, 0, reinterpret_cast<std::uintptr_t>(make), args);
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
    round_trip(s.self, 0, 0, {});
  } catch (const std::exception&) {
    // The server is gone already; it is joined below either way.
  }
  forget_link(s.self.address);
  if (s.server && !s.server->join(std::chrono::seconds(5))) {
    s.server->kill();
    s.server->join();
  }
  s.listener.reset();  // removes the socket file
  ::rmdir(s.directory.c_str());
}

}  // namespace mp::detail
