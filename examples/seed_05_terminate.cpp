// Seed problem 5: terminating a process (examples/python/seed_05_terminate.py).
#include <mp/mp.hpp>

#include <chrono>
#include <iostream>
#include <thread>

void task() {
  for (;;) {
    std::cout << "Running..." << std::endl;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int main() {
  mp::Process p(task);
  p.start();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  p.terminate();
  std::cout << "Process terminated" << std::endl;
}
