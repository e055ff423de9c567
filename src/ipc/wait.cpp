// ipc/wait.cpp — connection::wait: poll() over connections, process sentinels and descriptors.
#include <poll.h>

#include <cerrno>
#include <system_error>

#include "mp/connection.hpp"
#include "mp/process.hpp"
#include "sys/clock.hpp"

namespace mp::connection {

int Waitable::fd() const {
  if (connection_ != nullptr) return connection_->fileno();
  if (process_ != nullptr) return process_->sentinel();
  return fd_;
}

std::vector<Waitable> wait(const std::vector<Waitable>& objects,
                           std::optional<std::chrono::nanoseconds> timeout) {
  std::vector<pollfd> fds;
  fds.reserve(objects.size());
  for (const auto& o : objects) fds.push_back(pollfd{o.fd(), POLLIN, 0});
  const auto deadline = sys::Deadline::after(timeout);
  for (;;) {
    timespec ts{};
    const timespec* tsp = nullptr;
    if (!deadline.is_never()) {
      auto left = deadline.remaining();
      ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
      tsp = &ts;
    }
    int rc = ::ppoll(fds.data(), fds.size(), tsp, nullptr);
    if (rc < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    std::vector<Waitable> ready;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) ready.push_back(objects[i]);
    }
    return ready;
  }
}

}  // namespace mp::connection
