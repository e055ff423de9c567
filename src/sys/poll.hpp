// sys/poll.hpp — waiting for descriptors, with a deadline.
#pragma once

#include <poll.h>

#include <cstddef>

#include "sys/clock.hpp"

namespace mp::sys {

// Waits until one of `fds` has an event or the deadline passes, retrying after signals.
// Returns how many are ready (0 on timeout), or -errno.
int poll_until(pollfd* fds, std::size_t count, const Deadline& deadline) noexcept;

// Waits until `fd` is readable (data, EOF or an ended process's pidfd); false on timeout.
bool wait_readable(int fd, const Deadline& deadline) noexcept;

}  // namespace mp::sys
