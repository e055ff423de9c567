// services/manager/serve.hpp — running a manager's server.
#pragma once

#include <cstdint>
#include <string>

#include "mp/connection.hpp"
#include "services/manager/server.hpp"

namespace mp::detail::manager {

// Serves on `listener` until a client asks the server to shut down.
void serve(Listener& listener, const ServerOptions& options);

// A manager's server process: listens on `address`, tells `ready` "ok <address>" (or "error:
// <why>"), then serves. The target of the process mp::Manager starts, under any start method.
void run_server(std::string address, std::string authkey, Connection ready, std::int64_t grace_ns);

}  // namespace mp::detail::manager
