#include "sys/terminal.hpp"

#include <unistd.h>

#include <cerrno>

namespace mp::sys {

bool is_terminal(int fd) noexcept {
  return fd >= 0 && ::isatty(fd) == 1;
}

int flushed_stream_fd(std::FILE* stream) noexcept {
  if (stream == nullptr) return -1;
  std::fflush(stream);
  return ::fileno(stream);
}

int write_all(int fd, const char* data, std::size_t size) noexcept {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

}  // namespace mp::sys
