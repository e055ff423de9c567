// services/manager/serve.cpp — a manager's server on a Listener: a thread per connection, so a
// call that blocks (a queue's get, a lock's acquire) holds up only its own caller.
//
// A connection whose first request is a hello is a client process's anchor: it carries no
// calls, and its end (the process exited, crashed or was killed) tells the server that the
// client is gone (Server::client_gone).
#include "services/manager/serve.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <system_error>
#include <thread>

#include "ipc/listener_internals.hpp"
#include "mp/connection.hpp"
#include "mp/errors.hpp"
#include "runtime/exception_info.hpp"
#include "runtime/log.hpp"
#include "runtime/outcome.hpp"
#include "services/manager/link.hpp"
#include "services/manager/server.hpp"
#include "sys/child.hpp"
#include "sys/clock.hpp"
#include "sys/fd.hpp"
#include "sys/memory.hpp"
#include "sys/poll.hpp"
#include "sys/socket.hpp"

namespace mp::detail::manager {

namespace {

// How long the accepting loop waits when the process has no descriptor left for a connection.
constexpr auto kOutOfDescriptorsPause = std::chrono::milliseconds(50);

// A connection's thread looks for its next request awake for a moment before it sleeps (its
// link's SpinBudget): a client calling in a loop sends it within microseconds of the reply, and
// catching it awake saves a scheduler's wake-up, the largest part of a call. But a spinning
// thread takes a CPU from the clients and the threads with work, so threads spin only while
// the awake ones (each with a client of its own) fit in half the CPUs this process may use: on
// 2 CPUs, one client calling alone gets a spinning thread; several busy clients get sleeping
// ones, and keep the CPUs busy between them. A thread blocked in a call (a queue's get, a
// lock's acquire) counts as asleep.
class AwakeThreads {
 public:
  AwakeThreads() { count_.fetch_add(1, std::memory_order_relaxed); }
  ~AwakeThreads() { count_.fetch_sub(1, std::memory_order_relaxed); }
  AwakeThreads(const AwakeThreads&) = delete;
  AwakeThreads& operator=(const AwakeThreads&) = delete;

  bool may_spin() const noexcept { return count_.load(std::memory_order_relaxed) <= limit_; }

  // Not counted while it lives (exceptions included).
  class Asleep {
   public:
    explicit Asleep(bool really = true) : really_(really) {
      if (really_) count_.fetch_sub(1, std::memory_order_relaxed);
    }
    ~Asleep() {
      if (really_) count_.fetch_add(1, std::memory_order_relaxed);
    }
    Asleep(const Asleep&) = delete;
    Asleep& operator=(const Asleep&) = delete;

   private:
    bool really_;
  };

 private:
  static inline std::atomic<int> count_{0};
  static inline const int limit_ = std::max(1, sys::usable_cpus() / 2);
};

void serve_connection(Server& server, Connection c, int wake_fd) {
  Link link(std::move(c));
  AwakeThreads awake;
  std::uint64_t anchor_of = 0;
  for (;;) {
    std::vector<std::byte> bytes;
    std::vector<sys::UniqueFd> fds;
    try {
      // Without a mailbox, sleeps until a request comes: spinning on a socket costs a system
      // call per look.
      SpinBudget& budget = link.spin_budget();
      bool came = false;
      if (link.has_mailbox() && awake.may_spin()) {
        const auto spin = budget.next();
        came = spin > std::chrono::nanoseconds::zero() && link.wait(spin, spin);
        budget.record(came);
      }
      if (!came) {
        AwakeThreads::Asleep asleep;
        link.wait(std::chrono::nanoseconds(-1), {});
      }
      bytes = link.recv(sys::Deadline::never(), &fds);
    } catch (const std::exception&) {
      break;  // EOF, or a frame that cannot be read: the connection is done
    }
    Request r;
    Reply reply;
    runtime::ExceptionInfo error;
    bool ok = true;
    std::shared_ptr<Mailbox> mailbox;
    try {
      r = decode<Request>(bytes);
      if (r.op == Op::hello && r.client != 0) anchor_of = r.client;
      if (r.op == Op::mailbox) {
        if (link.has_mailbox() || fds.size() != 1) {
          throw ProtocolError("a mailbox offer needs one descriptor, once");
        }
        mailbox = Link::map_mailbox(std::move(fds.front()));
      } else {
        AwakeThreads::Asleep asleep(blocks(r.op));
        reply = server.handle(r);
      }
    } catch (...) {
      ok = false;
      error = runtime::describe_current_exception();
    }
    std::vector<std::byte> response;
    std::vector<std::byte> result;
    if (ok) encode_payload_into(reply, result);
    runtime::append_outcome(response, ok ? nullptr : &error, result);
    try {
      link.send(response);
      if (mailbox) link.use_mailbox(std::move(mailbox));  // after its reply, on the socket
      // Through a mailbox the reply is sent however the client is: an item must not be lost
      // with a client that is gone before it took it (and not given again when it took it).
      if (ok && r.op == Op::get_item && link.peer_gone() && !link.delivered()) {
        throw EOFError("the client is gone");
      }
    } catch (const std::exception&) {
      // The caller is gone: an item it took must not be lost with it.
      if (ok && r.op == Op::get_item && !reply.values.empty()) {
        server.undo_get(r, std::move(reply.values.front()));
      }
      break;
    }
    if (ok && r.op == Op::shutdown) {
      const char byte = 1;
      (void)!::write(wake_fd, &byte, 1);
      break;
    }
  }
  if (anchor_of != 0) server.client_gone(anchor_of);
}

}  // namespace

void serve(Listener& listener, const ServerOptions& options) {
  ::signal(SIGPIPE, SIG_IGN);
  // Never destroyed: connection threads may still be finishing their last reply when the
  // server's process exits.
  auto* server = new Server(options);
  sys::UniqueFd wake_read, wake_write;
  if (int err = sys::socket_pair(false, wake_read, wake_write); err != 0) {
    throw std::system_error(err, std::generic_category(), "socketpair");
  }
  const int wake_fd = wake_write.release();
  const ListenerInternals::Handshake handshake = ListenerInternals::handshake_of(listener);
  runtime::log(LogLevel::info, {"manager serving at '", listener.address(), "'"});
  for (;;) {
    auto ready = connection::wait({listener.fileno(), wake_read.get()});
    bool stop = false;
    for (const auto& w : ready) {
      if (w.fd() == wake_read.get()) stop = true;
    }
    if (stop || server->stopping()) return;
    try {
      // Authenticated on the connection's own thread: a client that connects and stays silent
      // holds up only itself (for the handshake's timeout), never the clients after it.
      // Owned by the thread once it runs; closed here if it cannot be started.
      sys::UniqueFd fd(
          ListenerInternals::accept_unauthenticated(listener, std::chrono::seconds(5)));
      std::thread([server, fd = std::move(fd), handshake, wake_fd]() mutable {
        std::optional<Connection> c;
        try {
          c.emplace(handshake(fd.release()));
        } catch (const std::exception&) {
          return;  // a wrong key, a silent or broken peer: dropped
        }
        serve_connection(*server, std::move(*c), wake_fd);
      }).detach();
    } catch (const std::system_error& e) {
      // Out of descriptors (or of socket memory: ENOBUFS, ENOMEM): the connection stays queued
      // and the listener readable, so without a pause this loop would spin on the CPU until a
      // client lets a descriptor (or its buffers) go.
      const bool out_of_descriptors = e.code() == std::errc::too_many_files_open ||
                                      e.code() == std::errc::too_many_files_open_in_system;
      const bool out_of_memory =
          e.code() == std::errc::no_buffer_space || e.code() == std::errc::not_enough_memory;
      if ((out_of_descriptors && !sys::raise_fd_limit()) || out_of_memory) {
        (void)sys::wait_readable(
            wake_read.get(),
            sys::Deadline::after(std::chrono::nanoseconds(kOutOfDescriptorsPause)));
      }
    } catch (const std::exception&) {
      // Nothing arrived after all: wait for the next one.
    }
  }
}

void run_server(std::string address, std::string authkey, Connection ready, std::int64_t grace_ns) {
  std::unique_ptr<Listener> listener;
  try {
    listener = std::make_unique<Listener>(address, authkey);
  } catch (const std::exception& e) {
    ready.send(std::string("error: ") + e.what());
    return;
  }
  ready.send(std::string("ok ") + listener->address());
  ready.close();
  ServerOptions options;
  options.grace = std::chrono::nanoseconds(grace_ns);
  serve(*listener, options);
}

}  // namespace mp::detail::manager
