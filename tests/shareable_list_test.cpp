// tests/shareable_list_test.cpp — ShareableList: Python's behaviour across processes (attach by
// name, passed as an argument under every start method), string slots of fixed capacity, the
// element type checked on attach, malformed blocks refused.
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "mp/errors.hpp"
#include "mp/process.hpp"
#include "mp/shareable_list.hpp"
#include "mp/shared_memory.hpp"
#include "support/children.hpp"
#include "support/leak_check.hpp"
#include "support/methods.hpp"

namespace {

using namespace std::chrono_literals;
using mp::testing::join_ok;

class ShareableListTest : public mp::testing::LeakCheckedTest {};
class ShareableListMethodTest : public mp::testing::MethodTest {};
MP_INSTANTIATE_FOR_EVERY_METHOD(ShareableListMethodTest);

TEST_F(ShareableListTest, ANumberListIsSharedByName) {
  mp::ShareableList<long> sl{1, 2, 3, 2};
  EXPECT_EQ(sl.size(), 4u);
  EXPECT_EQ(sl.count(2), 2u);
  EXPECT_EQ(sl.index(3), 2u);
  EXPECT_THROW(sl.index(7), mp::ValueError);
  EXPECT_THROW(sl.at(4), std::out_of_range);
  mp::Process p([name = sl.name()] {
    auto same = mp::ShareableList<long>::attach(name);
    same[1] = 20;
    same[2] += 5;
    std::exit(same.size() == 4 && same[0] == 1 ? 0 : 1);
  });
  p.start();
  join_ok(p);
  EXPECT_EQ(sl.to_vector(), (std::vector<long>{1, 20, 8, 2}));
}

TEST_F(ShareableListTest, StringSlotsKeepTheCapacityOfTheirFirstValue) {
  mp::ShareableList<std::string> sl{"a", "hello, world", ""};
  sl[0] = "12345678";  // 1 byte rounds up to 8
  EXPECT_EQ(sl[0].get(), "12345678");
  EXPECT_THROW(sl[0] = "123456789", mp::ValueError);
  EXPECT_EQ(sl[0].get(), "12345678") << "a refused value leaves the slot as it was";
  sl[1] = "short";
  EXPECT_THROW(sl[2] = "was empty", mp::ValueError);  // an empty string's slot: 8 bytes
  EXPECT_EQ(sl[2].get(), "");
  sl[2] = "8 bytes!";
  EXPECT_EQ(sl.index("short"), 1u);
  EXPECT_EQ(sl.count("8 bytes!"), 1u);
  mp::Process p([name = sl.name()] {
    auto same = mp::ShareableList<std::string>::attach(name);
    std::string first = same[0];
    same[1] = first.substr(0, 3) + same[2].get().substr(0, 1) + "!";
    std::ostringstream printed;
    printed << same[0] << ' ' << same[0] + "?";
    std::exit(printed.str() == "12345678 12345678?" ? 0 : 1);
  });
  p.start();
  join_ok(p);
  EXPECT_EQ(sl.to_vector(), (std::vector<std::string>{"12345678", "1238!", "8 bytes!"}));
}

TEST_F(ShareableListTest, AttachChecksTheElementType) {
  mp::ShareableList<int> ints{1, 2};
  try {
    mp::ShareableList<long>::attach(ints.name());
    FAIL() << "a list of int attached as a list of long";
  } catch (const mp::TypeError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("holds int, not long"), std::string::npos) << what;
  }
  EXPECT_THROW(mp::ShareableList<std::string>::attach(ints.name()), mp::TypeError);
  auto plain = mp::SharedMemory::create(4096);
  EXPECT_THROW(mp::ShareableList<int>::attach(plain.name()), mp::ValueError);
  auto tiny = mp::SharedMemory::create(16);
  EXPECT_THROW(mp::ShareableList<int>::attach(tiny.name()), mp::ValueError);
  EXPECT_THROW(mp::ShareableList<int>::attach("mp-no-such-list"), std::system_error);
}

// A block whose header another process spoiled is refused, never read out of bounds.
TEST_F(ShareableListTest, ASpoiledBlockIsRefused) {
  mp::ShareableList<std::string> sl{"abc", "def"};
  auto raw = mp::SharedMemory::attach(sl.name());
  auto bytes = raw.buf();
  // The count (header bytes 16-23) made larger than the block can hold.
  bytes[16 + 7] = std::byte{0x7f};
  EXPECT_THROW(mp::ShareableList<std::string>::attach(sl.name()), mp::ValueError);
  bytes[16 + 7] = std::byte{0};
  // Slot 1's length (table at 128, 16 bytes a slot, length at +12) beyond its capacity.
  bytes[128 + 16 + 12] = std::byte{0xff};
  EXPECT_THROW(sl[1].get(), mp::ValueError);
  EXPECT_EQ(sl[0].get(), "abc");
  raw.close();
}

TEST_F(ShareableListTest, AnEmptyListIsAList) {
  mp::ShareableList<double> empty(std::vector<double>{});
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(mp::ShareableList<double>::attach(empty.name()).empty());
}

// Passed as an argument, a list travels as its block's descriptor, under every start method.
TEST_P(ShareableListMethodTest, AListPassedToAChildIsTheSameList) {
  mp::ShareableList<double> numbers{0.5, 1.5};
  mp::ShareableList<std::string> words{"one", "two"};
  auto p = ctx().Process(
      [](mp::ShareableList<double> n, mp::ShareableList<std::string> w) {
        n[1] = n[0] * 10;
        w[0] = "uno";
      },
      numbers, words);
  p.start();
  join_ok(p);
  EXPECT_EQ(numbers[1], 5.0);
  EXPECT_EQ(words[0].get(), "uno");
}

}  // namespace
