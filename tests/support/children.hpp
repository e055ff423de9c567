// tests/support/children.hpp — joining the children a test starts, never waiting forever.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <set>

#include "mp/process.hpp"
#include "mp/queues.hpp"

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

// Starts `child` and returns what it puts on `reports` (within 120 s, else it is killed), once it
// has exited with 0; nothing (and a failed test) otherwise.
template <class T>
std::optional<T> report_of(mp::Process& child, mp::Queue<T>& reports) {
  child.start();
  auto got = reports.try_get(std::chrono::seconds(120));
  if (!got) child.kill();
  if (!child.join(std::chrono::seconds(30))) {
    ADD_FAILURE() << "the child did not end";
    return std::nullopt;
  }
  if (!got) ADD_FAILURE() << "the child hung";
  const std::optional<int> code = child.exitcode();
  if (code != 0) ADD_FAILURE() << "the child's exit code: " << code.value_or(-1);
  return code == 0 ? got : std::nullopt;
}

}  // namespace mp::testing
