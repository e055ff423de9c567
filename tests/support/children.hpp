// tests/support/children.hpp — joining the children a test starts, never waiting forever.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "mp/process.hpp"

namespace mp::testing {

// Joins `p` within `timeout` and expects exit code 0; a hung child is killed (and the test
// fails), never waited on forever.
inline void join_ok(mp::Process& p, std::chrono::seconds timeout = std::chrono::seconds(60)) {
  if (!p.join(timeout)) {
    p.kill();
    ASSERT_TRUE(p.join(std::chrono::seconds(30)));
    FAIL() << "child hung";
  }
  EXPECT_EQ(p.exitcode(), 0);
}

// The pids of this process's live children (mp::active_children()).
inline std::set<int> child_pids() {
  std::set<int> pids;
  for (auto& p : mp::active_children()) pids.insert(p.pid());
  return pids;
}

}  // namespace mp::testing
