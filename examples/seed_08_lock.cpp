// Seed problem 8: using locks (examples/python/seed_08_lock.py).
#include <mp/mp.hpp>

#include <iostream>
#include <mutex>
#include <string>

void critical_section(mp::Lock lock, const std::string& msg) {
  std::lock_guard guard(lock);
  std::cout << msg << std::endl;
}

int main() {
  mp::Lock lock;
  mp::Process p1(critical_section, lock, std::string("Process 1"));
  mp::Process p2(critical_section, lock, std::string("Process 2"));

  p1.start();
  p2.start();

  p1.join();
  p2.join();
}
