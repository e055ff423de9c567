// ipc/wait.cpp — connection::wait: poll() over connections, process sentinels and descriptors.
#include <system_error>

#include "mp/connection.hpp"
#include "mp/process.hpp"
#include "sys/poll.hpp"

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
  const int rc = sys::poll_until(fds.data(), fds.size(), sys::Deadline::after(timeout));
  if (rc < 0) throw std::system_error(-rc, std::generic_category(), "poll");
  std::vector<Waitable> ready;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].revents != 0) ready.push_back(objects[i]);
  }
  return ready;
}

}  // namespace mp::connection
