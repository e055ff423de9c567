// tests/shared_memory_test.cpp — named SharedMemory: ownership, attach, unlink.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <system_error>

#include "mp/errors.hpp"
#include "mp/process.hpp"
#include "mp/shared_memory.hpp"
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
  std::string name;
  {
    auto shm = mp::SharedMemory::create(100);
    auto copy = shm;
    name = shm.name();
  }
  EXPECT_FALSE(exists(name));
  EXPECT_THROW(mp::SharedMemory::attach(name), std::system_error);
}

TEST_F(SharedMemoryTest, ForkedCopyOfCreatorHandleDoesNotUnlink) {
  auto shm = mp::SharedMemory::create(100);
  mp::Process p([shm]() mutable {
    auto local = shm;  // destroyed in the child
  });
  p.start();
  p.join();
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
