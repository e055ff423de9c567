// tests/codec_test.cpp — round trips of every encodable kind, and hostile input.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "mp/codec.hpp"

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

static_assert(mp::Encodable<int>);
static_assert(mp::Encodable<Point>);
static_assert(mp::Encodable<Person>);
static_assert(mp::Encodable<std::vector<Point>>);
static_assert(!mp::Encodable<NotEncodable>);
static_assert(!mp::Encodable<int*>);
static_assert(!mp::Encodable<std::vector<NotEncodable>>);

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
  EXPECT_NO_THROW(mp::decode<Tree>(mp::encode(t)));
}

TEST(Codec, RandomCorruptionNeverCrashes) {
  using Msg = std::map<std::string, std::vector<std::variant<int, std::string, Point>>>;
  Msg m{{"alpha", {1, std::string("two"), Point{3, 3.0}}}, {"beta", {}}};
  const auto clean = mp::encode(m);
  std::mt19937 rng(12345);
  int decoded = 0, refused = 0;
  for (int round = 0; round < 20000; ++round) {
    auto bytes = clean;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      bytes[8 + rng() % (bytes.size() - 8)] = static_cast<std::byte>(rng());
    }
    try {
      (void)mp::decode<Msg>(bytes);
      ++decoded;
    } catch (const mp::ProtocolError&) {
      ++refused;
    }
  }
  EXPECT_EQ(decoded + refused, 20000);
  EXPECT_GT(refused, 0);
}

}  // namespace
