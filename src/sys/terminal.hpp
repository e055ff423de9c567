// sys/terminal.hpp — whether a descriptor is a terminal, and writing a line of text to one (or
// to a pipe or file), for the progress display (src/services/progress.cpp).
#pragma once

#include <cstddef>
#include <cstdio>

namespace mp::sys {

// True when `fd` refers to a terminal (isatty); false for pipes, files, sockets and bad fds.
bool is_terminal(int fd) noexcept;

// The descriptor under `stream` after flushing what it buffers (so that text written through
// the stream earlier comes out first); -1 if it has none.
int flushed_stream_fd(std::FILE* stream) noexcept;

// Writes all `size` bytes to `fd`, retrying after signals and short writes. Returns 0 or errno.
int write_all(int fd, const char* data, std::size_t size) noexcept;

}  // namespace mp::sys
