// Positive control: values that hold no address still compile everywhere, so a refusal above is
// the codec's doing and not a broken harness.
// expect: compiles
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "mp/codec.hpp"
#include "mp/connection.hpp"
#include "mp/executor.hpp"
#include "mp/managers.hpp"
#include "mp/pool.hpp"
#include "mp/queues.hpp"

struct Plain {  // an aggregate of numbers: travels as its bytes
  int a;
  double b;
  char name[16];
  std::array<short, 3> c;
  std::optional<int> o;
  std::chrono::milliseconds d;
};

struct Base {
  int x;
};
struct Derived : Base {
  Plain plain[2];
  std::nullptr_t nothing;
};

struct Person {  // cereal serialization
  std::string name;
  std::vector<int> scores;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, scores);
  }
};

struct Scale {  // an encodable function object
  int by;
  int operator()(int x) const { return x * by; }
};

static_assert(mp::Encodable<Plain>);
static_assert(mp::Encodable<Derived>);
static_assert(mp::Encodable<Person>);
static_assert(mp::Encodable<std::vector<std::pair<Plain, std::optional<Person>>>>);
static_assert(mp::Encodable<std::tuple<int, std::variant<std::monostate, Plain, std::string>>>);

int twice(int x) {
  return 2 * x;
}

int main() {
  mp::Queue<Plain> q;
  q.put(Plain{});
  mp::Queue<Person> people;
  people.put(Person{"a", {1}});
  auto [a, b] = mp::Pipe();
  a.send(std::string("text"));
  a.send(Derived{});
  mp::Pool pool(2);
  (void)pool.apply([](int x) { return x + 1; }, 1);
  (void)pool.apply(&twice, 2);
  (void)pool.apply(Scale{3}, 2);
  (void)pool.map(&twice, std::vector<int>{1, 2});
  mp::ProcessPoolExecutor executor(2);
  (void)executor.submit([](const std::string& s) { return s.size(); }, std::string("x"));
  mp::Manager manager;
  auto list = manager.list<std::string>();
  list.append(std::string("text"));
  auto bytes = mp::encode(std::make_tuple(1, std::string("s"), Plain{}));
  (void)mp::decode<std::tuple<int, std::string, Plain>>(bytes);
}
