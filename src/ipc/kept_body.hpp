// ipc/kept_body.hpp — a large message read in place after QueueCore::get returns: a pool worker
// runs a large task from its body's mapping instead of copying it out under the get lock.
#pragma once

#include <cstddef>
#include <span>

namespace mp::detail {

// A body that a get's body_sink kept (it returned true) may be reused by its producer.
// `message`: the bytes the sink was given. Before this thread's next get, which may unmap it.
void release_kept_body(std::span<const std::byte> message) noexcept;

}  // namespace mp::detail
