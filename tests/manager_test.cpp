// tests/manager_test.cpp — Manager: dict and list proxies, across processes, printing as
// Python does, errors, a client killed mid-use, shutdown.
#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "mp/managers.hpp"
#include "mp/process.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;

class ManagerTest : public mp::testing::LeakCheckedTest {};

template <class T>
std::string printed(const T& x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

void join_ok(mp::Process& p) {
  ASSERT_TRUE(p.join(60s)) << "child hung";
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(ManagerTest, DictKeepsInsertionOrderAndBehavesLikePython) {
  mp::Manager manager;
  auto d = manager.dict<std::string, int>();
  EXPECT_EQ(printed(d), "{}");
  d["b"] = 2;
  d.set("a", 1);
  d["c"] = 3;
  d["b"] = 20;  // an update keeps the key's place
  EXPECT_EQ(printed(d), "{'b': 20, 'a': 1, 'c': 3}");
  EXPECT_EQ(d.get("a"), 1);
  EXPECT_EQ(static_cast<int>(d["c"]), 3);
  EXPECT_EQ(d.get("zz", -1), -1);
  EXPECT_TRUE(d.contains("a"));
  EXPECT_FALSE(d.contains("zz"));
  try {
    d.get("zz");
    FAIL() << "a missing key must throw";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "KeyError: 'zz'");
  }
  EXPECT_EQ(d.erase("a"), 1u);
  EXPECT_EQ(d.erase("a"), 0u);
  EXPECT_EQ(d.size(), 2u);
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(d.values(), (std::vector<int>{20, 3}));
  d.update(std::vector<std::pair<std::string, int>>{{"d", 4}, {"b", 5}});
  EXPECT_EQ(printed(d), "{'b': 5, 'c': 3, 'd': 4}");
  auto other = manager.dict<std::string, int>();
  other.update(d);
  EXPECT_EQ(other.items(), d.copy());
  d.clear();
  EXPECT_EQ(d.size(), 0u);
  EXPECT_EQ(other.size(), 3u);
  for (int i = 0; i < 100; ++i) other["k" + std::to_string(i)] = i;  // erase and compact
  for (int i = 0; i < 90; ++i) other.erase("k" + std::to_string(i));
  EXPECT_EQ(other.keys().front(), "b");
  EXPECT_EQ(other.get("k95"), 95);
}

TEST_F(ManagerTest, ListIndexesLikePython) {
  mp::Manager manager;
  auto l = manager.list<int>();
  l.append(1);
  l.extend(std::vector{2, 3});
  EXPECT_EQ(printed(l), "[1, 2, 3]");
  EXPECT_EQ(static_cast<int>(l[-1]), 3);
  l[0] = 10;
  l.insert(1, 15);
  l.insert(-100, 0);  // clamped, as in Python
  EXPECT_EQ(l.copy(), (std::vector{0, 10, 15, 2, 3}));
  EXPECT_EQ(l.pop(), 3);
  EXPECT_EQ(l.pop(0), 0);
  EXPECT_EQ(l.size(), 3u);
  EXPECT_THROW(l.get(3), std::out_of_range);
  EXPECT_THROW(l.set(-4, 1), std::out_of_range);
  auto words = manager.list<std::string>();
  words.append("it's");
  words.append("new item");
  EXPECT_EQ(printed(words), "[\"it's\", 'new item']");
}

TEST_F(ManagerTest, ProxiesWorkInChildrenAndEachCallIsAtomic) {
  mp::Manager manager;
  auto l = manager.list<int>();
  auto d = manager.dict<int, std::string>();
  std::vector<mp::Process> ps;
  for (int c = 0; c < 4; ++c) {
    ps.emplace_back([l, d, c]() mutable {
      for (int i = 0; i < 100; ++i) l.append(c * 1000 + i);
      d[c] = "child " + std::to_string(c);
    });
  }
  for (auto& p : ps) p.start();
  for (auto& p : ps) join_ok(p);
  EXPECT_EQ(l.size(), 400u);
  EXPECT_EQ(d.size(), 4u);
  EXPECT_EQ(d.get(2), "child 2");
}

TEST_F(ManagerTest, AClientKilledMidUseLeavesTheServerServing) {
  mp::Manager manager;
  auto l = manager.list<int>();
  mp::Process p([l]() mutable {
    for (int i = 0;; ++i) l.append(i);
  });
  p.start();
  while (l.size() < 100) std::this_thread::sleep_for(1ms);
  p.kill();
  p.join();
  const std::size_t n = l.size();
  l.append(-1);
  EXPECT_EQ(l.size(), n + 1);
  EXPECT_EQ(l.get(-1), -1);
}

TEST_F(ManagerTest, ShutdownStopsTheServerAndRemovesItsSocket) {
  mp::Manager manager;
  auto d = manager.dict<int, int>();
  d[1] = 1;
  const std::string socket = manager.address();
  struct stat st {};
  ASSERT_EQ(::stat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  manager.shutdown();
  EXPECT_NE(::stat(socket.c_str(), &st), 0) << "socket file left behind";
  EXPECT_ANY_THROW(d.get(1));
  manager.shutdown();  // again: nothing happens
}

}  // namespace
