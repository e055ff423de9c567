// tests/codec_test.cpp — round trips of every encodable kind, and hostile input.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "mp/codec.hpp"
#include "sys/memory.hpp"

namespace {

struct Point {  // trivially copyable: travels as bytes, also inside containers
  int x;
  double y;
  bool operator==(const Point&) const = default;
};

struct Person {  // a cereal-serializable user type
  std::string name;
  std::vector<int> scores;
  std::optional<Point> home;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, scores, home);
  }
  bool operator==(const Person&) const = default;
};

struct Tree {  // recursive: depth is driven by the input
  std::vector<Tree> children;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(children);
  }
};

struct NotEncodable {
  std::string s;  // not trivially copyable and no serialize()
};

enum class Color : std::uint8_t { red, green };

struct Label {  // trivially copyable with an array field: still its bytes
  char text[16];
  int id;
  bool operator==(const Label& o) const {
    return std::memcmp(text, o.text, sizeof text) == 0 && id == o.id;
  }
};

struct Derived : Point {  // a base and an array of aggregates: inspected, free of addresses
  Label labels[2];
  std::optional<int> maybe;
  std::array<short, 3> shorts;
};

struct Big {  // too many initializers to inspect: taken as its bytes
  char bytes[1 << 15];
};

struct WithPointer {  // trivially copyable, yet its bytes mean nothing elsewhere
  int id;
  const char* text;
};
struct Inner {
  int a, b, c;
  std::span<const int> values;
};
struct Nested {  // the address is two aggregates deep
  double d;
  Inner inner[2];
};
struct FromBase : WithPointer {
  int extra;
};
struct WithOptionalPointer {
  std::optional<int*> p;
};
struct WithMemberPointer {
  int Point::*member;
};
struct WithFunctionPointer {
  int (*f)(int);
};

// Holds a pointer, but its serialize() leaves it out: sent by serialize, not as its bytes.
struct Tagged {
  const char* note = nullptr;  // local to this process
  int id = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id);
  }
};

static_assert(mp::Encodable<int>);
static_assert(mp::Encodable<Point>);
static_assert(mp::Encodable<Person>);
static_assert(mp::Encodable<std::vector<Point>>);
static_assert(mp::Encodable<Label>);
static_assert(mp::Encodable<Derived>);
static_assert(mp::Encodable<Big>);
static_assert(mp::Encodable<std::nullptr_t>);  // no address, only its absence
static_assert(mp::Encodable<Tagged>);
static_assert(!mp::Encodable<NotEncodable>);
static_assert(!mp::Encodable<std::vector<NotEncodable>>);
static_assert(!mp::Encodable<std::optional<NotEncodable>>);
// Values that hold an address are refused, wherever the address is.
static_assert(!mp::Encodable<int*>);
static_assert(!mp::Encodable<const char*>);
static_assert(!mp::Encodable<int (*)(int)>);
static_assert(!mp::Encodable<int Point::*>);
static_assert(!mp::Encodable<int&>);
static_assert(!mp::Encodable<std::string_view>);
static_assert(!mp::Encodable<std::span<int>>);
static_assert(!mp::Encodable<std::span<const int, 3>>);
static_assert(!mp::Encodable<std::reference_wrapper<int>>);
static_assert(!mp::Encodable<std::initializer_list<int>>);
static_assert(!mp::Encodable<WithPointer>);
static_assert(!mp::Encodable<Nested>);
static_assert(!mp::Encodable<FromBase>);
static_assert(!mp::Encodable<WithOptionalPointer>);
static_assert(!mp::Encodable<WithMemberPointer>);
static_assert(!mp::Encodable<WithFunctionPointer>);
static_assert(!mp::Encodable<std::vector<std::string_view>>);
static_assert(!mp::Encodable<std::optional<std::string_view>>);
static_assert(!mp::Encodable<std::pair<int, const char*>>);
static_assert(!mp::Encodable<std::tuple<int, std::span<int>>>);
static_assert(!mp::Encodable<std::variant<int, WithPointer>>);
static_assert(!mp::Encodable<std::array<const char*, 2>>);
static_assert(!mp::Encodable<std::map<std::string, std::string_view>>);
static_assert(!mp::Encodable<std::set<std::string_view>>);

template <class T>
T round_trip(const T& value) {
  return mp::decode<T>(mp::encode(value));
}

TEST(Codec, RoundTripsEveryKind) {
  EXPECT_EQ(round_trip(42), 42);
  EXPECT_EQ(round_trip(true), true);
  EXPECT_EQ(round_trip(2.5), 2.5);
  EXPECT_EQ(round_trip(Color::green), Color::green);
  EXPECT_EQ(round_trip(std::string("hello")), "hello");
  EXPECT_EQ(round_trip(std::string()), "");
  EXPECT_EQ(round_trip(std::vector<int>{1, 2, 3}), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(round_trip(std::array<int, 3>{4, 5, 6}), (std::array<int, 3>{4, 5, 6}));
  using Map = std::map<std::string, std::vector<double>>;
  EXPECT_EQ(round_trip(Map{{"a", {1.0}}, {"b", {}}}), (Map{{"a", {1.0}}, {"b", {}}}));
  using UMap = std::unordered_map<int, std::string>;
  EXPECT_EQ(round_trip(UMap{{1, "x"}, {2, "y"}}), (UMap{{1, "x"}, {2, "y"}}));
  EXPECT_EQ(round_trip(std::set<int>{3, 1}), (std::set<int>{1, 3}));
  EXPECT_EQ(round_trip(std::pair<int, std::string>{1, "p"}), (std::pair<int, std::string>{1, "p"}));
  using Tup = std::tuple<int, std::string, std::vector<bool>>;
  EXPECT_EQ(round_trip(Tup{1, "t", {true, false}}), (Tup{1, "t", {true, false}}));
  EXPECT_EQ(round_trip(std::optional<std::string>("o")), std::optional<std::string>("o"));
  EXPECT_EQ(round_trip(std::optional<std::string>()), std::nullopt);
  using Var = std::variant<int, std::string>;
  EXPECT_EQ(round_trip(Var(std::string("v"))), Var(std::string("v")));
  EXPECT_EQ(round_trip(std::chrono::milliseconds(1500)), std::chrono::milliseconds(1500));
  EXPECT_EQ(round_trip(Point{1, 2.5}), (Point{1, 2.5}));
  EXPECT_EQ(round_trip(std::vector<Point>{{1, 1.0}, {2, 2.0}}),
            (std::vector<Point>{{1, 1.0}, {2, 2.0}}));
  Person alice{"Alice", {90, 85}, Point{3, 4.0}};
  EXPECT_EQ(round_trip(alice), alice);
  EXPECT_EQ(round_trip(std::vector<Person>{alice, {}}), (std::vector<Person>{alice, {}}));
}

TEST(Codec, TrivialTypesAreTheirBytes) {
  auto bytes = mp::encode(Point{7, 1.5});
  EXPECT_EQ(bytes.size(), 8 + sizeof(Point));
  Label label{"name", 3};
  EXPECT_EQ(mp::encode(label).size(), 8 + sizeof(Label));
  EXPECT_EQ(round_trip(label), label);
  Derived d{};
  d.x = 1;
  d.labels[1] = label;
  d.maybe = 5;
  d.shorts = {1, 2, 3};
  EXPECT_EQ(mp::encode(d).size(), 8 + sizeof(Derived));
  const Derived back = round_trip(d);
  EXPECT_EQ(back.x, 1);
  EXPECT_EQ(back.labels[1], label);
  EXPECT_EQ(back.maybe, std::optional<int>(5));
  EXPECT_EQ(back.shorts, (std::array<short, 3>{1, 2, 3}));
  auto big = std::make_unique<Big>();
  big->bytes[sizeof(Big) - 1] = 'z';
  EXPECT_EQ(mp::encode(*big).size(), 8 + sizeof(Big));
}

TEST(Codec, SerializeWinsOverBytesWhenTheTypeHoldsAnAddress) {
  // Tagged is trivially copyable, but its pointer field means nothing in another process: its
  // serialize() is used, and the pointer does not travel.
  const char* here = "local";
  auto bytes = mp::encode(Tagged{here, 9});
  EXPECT_EQ(bytes.size(), 8 + sizeof(int));
  const Tagged back = mp::decode<Tagged>(bytes);
  EXPECT_EQ(back.id, 9);
  EXPECT_EQ(back.note, nullptr);
}

TEST(Codec, WrongTypeIsProtocolError) {
  auto bytes = mp::encode(std::string("text"));
  EXPECT_THROW(mp::decode<int>(bytes), mp::ProtocolError);
  EXPECT_THROW(mp::decode<std::vector<char>>(bytes), mp::ProtocolError);
  EXPECT_THROW(mp::decode<std::int64_t>(mp::encode(std::int32_t{1})), mp::ProtocolError);
}

TEST(Codec, EveryTruncationIsProtocolError) {
  Person alice{"Alice", {90, 85, 70}, Point{3, 4.0}};
  auto bytes = mp::encode(std::vector<Person>{alice, alice});
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::span<const std::byte> prefix(bytes.data(), n);
    EXPECT_THROW(mp::decode<std::vector<Person>>(prefix), mp::ProtocolError) << "prefix " << n;
  }
}

TEST(Codec, TrailingBytesAreProtocolError) {
  auto bytes = mp::encode(std::string("abc"));
  bytes.push_back(std::byte{0});
  EXPECT_THROW(mp::decode<std::string>(bytes), mp::ProtocolError);
  auto point = mp::encode(Point{1, 2.0});
  point.push_back(std::byte{0});
  EXPECT_THROW(mp::decode<Point>(point), mp::ProtocolError);
}

TEST(Codec, HugeLengthPrefixDoesNotAllocate) {
  auto bytes = mp::encode(std::vector<std::uint64_t>{1, 2, 3});
  const std::uint64_t lie = std::uint64_t{1} << 60;
  std::memcpy(bytes.data() + 8, &lie, sizeof lie);  // the element count follows the tag
  EXPECT_THROW(mp::decode<std::vector<std::uint64_t>>(bytes), mp::ProtocolError);

  auto text = mp::encode(std::string("abc"));
  const std::uint64_t big = 1'000'000;
  std::memcpy(text.data() + 8, &big, sizeof big);
  EXPECT_THROW(mp::decode<std::string>(text), mp::ProtocolError);
}

TEST(Codec, InvalidBoolIsProtocolError) {
  auto bytes = mp::encode(true);
  bytes.back() = std::byte{2};
  EXPECT_THROW(mp::decode<bool>(bytes), mp::ProtocolError);
}

TEST(Codec, InvalidVariantIndexIsProtocolError) {
  using Var = std::variant<int, std::string>;
  auto bytes = mp::encode(Var(5));
  bytes[8] = std::byte{9};  // the alternative index follows the tag
  EXPECT_THROW(mp::decode<Var>(bytes), mp::ProtocolError);
}

TEST(Codec, DeepNestingIsRefusedNotAStackOverflow) {
  // Tree{children: [Tree{children: [...]}]} 100000 levels deep, written by hand: each level is a
  // count of 1; the innermost has a count of 0.
  auto bytes = mp::encode(Tree{});
  bytes.resize(8);
  const std::uint64_t one = 1, zero = 0;
  for (int i = 0; i < 100000; ++i) {
    const auto* p = reinterpret_cast<const std::byte*>(&one);
    bytes.insert(bytes.end(), p, p + 8);
  }
  const auto* z = reinterpret_cast<const std::byte*>(&zero);
  bytes.insert(bytes.end(), z, z + 8);
  EXPECT_THROW(mp::decode<Tree>(bytes), mp::ProtocolError);
  // A modest depth still works.
  Tree t;
  Tree* leaf = &t;
  for (int i = 0; i < 50; ++i) leaf = &leaf->children.emplace_back();
  Tree back = mp::decode<Tree>(mp::encode(t));
  int depth = 0;
  for (const Tree* p = &back; !p->children.empty(); p = &p->children.front()) {
    ASSERT_EQ(p->children.size(), 1u);
    ++depth;
  }
  EXPECT_EQ(depth, 50);
}

// A second, independent reader of the wire format for one message type, written from the format
// itself (little-endian u64 lengths, i32 variant indices, a grid's bytes as they are): what the
// codec must decode a corrupted message to, or nullopt where it must refuse it.
struct Grid {  // trivially copyable, no padding: every byte pattern is a value
  std::int32_t x;
  std::int32_t y;
  bool operator==(const Grid&) const = default;
};
using Item = std::variant<std::int32_t, std::string, Grid>;
using Msg = std::map<std::string, std::vector<Item>>;

class ReferenceReader {
 public:
  explicit ReferenceReader(std::span<const std::byte> in) : in_(in) {}

  std::optional<Msg> message() {
    Msg m;
    std::uint64_t entries = 0;
    if (!read(entries)) return std::nullopt;
    for (std::uint64_t e = 0; e < entries; ++e) {
      std::string key;
      std::vector<Item> items;
      std::uint64_t count = 0;
      if (!string(key) || !read(count)) return std::nullopt;
      for (std::uint64_t i = 0; i < count; ++i) {
        std::int32_t index = 0;
        if (!read(index)) return std::nullopt;
        if (index == 0) {
          std::int32_t v = 0;
          if (!read(v)) return std::nullopt;
          items.emplace_back(v);
        } else if (index == 1) {
          std::string v;
          if (!string(v)) return std::nullopt;
          items.emplace_back(std::move(v));
        } else if (index == 2) {
          Grid v{};
          if (!read(v)) return std::nullopt;
          items.emplace_back(v);
        } else {
          return std::nullopt;  // no such alternative
        }
      }
      m.emplace(std::move(key), std::move(items));  // a repeated key: the first one stays
    }
    if (pos_ != in_.size()) return std::nullopt;  // trailing bytes
    return m;
  }

 private:
  template <class T>
  bool read(T& v) {
    if (in_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool string(std::string& s) {
    std::uint64_t n = 0;
    if (!read(n) || in_.size() - pos_ < n) return false;
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return true;
  }

  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
};

TEST(Codec, ReferenceReaderAgreesOnTheCleanMessage) {
  Msg m{{"alpha", {1, std::string("two"), Grid{3, 4}}}, {"beta", {}}};
  const auto bytes = mp::encode(m);
  EXPECT_EQ(ReferenceReader(std::span(bytes).subspan(8)).message(), std::optional<Msg>(m));
}

TEST(Codec, RandomCorruptionDecodesAsTheFormatSaysOrIsRefused) {
  // Every corrupted message is either refused (ProtocolError), exactly when the reference reader
  // finds it malformed, or decoded to exactly the value the reference reader reads from it.
  Msg m{{"alpha", {1, std::string("two"), Grid{3, 4}}}, {"beta", {std::string("b")}}};
  const auto clean = mp::encode(m);
  std::mt19937 rng(12345);
  int decoded = 0, refused = 0;
  for (int round = 0; round < 20000; ++round) {
    auto bytes = clean;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      bytes[8 + rng() % (bytes.size() - 8)] = static_cast<std::byte>(rng());
    }
    if (rng() % 8 == 0) bytes.resize(8 + rng() % (bytes.size() - 8));  // and truncated
    const std::optional<Msg> expected = ReferenceReader(std::span(bytes).subspan(8)).message();
    try {
      const Msg got = mp::decode<Msg>(bytes);
      ++decoded;
      ASSERT_TRUE(expected.has_value()) << "round " << round << ": decoded a malformed message";
      ASSERT_EQ(got, *expected) << "round " << round;
    } catch (const mp::ProtocolError& e) {
      ++refused;
      ASSERT_FALSE(expected.has_value())
          << "round " << round << ": refused a well-formed message: " << e.what();
    }
  }
  // Both outcomes are exercised, so the agreement above is not vacuous.
  EXPECT_GT(decoded, 1000);
  EXPECT_GT(refused, 1000);
}

// --- the container fast paths (mp/detail/archive_containers.hpp) ---------------------------------

struct Sparse {  // large in memory, small on the wire: its vector is made as its bytes arrive
  std::array<char, 4096> pad{};
  int id = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id);
  }
  bool operator==(const Sparse& o) const { return id == o.id; }
};

template <class T>
void expect_round_trip(const T& value) {
  EXPECT_EQ(round_trip(value), value);
}

TEST(Codec, ContainerFastPathsRoundTrip) {
  std::vector<double> doubles(100'000);
  for (std::size_t i = 0; i < doubles.size(); ++i) doubles[i] = static_cast<double>(i) / 3;
  expect_round_trip(doubles);
  expect_round_trip(std::vector<int>{-1, 0, 1});
  expect_round_trip(std::vector<Point>{{1, 1.5}, {2, -2.5}});
  expect_round_trip(std::vector<std::array<short, 3>>{{1, 2, 3}, {4, 5, 6}});
  expect_round_trip(std::vector<std::array<bool, 2>>{{true, false}});  // bools stay checked
  expect_round_trip(std::vector<Color>{Color::green, Color::red});
  expect_round_trip(std::vector<std::string>{"", "a", std::string(100, 'x')});
  expect_round_trip(std::vector<std::vector<int>>{{}, {1}, {2, 3}});
  expect_round_trip(std::unordered_map<std::string, int>{{"one", 1}, {"two", 2}, {"", 0}});
  expect_round_trip(std::map<std::string, int>{{"b", 2}, {"a", 1}});
  expect_round_trip(std::map<int, double>{{3, 0.5}, {-1, 2.0}});
  expect_round_trip(std::unordered_map<int, std::vector<std::string>>{{1, {"x", "y"}}, {2, {}}});
  expect_round_trip(std::map<std::string, Person>{{"alice", {"Alice", {1}, std::nullopt}}});
  expect_round_trip(std::set<std::string>{"b", "a"});
  expect_round_trip(std::unordered_set<std::string>{"b", "a"});
  expect_round_trip(std::unordered_set<int>{5, 6});
  std::unordered_map<std::string, int> words;
  for (int i = 0; i < 5000; ++i) words.emplace("word" + std::to_string(i), i);
  expect_round_trip(words);
}

TEST(Codec, EmptyContainersRoundTrip) {
  expect_round_trip(std::vector<double>{});
  expect_round_trip(std::vector<Point>{});
  expect_round_trip(std::vector<std::array<int, 3>>{});
  expect_round_trip(std::vector<std::string>{});
  expect_round_trip(std::vector<Sparse>{});
  expect_round_trip(std::unordered_map<std::string, int>{});
  expect_round_trip(std::map<int, std::string>{});
  expect_round_trip(std::set<int>{});
  expect_round_trip(std::unordered_set<std::string>{});
}

TEST(Codec, ElementsLargerInMemoryThanOnTheWireRoundTrip) {
  // 3000 Sparse take 12 KB on the wire and 12 MB in memory: made 1024 at a time, then doubling.
  std::vector<Sparse> v(3000);
  for (int i = 0; i < 3000; ++i) v[static_cast<std::size_t>(i)].id = i;
  expect_round_trip(v);
  expect_round_trip(std::vector<Person>(3000, Person{"p", {1, 2}, Point{1, 1.0}}));
}

// The layout is cereal's, element by element, whichever path wrote it: a u64 count, then each
// element (a string as a u64 length and its bytes; a trivially copyable type as its bytes).
TEST(Codec, FastPathsKeepTheWireLayout) {
  std::vector<std::byte> expected;
  auto put = [&expected](const auto& v) {
    const auto* p = reinterpret_cast<const std::byte*>(&v);
    expected.insert(expected.end(), p, p + sizeof v);
  };
  auto body = [](const std::vector<std::byte>& message) {
    return std::vector<std::byte>(message.begin() + 8, message.end());
  };

  put(std::uint64_t{1});
  put(std::uint64_t{2});
  expected.push_back(std::byte{'a'});
  expected.push_back(std::byte{'b'});
  put(std::int32_t{7});
  EXPECT_EQ(body(mp::encode(std::unordered_map<std::string, int>{{"ab", 7}})), expected);

  expected.clear();
  const Grid a{1, 2}, b{3, 4};  // no padding: every byte is defined
  put(std::uint64_t{2});
  put(a);
  put(b);
  EXPECT_EQ(body(mp::encode(std::vector<Grid>{a, b})), expected);

  expected.clear();
  put(std::uint64_t{1});
  put(std::array<short, 3>{1, 2, 3});
  EXPECT_EQ(body(mp::encode(std::vector<std::array<short, 3>>{{1, 2, 3}})), expected);

  EXPECT_EQ(mp::encode(std::string("abc")).size(), 8u + 8u + 3u);  // no slack left behind
}

TEST(Codec, EncodeIntoAppends) {
  std::vector<std::byte> buf;
  mp::encode_into(std::vector<std::string>{"first"}, buf);
  const std::size_t first = buf.size();
  mp::encode_into(std::map<int, std::string>{{1, "second"}}, buf);
  EXPECT_EQ(mp::decode<std::vector<std::string>>(std::span(buf).first(first)),
            (std::vector<std::string>{"first"}));
  EXPECT_EQ((mp::decode<std::map<int, std::string>>(std::span(buf).subspan(first))),
            (std::map<int, std::string>{{1, "second"}}));
}

template <class T>
void expect_every_truncation_refused(const T& value) {
  const auto bytes = mp::encode(value);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THROW(mp::decode<T>(std::span(bytes).first(n)), mp::ProtocolError) << "prefix " << n;
  }
}

TEST(Codec, EveryTruncationOfAFastPathIsProtocolError) {
  expect_every_truncation_refused(std::vector<double>{1.0, 2.0, 3.0});
  expect_every_truncation_refused(std::vector<Point>{{1, 1.0}, {2, 2.0}});
  expect_every_truncation_refused(std::vector<std::array<short, 3>>{{1, 2, 3}});
  expect_every_truncation_refused(std::vector<std::string>{"ab", "", "cde"});
  expect_every_truncation_refused(std::unordered_map<std::string, int>{{"ab", 1}, {"cd", 2}});
  expect_every_truncation_refused(std::map<int, std::string>{{1, "x"}, {2, "yz"}});
  expect_every_truncation_refused(std::set<std::string>{"a", "bc"});
  expect_every_truncation_refused(std::unordered_set<int>{1, 2});
  expect_every_truncation_refused(std::vector<Sparse>(3));
}

TEST(Codec, HugeCountInAFastPathIsProtocolError) {
  const std::uint64_t lie = std::uint64_t{1} << 60;
  auto refuse = [&lie]<class T>(const T& value) {
    auto bytes = mp::encode(value);
    std::memcpy(bytes.data() + 8, &lie, sizeof lie);  // the element count follows the tag
    EXPECT_THROW(mp::decode<T>(bytes), mp::ProtocolError);
  };
  refuse(std::vector<Point>{{1, 1.0}});
  refuse(std::vector<std::string>{"a"});
  refuse(std::vector<Sparse>(2));
  refuse(std::unordered_map<std::string, int>{{"a", 1}});
  refuse(std::map<int, int>{{1, 1}});
  refuse(std::unordered_set<std::string>{"a"});
  // A count each element could meet with one byte, but not with the eight a string needs.
  auto bytes = mp::encode(std::vector<std::string>{"", "", ""});
  const std::uint64_t four = 4;  // 24 bytes left: room for three empty strings, not four
  std::memcpy(bytes.data() + 8, &four, sizeof four);
  EXPECT_THROW(mp::decode<std::vector<std::string>>(bytes), mp::ProtocolError);
}

// Counts the bytes a container asks for, to show what a hostile count makes the decoder reserve.
inline std::size_t g_requested = 0;
template <class T>
struct CountingAllocator {
  using value_type = T;
  CountingAllocator() = default;
  template <class U>
  CountingAllocator(const CountingAllocator<U>&) {}
  T* allocate(std::size_t n) {
    g_requested += n * sizeof(T);
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
  bool operator==(const CountingAllocator&) const = default;
};

TEST(Codec, ACountIsCheckedAgainstTheBytesLeftBeforeReserving) {
  // 8000 strings promised, 8000 bytes left: each needs at least 8, so nothing is reserved.
  using Strings = std::vector<std::string, CountingAllocator<std::string>>;
  auto bytes = mp::encode(Strings{});
  const std::uint64_t count = 8000;
  std::memcpy(bytes.data() + 8, &count, sizeof count);
  bytes.resize(bytes.size() + 8000);
  g_requested = 0;
  EXPECT_THROW(mp::decode<Strings>(bytes), mp::ProtocolError);
  EXPECT_EQ(g_requested, 0u);

  // 4000 Sparse promised (4 bytes each on the wire, 4 KiB in memory), 1000 sent: at most 1024
  // are made ahead of their bytes, not 4000 (16 MB).
  using Sparses = std::vector<Sparse, CountingAllocator<Sparse>>;
  auto sparse = mp::encode(Sparses{});
  const std::uint64_t promised = 4000;
  std::memcpy(sparse.data() + 8, &promised, sizeof promised);
  sparse.resize(sparse.size() + 4000);
  g_requested = 0;
  EXPECT_THROW(mp::decode<Sparses>(sparse), mp::ProtocolError);
  EXPECT_LE(g_requested, 1024 * sizeof(Sparse));
  EXPECT_GT(g_requested, 0u);
}

}  // namespace

struct SinkPair {  // trivially copyable: travels as its bytes
  int a = 0;
  int b = 0;
};

// A sink that hands out room a few bytes at a time, so that every write crosses a run's end.
class TrickleSink final : public mp::detail::EncodeSink {
 public:
  std::span<std::byte> grow(std::size_t used, std::size_t need) override {
    if (bytes.size() < used) ADD_FAILURE() << "a run lost bytes written";
    bytes.resize(need + 3);
    return bytes;
  }
  void finish(std::size_t used) noexcept override { bytes.resize(used); }
  std::vector<std::byte> bytes;
};

TEST(Codec, EncodingIntoASinkGivesTheSameBytes) {
  using Value = std::tuple<std::vector<std::string>, std::map<int, double>, std::string,
                           std::vector<std::int32_t>, std::optional<SinkPair>>;
  const Value value{{"a", "", std::string(1000, 'z')},
                    {{1, 0.5}, {2, -1.0}},
                    "tail",
                    {1, 2, 3, 4, 5},
                    SinkPair{7, 8}};
  std::vector<std::byte> expected;
  mp::detail::encode_payload_into(value, expected);
  TrickleSink sink;
  mp::detail::encode_payload_into(value, sink);
  EXPECT_EQ(sink.bytes, expected);
  TrickleSink plain;  // a trivially copyable value: its bytes, through the sink too
  mp::detail::encode_payload_into(SinkPair{3, 4}, plain);
  std::vector<std::byte> plain_expected;
  mp::detail::encode_payload_into(SinkPair{3, 4}, plain_expected);
  EXPECT_EQ(plain.bytes, plain_expected);
}

TEST(Codec, DecodingThatGivesBackItsInputsPagesReadsTheSameValues) {
  // A large message in a shared file mapping, decoded while its pages are given back as they
  // are read (as from a queue's body): the values are whole, and the pages read again from the
  // file when decoded a second time.
  using Value = std::tuple<std::string, std::vector<double>, std::vector<std::string>>;
  Value value;
  std::get<0>(value).resize(9 << 20);
  for (std::size_t i = 0; i < std::get<0>(value).size(); ++i) {
    std::get<0>(value)[i] = static_cast<char>(i * 7 + i / 4096);
  }
  std::get<1>(value).resize(1'500'000);
  std::iota(std::get<1>(value).begin(), std::get<1>(value).end(), 0.25);
  std::get<2>(value) = {"after", "the large ones"};
  std::vector<std::byte> bytes;
  mp::detail::encode_payload_into(value, bytes);
  mp::sys::Mapping file;
  ASSERT_EQ(mp::sys::map_anonymous(bytes.size() + 100, file), 0);
  auto* at = static_cast<std::byte*>(file.addr) + 100;  // not page-aligned
  std::memcpy(at, bytes.data(), bytes.size());
  const std::span<const std::byte> shared(at, bytes.size());
  for (int round = 0; round < 2; ++round) {
    EXPECT_TRUE(mp::detail::decode_payload<Value>(shared, true) == value) << "round " << round;
  }
  EXPECT_EQ(std::memcmp(at, bytes.data(), bytes.size()), 0);
  EXPECT_THROW(mp::detail::decode_payload<Value>(shared.first(shared.size() - 1), true),
               mp::ProtocolError);
  mp::sys::unmap(file);
}

TEST(Codec, KnownEncodedSizesAreTheEncodingsSizes) {
  auto size_of = [](const auto& value) {
    std::vector<std::byte> bytes;
    mp::detail::encode_payload_into(value, bytes);
    return bytes.size();
  };
  for (std::size_t n : {0, 1, 7, 1000}) {
    const std::string s(n, 'x');
    EXPECT_EQ(mp::detail::encoded_size(s), size_of(s));
    const std::vector<std::int16_t> shorts(n, 3);
    EXPECT_EQ(mp::detail::encoded_size(shorts), size_of(shorts));
    const std::vector<SinkPair> pairs(n);
    EXPECT_EQ(mp::detail::encoded_size(pairs), size_of(pairs));
    // And a sink of exactly that size takes the encoding, the same bytes.
    std::vector<std::byte> room(mp::detail::encoded_size(s)), expected;
    mp::detail::SpanSink sink(room);
    mp::detail::encode_payload_into(s, sink);
    mp::detail::encode_payload_into(s, expected);
    EXPECT_EQ(room, expected);
  }
  static_assert(!mp::detail::sized_encoding<std::vector<std::string>>::value);
  static_assert(!mp::detail::sized_encoding<std::vector<bool>>::value);
  std::vector<std::byte> small(4);
  mp::detail::SpanSink too_small(small);
  EXPECT_THROW(mp::detail::encode_payload_into(std::string("abc"), too_small), std::logic_error);
}
