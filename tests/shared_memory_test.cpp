// tests/shared_memory_test.cpp — named SharedMemory: ownership, attach, unlink.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <optional>
#include <system_error>
#include <thread>

#include "mp/errors.hpp"
#include "mp/process.hpp"
#include "mp/shared_memory.hpp"
#include "mp/synchronize.hpp"
#include "support/command.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;

class SharedMemoryTest : public mp::testing::LeakCheckedTest {};

bool exists(const std::string& name) {
  return mp::testing::shm_entries().count(name) != 0;
}

// A fixed name of this process's own, so that the leak check covers it.
std::string own(const std::string& suffix) {
  return "mp-" + std::to_string(::getpid()) + "-" + suffix;
}

TEST_F(SharedMemoryTest, ChildAttachesByNameAndWrites) {
  auto shm = mp::SharedMemory::create(4096);
  EXPECT_EQ(shm.name().rfind(own(""), 0), 0u);
  EXPECT_EQ(shm.size(), 4096u);
  EXPECT_TRUE(exists(shm.name()));
  mp::Process p([name = shm.name()] {
    auto same = mp::SharedMemory::attach(name);
    std::ranges::fill(same.buf(), std::byte{42});
    same.close();
  });
  p.start();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(shm.buf()[4095], std::byte{42});
  EXPECT_TRUE(exists(shm.name()));  // the attacher did not unlink it
}

TEST_F(SharedMemoryTest, CreatorUnlinksWhenItsLastHandleGoes) {
  std::optional<mp::SharedMemory> original = mp::SharedMemory::create(100);
  const std::string name = original->name();
  std::optional<mp::SharedMemory> last = *original;
  original.reset();
  EXPECT_TRUE(exists(name)) << "unlinked while a handle of the creator remains";
  // A forked child holds a copy too, alive while the creator's last local handle goes: copies
  // in children never count, so `last` really is the last reference that keeps the name.
  mp::Event child_has_it, done;
  mp::Process p([copy = *last, child_has_it, done]() mutable {
    child_has_it.set();
    done.wait_for(30s);
    std::exit(copy.buf().size() == 100 ? 0 : 1);  // still mapped in the child
  });
  p.start();
  ASSERT_TRUE(child_has_it.wait_for(10s));
  EXPECT_TRUE(exists(name));
  last.reset();
  EXPECT_FALSE(exists(name)) << "the creator's last handle went and the name stayed";
  EXPECT_THROW(mp::SharedMemory::attach(name), std::system_error);
  done.set();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_F(SharedMemoryTest, ForkedCopyOfCreatorHandleDoesNotUnlink) {
  auto shm = mp::SharedMemory::create(100);
  mp::Process p([shm]() mutable {
    auto local = shm;  // both copies are destroyed in the child
  });
  p.start();
  ASSERT_TRUE(p.join(10s));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_TRUE(exists(shm.name()));
}

TEST_F(SharedMemoryTest, UntrackedBlockOutlivesItsHandles) {
  std::string name;
  {
    auto shm = mp::SharedMemory::create(100, own("untracked"), /*track=*/false);
    name = shm.name();
  }
  ASSERT_TRUE(exists(name));
  auto again = mp::SharedMemory::attach(name);
  again.unlink();
  again.unlink();
  EXPECT_FALSE(exists(name));
}

TEST_F(SharedMemoryTest, NameOfACreatorKilledBySigkillIsUnlinked) {
  auto r = mp::testing::run_command({MP_PROCESS_HELPER, "killed-shm-creator"}, 20s);
  ASSERT_EQ(r.exitcode, -SIGKILL) << r.err;
  const std::string name = r.out.substr(0, r.out.find('\n'));
  ASSERT_FALSE(name.empty());
  EXPECT_TRUE(mp::testing::shm_entry_vanishes(name)) << name << " leaked";
}

TEST_F(SharedMemoryTest, TrackerWaitsForTheWholeFamily) {
  // Parent and child share the parent's tracker: the killed child's block keeps its name while
  // the parent lives (the parent may still attach to it); both go when the parent is killed.
  mp::testing::RunningCommand helper({MP_PROCESS_HELPER, "killed-shm-creator-child"});
  const std::string parents = helper.read_line(20s);
  const std::string childs = helper.read_line(20s);
  ASSERT_FALSE(parents.empty());
  ASSERT_FALSE(childs.empty());
  ASSERT_EQ(helper.read_line(20s), "child gone");
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(exists(childs)) << "unlinked while a process of the family lives";
  helper.kill(SIGKILL);
  helper.wait(10s);
  EXPECT_TRUE(mp::testing::shm_entry_vanishes(childs)) << childs << " leaked";
  EXPECT_TRUE(mp::testing::shm_entry_vanishes(parents)) << parents << " leaked";
}

TEST_F(SharedMemoryTest, ErrorsAreClear) {
  EXPECT_THROW(mp::SharedMemory::create(0), mp::ValueError);
  EXPECT_THROW(mp::SharedMemory::create(10, "a/b"), mp::ValueError);
  auto shm = mp::SharedMemory::create(10, own("taken"));
  try {
    mp::SharedMemory::create(10, own("taken"));
    ADD_FAILURE() << "created a taken name";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EEXIST);
  }
  shm.close();
  shm.close();
  EXPECT_THROW((void)shm.buf(), mp::ValueError);
}

}  // namespace
