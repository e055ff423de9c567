// Seed problem 13: using Condition for synchronization (examples/python/seed_13_condition.py).
#include <mp/mp.hpp>

#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

void task(mp::Condition cond) {
  std::lock_guard guard(cond);
  std::cout << "Waiting for condition..." << std::endl;
  cond.wait();
  std::cout << "Condition met, resuming task!" << std::endl;
}

int main() {
  mp::Condition cond;
  mp::Process p(task, cond);

  p.start();
  std::this_thread::sleep_for(std::chrono::seconds(2));

  {
    std::lock_guard guard(cond);
    cond.notify();
  }

  p.join();
}
