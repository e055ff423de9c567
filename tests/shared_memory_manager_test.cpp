// tests/shared_memory_manager_test.cpp — blocks owned by a SharedMemoryManager, made by any
// process, unlinked at shutdown (or by the tracker when the manager's process is killed).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "mp/errors.hpp"
#include "mp/process.hpp"
#include "mp/queues.hpp"
#include "mp/shared_memory_manager.hpp"
#include "support/command.hpp"
#include "support/leak_check.hpp"
#include "support/methods.hpp"

namespace {

using namespace std::chrono_literals;

class SharedMemoryManagerTest : public mp::testing::MethodTest {};
MP_INSTANTIATE_FOR_EVERY_METHOD(SharedMemoryManagerTest);

class SharedMemoryManagerLocalTest : public mp::testing::LeakCheckedTest {};

bool exists(const std::string& name) {
  return mp::testing::shm_entries().count(name) != 0;
}

bool attachable(const std::string& name) {
  try {
    mp::SharedMemory::attach(name);
    return true;
  } catch (const std::system_error& e) {
    if (e.code() != std::errc::no_such_file_or_directory) throw;
    return false;
  }
}

TEST_P(SharedMemoryManagerTest, BlocksAChildMadeOutliveItUntilShutdown) {
  mp::SharedMemoryManager smm;
  mp::Queue<std::string> names;
  auto child = ctx().Process(
      [](mp::SharedMemoryManager smm, mp::Queue<std::string> names) {
        auto block = smm.shared_memory(4096);
        std::ranges::fill(block.buf(), std::byte{42});
        auto list = smm.shareable_list({1, 2, 3});
        list[1] = 20;
        names.put(block.name());
        names.put(list.name());
      },
      smm, names);
  child.start();
  const std::string block = names.get(30s);
  const std::string list = names.get(30s);
  ASSERT_TRUE(child.join(30s));
  ASSERT_EQ(child.exitcode(), 0);

  // The child's last handles went with it; the blocks are the manager's.
  ASSERT_TRUE(exists(block));
  ASSERT_TRUE(exists(list));
  auto same = mp::SharedMemory::attach(block);
  EXPECT_EQ(same.buf()[4095], std::byte{42});
  EXPECT_EQ(mp::ShareableList<int>::attach(list).to_vector(), (std::vector<int>{1, 20, 3}));

  smm.shutdown();
  EXPECT_FALSE(exists(block));
  EXPECT_FALSE(exists(list));
  EXPECT_FALSE(attachable(block));
  EXPECT_EQ(same.buf()[0], std::byte{42}) << "a mapped block stays usable after shutdown";
}

TEST_P(SharedMemoryManagerTest, AChildCanShutItDownAndNoProcessMakesBlocksAfter) {
  mp::SharedMemoryManager smm;
  const std::string mine = smm.shared_memory(64).name();
  ASSERT_TRUE(exists(mine));
  auto child = ctx().Process(
      [](mp::SharedMemoryManager smm) {
        smm.shutdown();
        try {
          smm.shared_memory(64);
        } catch (const mp::ValueError&) {
          std::exit(7);
        }
      },
      smm);
  child.start();
  ASSERT_TRUE(child.join(30s));
  EXPECT_EQ(child.exitcode(), 7) << "a block was made after shutdown";
  EXPECT_FALSE(exists(mine)) << "the child's shutdown left the maker's block";
  EXPECT_THROW(smm.shared_memory(64), mp::ValueError);
  EXPECT_THROW(smm.shareable_list({1.5}), mp::ValueError);
}

TEST_F(SharedMemoryManagerLocalTest, TheManagerNotTheHandleDecidesWhenANameGoes) {
  std::string kept, by_destructor;
  {
    mp::SharedMemoryManager smm;
    kept = smm.shared_memory(64).name();  // its only handle is gone at once
    EXPECT_TRUE(exists(kept));
    auto words = smm.shareable_list({"howdy", "hello"});
    static_assert(std::same_as<decltype(words), mp::ShareableList<std::string>>);
    by_destructor = words.name();
    auto copy = smm;  // a handle: shutting the copy down shuts the manager down
    EXPECT_TRUE(copy == smm);
    copy.shutdown();
    EXPECT_FALSE(exists(kept));
    EXPECT_FALSE(exists(by_destructor));
    copy.shutdown();  // idempotent
  }
  {
    mp::SharedMemoryManager smm;
    by_destructor = smm.shareable_list(std::vector<double>{1.0, 2.0}).name();
    EXPECT_TRUE(exists(by_destructor));
  }
  EXPECT_FALSE(exists(by_destructor)) << "the manager's last handle went and the block stayed";
}

TEST_F(SharedMemoryManagerLocalTest, ThreadsMakingBlocksAtOnceAllGetThem) {
  // Makers contend for the list of names: a maker that finds another one putting waits its turn
  // rather than failing as if the list were full.
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  mp::SharedMemoryManager smm;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        try {
          smm.shared_memory(64);
        } catch (const std::exception&) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << "of " << kThreads * kEach << " blocks";
  smm.shutdown();
}

TEST_F(SharedMemoryManagerLocalTest, ShutdownsAtOnceEachReturnWithEveryBlockGone) {
  // The second shutdown() finds the first one emptying the list of names: it waits for it
  // rather than returning while most blocks are still there.
  mp::SharedMemoryManager smm;
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) names.push_back(smm.shared_memory(64).name());
  int left[2] = {0, 0};
  auto shut_down = [&](int k) {
    smm.shutdown();
    const auto entries = mp::testing::shm_entries();
    for (const auto& name : names) left[k] += static_cast<int>(entries.count(name));
  };
  std::thread first(shut_down, 0), second(shut_down, 1);
  first.join();
  second.join();
  EXPECT_EQ(left[0], 0);
  EXPECT_EQ(left[1], 0);
}

TEST_F(SharedMemoryManagerLocalTest, ErrorsAreClear) {
  mp::SharedMemoryManager smm;
  EXPECT_THROW(smm.shared_memory(0), mp::ValueError);
}

TEST_F(SharedMemoryManagerLocalTest, BlocksOfAManagerWhoseProcessIsKilledAreUnlinked) {
  // The helper makes a block through its manager, has a spawned child (another resource
  // tracker) make one, prints both names and is killed: its tracker unlinks both.
  auto r = mp::testing::run_command({MP_PROCESS_HELPER, "killed-shm-manager"}, 30s);
  ASSERT_EQ(r.exitcode, -SIGKILL) << r.err;
  const std::string first = r.out.substr(0, r.out.find('\n'));
  const std::string second =
      r.out.substr(first.size() + 1, r.out.find('\n', first.size() + 1) - first.size() - 1);
  ASSERT_FALSE(first.empty()) << r.out;
  ASSERT_FALSE(second.empty()) << r.out;
  EXPECT_TRUE(mp::testing::shm_entry_vanishes(first)) << first << " leaked";
  EXPECT_TRUE(mp::testing::shm_entry_vanishes(second)) << second << " leaked";
}

}  // namespace
