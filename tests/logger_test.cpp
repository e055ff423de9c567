// tests/logger_test.cpp — mp's logger: Python's messages and format, children inheriting it,
// silence by default.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "mp/logger.hpp"
#include "support/command.hpp"

namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(LoggerTest, ReportsWhatPythonReportsInItsFormatInEveryProcess) {
  auto r = mp::testing::run_command({MP_PROCESS_HELPER, "logging"}, 60s);
  ASSERT_EQ(r.exitcode, 0) << r.err;
  EXPECT_EQ(r.out.rfind("hi\nhi\n", 0), 0u) << r.out;  // the log went to stderr only
  const auto got = lines(r.err);
  for (const char* want : {
           "[INFO/Process-1] child process calling self.run()",
           "[INFO/Process-1] process shutting down",
           "[DEBUG/Process-1] running all \"atexit\" finalizers with priority >= 0",
           "[DEBUG/Process-1] running the remaining \"atexit\" finalizers",
           "[INFO/Process-1] process exiting with exitcode 0",
           // spawned: a new program, told the settings by its parent
           "[INFO/Process-2] child process calling self.run()",
           "[INFO/Process-2] process exiting with exitcode 0",
           "[DEBUG/MainProcess] added worker",
           "[DEBUG/ForkPoolWorker-1] worker got sentinel -- exiting",
           "[DEBUG/ForkPoolWorker-1] worker exiting after 1 tasks",
           "[INFO/ForkPoolWorker-1] process exiting with exitcode 0",
           "[DEBUG/MainProcess] joining pool workers",
           "[INFO/MainProcess] done",
           "[INFO/MainProcess] process shutting down",
       }) {
    EXPECT_NE(std::find(got.begin(), got.end(), want), got.end()) << want << "\nin:\n" << r.err;
  }
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), "[DEBUG/MainProcess] running the remaining \"atexit\" finalizers");
}

TEST(LoggerTest, SilentUntilAskedAndWarningsBareWithoutAHandler) {
  auto r = mp::testing::run_command({MP_PROCESS_HELPER, "quiet-logger"}, 30s);
  ASSERT_EQ(r.exitcode, 0) << r.err;
  EXPECT_EQ(r.err, "shown bare\n");
}

TEST(LoggerTest, LevelsFollowPython) {
  mp::Logger& log = mp::get_logger();
  const mp::LogLevel before = log.level();
  EXPECT_EQ(before, mp::LogLevel::notset);
  EXPECT_FALSE(log.is_enabled_for(mp::LogLevel::info));  // notset: warning and above
  EXPECT_TRUE(log.is_enabled_for(mp::LogLevel::warning));
  log.set_level(mp::LogLevel::subdebug);
  EXPECT_TRUE(log.is_enabled_for(mp::LogLevel::subdebug));
  EXPECT_FALSE(log.is_enabled_for(mp::LogLevel::notset));
  log.set_level(mp::LogLevel::error);
  EXPECT_FALSE(log.is_enabled_for(mp::LogLevel::warning));
  log.set_level(before);
}

}  // namespace
