// ipc/listener_internals.hpp — Listener::accept in its two halves, for a server that accepts on
// one thread and authenticates on the connection's own, so that a client that connects and then
// stays silent delays only itself, not every client after it (the manager's server).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "mp/connection.hpp"

namespace mp::detail {

struct ListenerInternals {
  // The next connection's descriptor, not yet authenticated (owned by the caller). Throws as
  // Listener::accept does when none arrives or the listener is closed.
  static int accept_unauthenticated(Listener& l, std::optional<std::chrono::nanoseconds> timeout);

  // The listener's handshake, by value: it outlives the listener.
  struct Handshake {
    std::string authkey;
    std::chrono::milliseconds timeout;
    // Takes the descriptor; AuthenticationError (the connection closed) when the peer fails.
    Connection operator()(int fd) const;
  };
  static Handshake handshake_of(const Listener& l);
};

}  // namespace mp::detail
