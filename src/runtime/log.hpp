// runtime/log.hpp — how mp's own code reports to the logger (mp/logger.hpp), and how a child
// inherits its settings.
//
// A message is built only when it will be printed: `runtime::log(LogLevel::info, {"calling join()
// for process ", name})` joins its pieces then, and never throws. As in Python, mp makes no
// message of its own before get_logger() or log_to_stderr() was called.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "mp/logger.hpp"

namespace mp::runtime {

bool logging(LogLevel level) noexcept;
void log(LogLevel level, std::string_view message) noexcept;
// The message in pieces, joined only when it is printed, and never throwing: a noexcept caller's
// own "..." + name would end the process with std::terminate when short of memory.
void log(LogLevel level, std::initializer_list<std::string_view> pieces) noexcept;

// What a child started by spawn or forkserver is told (fork children copy it).
struct LogSettings {
  std::int32_t level = 0;
  bool used = false;       // get_logger() or log_to_stderr() was called
  bool to_stderr = false;  // log_to_stderr() was called

  template <class Archive>
  void serialize(Archive& ar) {
    ar(level, used, to_stderr);
  }
};
LogSettings log_settings() noexcept;
void apply_log_settings(const LogSettings& settings) noexcept;

}  // namespace mp::runtime
