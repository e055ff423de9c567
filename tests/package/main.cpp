// Uses a little of everything, so that a missing installed header or library shows.
#include <mp/mp.hpp>

int main() {
  mp::Queue<int> q;
  mp::Value<int> v(0);
  mp::Process p([q, v]() mutable {
    v.fetch_add(20);
    q.put(22);
  });
  p.start();
  int got = q.get(std::chrono::seconds(10));
  p.join();
  return got + v.load() == 42 && p.exitcode() == 0 ? 0 : 1;
}
