// ipc/kept_body.hpp — a large message read in place after QueueCore::get returns: a pool worker
// runs a large task from its body's mapping instead of copying it out under the get lock.
#pragma once

#include <cstddef>
#include <span>

namespace mp::detail {

// Called by a get's body_sink, as its last step: the body (the sink's bytes) stays mapped and in
// use after get returns, until release_kept_body. Its producer meanwhile writes into other
// bodies. The next get of this thread may unmap it: release it before.
void keep_body() noexcept;
// The message's body may be reused by its producer. `message`: the bytes the sink was given.
void release_kept_body(std::span<const std::byte> message) noexcept;

}  // namespace mp::detail
