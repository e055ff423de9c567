// tests/support/leak_check.hpp — a fixture that fails any test leaving behind a child process,
// a zombie, a file descriptor or a /dev/shm entry of its own (named "mp-<pid>-...": shared
// memory names carry their creator's pid, so tests running in parallel do not blame each other).
#pragma once

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mp::testing {

std::set<int> open_fds();
std::set<std::string> shm_entries();

class LeakCheckedTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

 private:
  std::set<int> fds_;
  std::set<std::string> shm_;
};

}  // namespace mp::testing
