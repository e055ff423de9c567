// services/manager/client.cpp — a process's calls to managers' servers.
//
//   proxy call → Request (+ the holds this process took or dropped since its last call)
//              ──Unix or TCP socket, HMAC-authenticated──→ server (serve.cpp) ──→ Reply
//
// Per server, a process keeps:
// - its anchor: a connection opened before its first call and never used for calls. The
//   server learns from its end that this process is gone (exit, crash, kill -9), and then
//   drops its holds and releases the locks it held (server.hpp).
// - idle connections: a call borrows one (or opens a new one) and gives it back when its reply
//   has come. So calls from several threads run side by side, each on its own connection, and
//   a connect or handshake that hangs (up to its 30 s) holds up only its own call: the lock
//   below is never held across I/O.
// - the holds this process has yet to announce (increfs) or to give up (decrefs): sent with its
//   next call, so that making, copying and dropping proxies costs no round trip of its own. What
//   is never given up ends with the anchor.
//
// Fork: the child gets copies of the parent's sockets, idle or in the middle of a call on
// another thread; using one would mix its messages with the parent's, and keeping the anchor
// would hide the parent's death. The lock is taken around fork (so the child inherits the
// lists in one piece, and no lock held), and the child closes its copies at once, takes a
// client id of its own and announces the holds it inherited with its first call.
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "mp/connection.hpp"
#include "mp/context.hpp"
#include "mp/detail/manager_client.hpp"
#include "mp/errors.hpp"
#include "mp/process.hpp"
#include "runtime/log.hpp"
#include "runtime/outcome.hpp"
#include "services/manager/link.hpp"
#include "services/manager/serve.hpp"
#include "sys/clock.hpp"
#include "sys/memory.hpp"
#include "sys/socket.hpp"
#include "sys/thread_id.hpp"

namespace mp::detail::manager {

namespace {

constexpr std::size_t kMaxIdle = 8;  // per server; more are closed when given back

// One server, as this process sees it.
struct Peer {
  std::mutex anchor_mutex;  // held while the anchor is opened (I/O: this server's calls only)
  Connection anchor;
  std::vector<Link> idle;  // call connections (anchor: a plain socket)
  std::vector<std::uint64_t> increfs, decrefs;
};

struct Hold {
  std::int64_t local = 0;   // Holders alive in this process
  std::int64_t server = 0;  // increfs the server has counted (or will, with the next call)
};

struct Links {
  std::mutex mutex;
  int pid = 0;  // the process these connections are for
  std::uint64_t client = 0;
  // Never destroyed: an inherited Peer may hold a locked anchor_mutex (see adopt_locked).
  std::map<std::string, Peer*> peers;
  std::map<std::pair<std::string, std::uint64_t>, Hold> holds;
  std::multiset<int> lent;  // the descriptors of connections in use by calls now

  Peer& peer_locked(const std::string& address) {
    Peer*& p = peers[address];
    if (p == nullptr) p = new Peer;
    return *p;
  }

  // In a process other than `pid` (a fork child): drops what belongs to the parent. Locked.
  // `me`: this process's id (the fork handler passes getpid(): it may run before the id cache
  // is reset).
  void adopt_locked(int me = sys::this_pid()) {
    if (pid == me) return;
    pid = me;
    client = 0;
    while (client == 0) {
      if (!sys::random_bytes(&client, sizeof client)) client = static_cast<std::uint64_t>(me);
    }
    for (auto& [address, p] : peers) {
      // The parent's sockets: closed, not shut down (that would end the parent's too).
      if (!p->anchor.closed()) ::close(p->anchor.fileno());
      for (auto& c : p->idle) ::close(c.fileno());
      // The Connection objects are left as they are (leaked): destroying them would close
      // the same numbers again.
    }
    std::map<std::string, Peer*> fresh;
    peers.swap(fresh);
    for (int fd : lent) ::close(fd);  // the parent's threads' copies: no one here uses them
    lent.clear();
    for (auto& [key, h] : holds) {
      h.server = 1;  // announced as this process's with its first call
      peer_locked(key.first).increfs.push_back(key.second);
    }
  }
};

void links_before_fork() noexcept;
void links_in_parent() noexcept;
void links_in_child() noexcept;

Links& links() {
  // Never destroyed: calls may still run on other threads while the program exits.
  static Links* const l = [] {
    auto* made = new Links;
    made->pid = -1;  // adopted at first use
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
  try {
    l.adopt_locked(::getpid());
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
    {
      std::lock_guard lock(l.mutex);
      l.adopt_locked();
      auto& idle = l.peer_locked(address_).idle;
      if (!idle.empty()) {
        connection_ = std::move(idle.back());
        idle.pop_back();
        lend_locked(l);
        return;
      }
    }
    connection_ = open_link(ref);  // no lock held
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

  static Connection open(const ObjectRef& ref) {
    try {
      return Client(ref.address, ref.authkey);
    } catch (const std::system_error& e) {
      throw std::system_error(e.code(), "the manager at " + ref.address + " cannot be reached");
    }
  }

  // A call connection: with a mailbox on a Unix socket (link.hpp).
  static Link open_link(const ObjectRef& ref) {
    Link link(open(ref));
    if (!sys::is_tcp_address(ref.address)) {
      link.offer_mailbox(std::chrono::nanoseconds(ref.timeout_ns));
    }
    return link;
  }

  Link& connection() { return connection_; }

  // Gives the connection back for later calls (after a complete round trip only: a call that
  // failed half way leaves the connection in an unknown state, and it is closed).
  void keep() {
    Links& l = links();
    Link spare;
    std::lock_guard lock(l.mutex);
    if (fd_ < 0) return;
    const bool ours = unlend_locked(l);
    auto& list = l.peer_locked(address_).idle;
    if (!ours || list.size() >= kMaxIdle) {
      spare = std::move(connection_);  // closed when this returns, after the lock
    } else {
      list.push_back(std::move(connection_));
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
    if (pid_ != sys::this_pid()) return false;
    if (auto it = l.lent.find(fd); it != l.lent.end()) l.lent.erase(it);
    return true;
  }

  std::string address_;
  Link connection_;
  int fd_ = -1;
  int pid_ = 0;
};

// One request and its reply on a borrowed connection.
Reply round_trip(const ObjectRef& ref, const Request& r) {
  std::vector<std::byte> bytes = encode(r);
  // As long as it takes for a blocking call without a timeout (a server that dies ends it
  // with EOF); else the manager's timeout, plus the call's own.
  const bool forever = blocks(r.op) && r.timeout_ns < 0;
  const std::chrono::nanoseconds limit(
      ref.timeout_ns + (blocks(r.op) ? std::max<std::int64_t>(r.timeout_ns, 0) : 0));
  std::vector<std::byte> response;
  {
    const sys::Deadline deadline = forever ? sys::Deadline::never() : sys::Deadline::after(limit);
    Lease lease(ref);
    Link& c = lease.connection();
    c.send(bytes);
    SpinBudget& budget = c.spin_budget();
    const auto t0 = std::chrono::steady_clock::now();
    const bool came = c.wait(forever ? std::chrono::nanoseconds(-1) : limit, budget.next());
    const bool caught = std::chrono::steady_clock::now() - t0 <= budget.spin();
    // A blocking call's long wait is its object's doing, not the server's: no miss.
    if (blocks(r.op) && !caught) {
      budget.forget();
    } else {
      budget.record(caught);
    }
    if (!came) {
      throw TimeoutError(
          "the manager at " + ref.address + " did not answer within " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()) +
          " ms");
    }
    try {
      response = c.recv(deadline);
    } catch (const EOFError&) {
      throw EOFError("the manager at " + ref.address +
                     " closed the connection: it has shut down or died");
    }
    lease.keep();
  }
  runtime::Outcome outcome = runtime::read_outcome(response);
  if (outcome.error) std::rethrow_exception(outcome.error);
  return decode_payload<Reply>(outcome.result);
}

// Opens this process's anchor to the server of `ref`, once.
void ensure_anchor(const ObjectRef& ref) {
  Links& l = links();
  Peer* p = nullptr;
  std::uint64_t client = 0;
  {
    std::lock_guard lock(l.mutex);
    l.adopt_locked();
    p = &l.peer_locked(ref.address);
    if (!p->anchor.closed()) return;
    client = l.client;
  }
  std::lock_guard opening(p->anchor_mutex);
  {
    std::lock_guard lock(l.mutex);
    if (!p->anchor.closed() || l.client != client) return;  // opened meanwhile, or forked
  }
  Connection anchor = Lease::open(ref);
  Request hello;
  hello.client = client;
  hello.op = Op::hello;
  anchor.send_bytes(encode(hello));
  if (!anchor.poll(std::chrono::nanoseconds(ref.timeout_ns))) {
    throw TimeoutError("the manager at " + ref.address + " did not answer");
  }
  runtime::Outcome outcome = runtime::read_outcome(anchor.recv_bytes());
  if (outcome.error) std::rethrow_exception(outcome.error);
  std::lock_guard lock(l.mutex);
  if (l.client == client) p->anchor = std::move(anchor);
}

}  // namespace

Reply call(const ObjectRef& ref, Request request) {
  ensure_anchor(ref);
  Links& l = links();
  {
    std::lock_guard lock(l.mutex);
    l.adopt_locked();
    Peer& p = l.peer_locked(ref.address);
    request.client = l.client;
    request.increfs.swap(p.increfs);
    request.decrefs.swap(p.decrefs);
  }
  request.thread = static_cast<std::uint64_t>(sys::this_tid());
  if (request.object == 0 && request.op != Op::create && request.op != Op::shutdown &&
      request.op != Op::object_count) {
    throw ValueError("mp: this proxy is not bound to a manager object");
  }
  return round_trip(ref, request);
}

Holder::Holder(ObjectRef ref, bool made_here) : ref_(std::move(ref)) {
  Links& l = links();
  std::lock_guard lock(l.mutex);
  l.adopt_locked();
  Hold& h = l.holds[{ref_.address, ref_.id}];
  if (made_here) {
    ++h.server;
  } else if (h.local == 0 && h.server == 0) {
    h.server = 1;
    l.peer_locked(ref_.address).increfs.push_back(ref_.id);
  }
  ++h.local;
}

Holder::~Holder() {
  Links& l = links();
  std::lock_guard lock(l.mutex);
  l.adopt_locked();
  auto it = l.holds.find({ref_.address, ref_.id});
  if (it == l.holds.end() || --it->second.local > 0) return;
  auto& decrefs = l.peer_locked(ref_.address).decrefs;
  for (std::int64_t i = 0; i < it->second.server; ++i) decrefs.push_back(ref_.id);
  l.holds.erase(it);
}

// --- managers -------------------------------------------------------------------------------

struct ManagerCore::ServerProcess {
  Process process;
};

ManagerCore::ManagerCore(const ServerSettings& settings) {
  self_.timeout_ns = settings.timeout.count();
  self_.address = settings.address;
  self_.authkey = settings.authkey;
  if (self_.authkey.empty()) self_.authkey = current_process().authkey();  // as Python's
  if (self_.authkey.empty()) {
    self_.authkey = sys::random_hex(32);
    if (self_.authkey.empty()) throw Error("no random bytes for a manager's key");
  }
  if (self_.address.empty()) {
    char dir[] = "/tmp/mp-manager-XXXXXX";
    if (::mkdtemp(dir) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    directory_ = dir;
    self_.address = directory_ + "/socket";
  }
  try {
    auto [here, there] = Pipe();
    server_ = std::make_unique<ServerProcess>(
        ServerProcess{Process(&run_server, self_.address, self_.authkey, there,
                              static_cast<std::int64_t>(settings.grace.count()))});
    server_->process.set_name("SyncManager");
    server_->process.set_daemon(true);
    server_->process.start();
    there.close();
    // "ok <address>" once it listens (the address says which port "host:0" got).
    std::string said;
    if (here.poll(std::chrono::seconds(60))) {
      try {
        said = here.recv<std::string>();
      } catch (const EOFError&) {
        said = "error: the server process ended before it listened";
      }
    } else {
      said = "error: the server process did not start listening within 60 s";
    }
    if (said.rfind("ok ", 0) != 0) {
      throw ProcessError("the manager could not start: " + said);
    }
    self_.address = said.substr(3);
  } catch (...) {
    if (server_ && server_->process.pid() != 0) {
      server_->process.kill();
      server_->process.join(std::chrono::seconds(5));
    }
    server_.reset();
    if (!directory_.empty()) ::rmdir(directory_.c_str());
    throw;
  }
}

std::unique_ptr<ManagerCore> ManagerCore::connect(const std::string& address,
                                                  const std::string& authkey,
                                                  std::chrono::nanoseconds timeout) {
  std::unique_ptr<ManagerCore> m(new ManagerCore());
  m->self_ = {address, authkey, 0, timeout.count()};
  // A wrong key or a missing server fails here, even when this process is already a client
  // of that server with the right key.
  try {
    Lease::open(m->self_).close();
  } catch (const AuthenticationError& e) {
    throw AuthenticationError("the manager at " + address + " refused the authkey (" + e.what() +
                              ")");
  }
  ensure_anchor(m->self_);
  return m;
}

ManagerCore::~ManagerCore() {
  try {
    if (server_) shutdown();
  } catch (...) {
  }
}

std::shared_ptr<const Holder> ManagerCore::create(Kind kind, const std::string& name,
                                                  std::vector<TypeDesc> types,
                                                  std::vector<Bytes> values, std::int64_t count) {
  if (stopped_) throw ProcessError("the manager has been shut down");
  Request r;
  r.op = Op::create;
  r.number = static_cast<std::int64_t>(kind);
  r.text = name;
  r.types = std::move(types);
  r.values = std::move(values);
  r.count = count;
  const Reply reply = call(self_, std::move(r));
  ObjectRef ref = self_;
  ref.id = static_cast<std::uint64_t>(reply.number);
  return std::make_shared<const Holder>(std::move(ref), true);
}

std::size_t ManagerCore::object_count() {
  Request r;
  r.op = Op::object_count;
  return static_cast<std::size_t>(call(self_, std::move(r)).number);
}

void ManagerCore::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (!server_) return;  // connected: the server belongs to another program
  runtime::log(LogLevel::info, "sending shutdown message to manager");
  try {
    Request r;
    r.op = Op::shutdown;
    call(self_, std::move(r));
  } catch (const std::exception&) {
    // The server is gone already; it is joined below either way.
  }
  {
    Links& l = links();
    std::vector<Link> drop;
    std::lock_guard lock(l.mutex);
    l.adopt_locked();
    if (auto it = l.peers.find(self_.address); it != l.peers.end()) {
      drop = std::move(it->second->idle);
      it->second->idle.clear();
      drop.emplace_back(std::move(it->second->anchor));
      it->second->increfs.clear();
      it->second->decrefs.clear();
    }
  }
  Process& p = server_->process;
  if (!p.join(std::chrono::seconds(5))) {
    p.kill();
    p.join();
  }
  if (!directory_.empty()) {
    ::unlink(self_.address.c_str());  // a server killed before it could remove it
    ::rmdir(directory_.c_str());
  }
}

void ManagerCore::serve_forever(const std::string& address, const std::string& authkey,
                                std::chrono::nanoseconds grace) {
  Listener listener(address, authkey);
  std::printf("mp-manager: serving on %s\n", listener.address().c_str());
  std::fflush(stdout);
  ServerOptions options;
  options.grace = grace;
  serve(listener, options);
}

}  // namespace mp::detail::manager
