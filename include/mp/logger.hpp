// mp/logger.hpp — the library's logger, as Python's multiprocessing.get_logger() and
// log_to_stderr().
//
//   auto& log = mp::log_to_stderr(mp::LogLevel::info);  // Python: log_to_stderr(logging.INFO)
//   mp::Process p(work);  p.start();  p.join();
//   log.info("all done");
//
//   [INFO/Process-1] child process calling self.run()
//   [INFO/Process-1] process shutting down
//   [INFO/Process-1] process exiting with exitcode 0
//   [INFO/MainProcess] all done
//   [INFO/MainProcess] process shutting down
//
// mp reports what Python's multiprocessing reports, in its words: processes starting and
// ending, pools adding and ending workers, a manager's server. Nothing is printed until
// log_to_stderr() (or, for warnings and above, get_logger()): then each message is one line on
// stderr, "[LEVEL/process name] message", written whole. Children inherit the level and the
// stderr output under every start method.
//
// Differences from Python: messages are strings (format them before); stderr is the only handler
// (C++ has no logging module to add others to).
#pragma once

#include <string_view>

namespace mp {

// Python's logging levels, with multiprocessing's SUBDEBUG and SUBWARNING.
enum class LogLevel : int {
  notset = 0,
  subdebug = 5,
  debug = 10,
  info = 20,
  subwarning = 25,
  warning = 30,
  error = 40,
  critical = 50,
};

class Logger {
 public:
  // Python's setLevel; notset (the start) means warning and above.
  void set_level(LogLevel level) noexcept;
  LogLevel level() const noexcept;
  bool is_enabled_for(LogLevel level) const noexcept;

  void log(LogLevel level, std::string_view message) const noexcept;
  void subdebug(std::string_view message) const noexcept { log(LogLevel::subdebug, message); }
  void debug(std::string_view message) const noexcept { log(LogLevel::debug, message); }
  void info(std::string_view message) const noexcept { log(LogLevel::info, message); }
  void subwarning(std::string_view message) const noexcept { log(LogLevel::subwarning, message); }
  void warning(std::string_view message) const noexcept { log(LogLevel::warning, message); }
  void error(std::string_view message) const noexcept { log(LogLevel::error, message); }
  void critical(std::string_view message) const noexcept { log(LogLevel::critical, message); }
};

// The logger. Until log_to_stderr(), a message of warning or above is printed bare (Python's
// last-resort handler), and mp's own messages are not made at all.
Logger& get_logger() noexcept;
// Sends the logger's messages to stderr as "[LEVEL/process name] message"; sets the level unless
// it is notset.
Logger& log_to_stderr(LogLevel level = LogLevel::notset) noexcept;

}  // namespace mp
