// tests/shareable_list_test.cpp — ShareableList: Python's behaviour across processes (attach by
// name, passed as an argument under every start method), string slots of fixed capacity, the
// element type checked on attach, malformed blocks refused.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
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

// The docs' example as a Python user writes it: a list of strings from literals, iteration,
// comparing two slots, then sl.shm().close() and sl.shm().unlink().
TEST_F(ShareableListTest, APythonProgramReadsAsPython) {
  mp::ShareableList words{"howdy", "HoWdY", "howdy"};  // ShareableList(['howdy', ...])
  static_assert(std::same_as<decltype(words), mp::ShareableList<std::string>>);
  mp::ShareableList numbers{100, 42, 7};
  std::ostringstream printed;
  for (auto w : words) printed << w << ' ';  // for w in words
  long total = 0;
  for (int n : numbers) total += n;
  for (int& n : numbers) n *= 2;
  EXPECT_EQ(printed.str(), "howdy HoWdY howdy ");
  EXPECT_EQ(total, 149);
  EXPECT_EQ(numbers.to_vector(), (std::vector<int>{200, 84, 14}));
  EXPECT_TRUE(words[0] == words[2]);
  EXPECT_FALSE(words[0] == words[1]);
  EXPECT_EQ(words[0] + words[1], "howdyHoWdY");
  mp::ShareableList<std::string> from_vector(std::vector<std::string>{"x"});
  mp::ShareableList deduced(std::vector<double>{0.5});
  static_assert(std::same_as<decltype(deduced), mp::ShareableList<double>>);
  words.shm().close();  // a.shm.close(): the list's own block
  EXPECT_THROW(words[0].get(), mp::ValueError);
  words.shm().unlink();  // a.shm.unlink()
  EXPECT_THROW(mp::ShareableList<std::string>::attach(words.name()), std::system_error);
}

// A list whose block was closed refuses access (ValueError) instead of reading an unmapped
// block.
TEST_F(ShareableListTest, AClosedListThrowsValueError) {
  mp::ShareableList<long> sl{1, 2};
  auto other = sl;  // a copy shares the block, and its closing
  other.shm().close();
  EXPECT_THROW(sl[0], mp::ValueError);
  EXPECT_THROW(sl.at(1), mp::ValueError);
  EXPECT_THROW(sl.to_vector(), mp::ValueError);
  EXPECT_EQ(sl.size(), 2u);
}

// Copies share the block (ShareableList<T> b(a) too, not a new block from a's values); a
// moved-from list is empty, not a view of the block it gave away.
TEST_F(ShareableListTest, CopiesShareAndAMovedFromListIsEmpty) {
  mp::ShareableList<int> a{1, 2, 3};
  mp::ShareableList<int> b(a);
  EXPECT_EQ(b.name(), a.name());
  b[0] = 10;
  EXPECT_EQ(a[0], 10);
  mp::ShareableList<int> c(std::move(a));
  EXPECT_EQ(a.size(), 0u);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.name(), "");
  EXPECT_THROW(a.at(0), std::out_of_range);
  EXPECT_EQ(c[0], 10);
  mp::ShareableList<std::string> s{"abc"};
  mp::ShareableList<std::string> t;
  t = std::move(s);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_THROW(s.at(0).get(), std::out_of_range);
  EXPECT_EQ(t[0].get(), "abc");
}

struct alignas(64) Line {
  std::int64_t v[8];
};
struct Named {
  const char* name;
};

TEST_F(ShareableListTest, ElementsAreAlignedAndHoldNoAddress) {
  mp::ShareableList<Line> lines{Line{{1}}, Line{{2}}};
  auto same = mp::ShareableList<Line>::attach(lines.name());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&same[0]) % 64, 0u);
  EXPECT_EQ(same[1].v[0], 2);
  // A view or a struct with a pointer means nothing in another process.
  static_assert(!mp::detail::ShareableElement<std::string_view>);
  static_assert(!mp::detail::ShareableElement<Named>);
  static_assert(!mp::detail::ShareableElement<const char*>);
  static_assert(mp::detail::ShareableElement<Line>);
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
