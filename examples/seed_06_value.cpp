// Seed problem 6: shared memory with Value (examples/python/seed_06_value.py).
#include <mp/mp.hpp>

#include <iostream>
#include <mutex>

void increment(mp::Value<int> shared_val) {
  std::lock_guard guard(shared_val.get_lock());  // Python's `+=` here races; ours does not
  shared_val.value() += 1;
}

int main() {
  mp::Value<int> num(0);
  mp::Process p1(increment, num);
  mp::Process p2(increment, num);

  p1.start();
  p2.start();

  p1.join();
  p2.join();
  std::cout << "Final value: " << num.value() << std::endl;
}
