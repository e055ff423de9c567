// The values both programs of the cross-compiler test know: one of each kind of type the codec
// takes, with a name for the report.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace cross {

struct Point {
  long x = 0;
  std::string label;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x, label);
  }
  bool operator==(const Point&) const = default;
};

struct Pod {  // trivially copyable: travels as its bytes
  std::int32_t a;
  double b;
  bool operator==(const Pod&) const = default;
};

// Calls f(name, value) for each value, always in this order.
template <class F>
void each_value(F&& f) {
  f("int", 42);
  f("long", -7L);
  f("unsigned long", 1UL << 40);
  f("long long", 1LL << 50);
  f("short", static_cast<short>(-3));
  f("unsigned char", static_cast<unsigned char>(200));
  f("bool", true);
  f("double", 2.5);
  f("std::string", std::string("h\xc3\xa9llo"));
  f("vector<string>", std::vector<std::string>{"a", "bc", ""});
  f("map<string, long>", std::map<std::string, long>{{"x", 1}, {"y", -2}});
  f("unordered_map<string, vector<long>>",
    std::unordered_map<std::string, std::vector<long>>{{"k", {1, 2, 3}}});
  f("tuple<int, double, string>", std::tuple<int, double, std::string>{1, 0.5, "t"});
  f("pair<unsigned, int>", std::pair<unsigned, int>{7U, -7});
  f("optional<string>", std::optional<std::string>("o"));
  f("variant<int, string>", std::variant<int, std::string>(std::string("v")));
  f("array<short, 3>", std::array<short, 3>{1, 2, 3});
  f("milliseconds", std::chrono::milliseconds(1500));
  f("minutes", std::chrono::minutes(90));  // clang++: std::ratio<60, 1>, g++: std::ratio<60>
  f("duration<double>", std::chrono::duration<double>(0.25));
  f("system_clock::time_point",  // g++: std::chrono::_V2::system_clock
    std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)));
  f("variant<map<string, vector<long>>, set<string>>",  // g++ writes the default arguments
    std::variant<std::map<std::string, std::vector<long>>, std::set<std::string>>(
        std::set<std::string>{"s"}));
  f("Point", Point{-5, "p"});
  f("vector<Point>", std::vector<Point>{{1, "a"}, {2, "b"}});
  f("Pod", Pod{3, 4.5});
}

}  // namespace cross
