#include "sys/poll.hpp"

#include <cerrno>

namespace mp::sys {

int poll_until(pollfd* fds, std::size_t count, const Deadline& deadline) noexcept {
  for (;;) {
    timespec ts{};
    const timespec* tsp = nullptr;
    if (!deadline.is_never()) {
      auto left = deadline.remaining();
      ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
      tsp = &ts;
    }
    int rc = ::ppoll(fds, count, tsp, nullptr);
    if (rc >= 0) return rc;
    if (errno != EINTR) return -errno;
  }
}

bool wait_readable(int fd, const Deadline& deadline) noexcept {
  pollfd p{fd, POLLIN, 0};
  return poll_until(&p, 1, deadline) > 0;
}

}  // namespace mp::sys
