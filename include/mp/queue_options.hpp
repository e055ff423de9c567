// mp/queue_options.hpp — tuning for a Queue (mp/queues.hpp).
#pragma once

#include <cstddef>

namespace mp {

struct QueueOptions {
  // Bytes of ring buffer (rounded up to a power of two). Memory is committed as it is used.
  // Messages larger than a quarter of it travel out of the ring, in memory of their own.
  std::size_t capacity = std::size_t{4} << 20;
};

}  // namespace mp
