// Seed problem 13: using Condition for synchronization (examples/python/seed_13_condition.py).
// The child waits on a predicate, a shared flag set under the condition's lock: a notify sent
// before the child reaches its wait (the parent's sleep does not guarantee the order) is not
// lost, the child sees the flag and goes on.
#include <mp/mp.hpp>

#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

void task(mp::Condition cond, mp::Value<bool> ready) {
  std::lock_guard guard(cond);
  std::cout << "Waiting for condition..." << std::endl;
  cond.wait([&] { return ready.value(); });
  std::cout << "Condition met, resuming task!" << std::endl;
}

int main() {
  mp::Condition cond;
  mp::Value<bool> ready(false);
  mp::Process p(task, cond, ready);

  p.start();
  std::this_thread::sleep_for(std::chrono::seconds(2));

  {
    std::lock_guard guard(cond);
    ready.value() = true;
    cond.notify();
  }

  p.join();
}
