#include "mp/logger.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "runtime/log.hpp"
#include "runtime/process_state.hpp"

namespace mp {

namespace {

std::atomic<int> g_log_level{0};
std::atomic<bool> g_log_used{false};
std::atomic<bool> g_log_to_stderr{false};
Logger g_logger;

// Python's names, multiprocessing's two extra levels among them.
std::string level_name(LogLevel level) {
  switch (level) {
    case LogLevel::notset:
      return "NOTSET";
    case LogLevel::subdebug:
      return "SUBDEBUG";
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return "INFO";
    case LogLevel::subwarning:
      return "SUBWARNING";
    case LogLevel::warning:
      return "WARNING";
    case LogLevel::error:
      return "ERROR";
    case LogLevel::critical:
      return "CRITICAL";
  }
  return "Level " + std::to_string(static_cast<int>(level));
}

// One write for the whole line, so that lines of several processes never interleave.
void write_line(const std::string& line) noexcept {
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

void Logger::set_level(LogLevel level) noexcept {
  g_log_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

LogLevel Logger::level() const noexcept {
  return static_cast<LogLevel>(g_log_level.load(std::memory_order_relaxed));
}

bool Logger::is_enabled_for(LogLevel level) const noexcept {
  const int set = g_log_level.load(std::memory_order_relaxed);
  return static_cast<int>(level) >= (set == 0 ? static_cast<int>(LogLevel::warning) : set);
}

void Logger::log(LogLevel level, std::string_view message) const noexcept {
  if (!is_enabled_for(level)) return;
  try {
    std::string line;
    if (g_log_to_stderr.load(std::memory_order_relaxed)) {
      line += '[';
      line += level_name(level);
      line += '/';
      line += detail::registry().current->name;
      line += "] ";
    }
    line += message;
    line += '\n';
    write_line(line);
  } catch (...) {  // no memory for the line: it is lost, never the caller's work
  }
}

Logger& get_logger() noexcept {
  g_log_used.store(true, std::memory_order_relaxed);
  return g_logger;
}

Logger& log_to_stderr(LogLevel level) noexcept {
  g_log_used.store(true, std::memory_order_relaxed);
  g_log_to_stderr.store(true, std::memory_order_relaxed);
  if (level != LogLevel::notset) g_logger.set_level(level);
  detail::register_exit_handler();  // "process shutting down", as Python's at exit
  return g_logger;
}

namespace runtime {

bool logging(LogLevel level) noexcept {
  return g_log_used.load(std::memory_order_relaxed) && g_logger.is_enabled_for(level);
}

void log(LogLevel level, std::string_view message) noexcept {
  if (logging(level)) g_logger.log(level, message);
}

void log(LogLevel level, std::initializer_list<std::string_view> pieces) noexcept {
  if (!logging(level)) return;
  try {
    std::string message;
    for (std::string_view piece : pieces) message += piece;
    g_logger.log(level, message);
  } catch (...) {  // no memory for the message: it is lost
  }
}

LogSettings log_settings() noexcept {
  return {g_log_level.load(std::memory_order_relaxed), g_log_used.load(std::memory_order_relaxed),
          g_log_to_stderr.load(std::memory_order_relaxed)};
}

void apply_log_settings(const LogSettings& settings) noexcept {
  g_log_level.store(settings.level, std::memory_order_relaxed);
  g_log_used.store(settings.used, std::memory_order_relaxed);
  g_log_to_stderr.store(settings.to_stderr, std::memory_order_relaxed);
}

}  // namespace runtime

}  // namespace mp
