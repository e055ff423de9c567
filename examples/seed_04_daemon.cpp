// Seed problem 4: daemon processes (examples/python/seed_04_daemon.py). The daemonic child is
// terminated when main returns, as in Python.
#include <mp/mp.hpp>

#include <chrono>
#include <iostream>
#include <thread>

void background_task() {
  for (;;) {
    std::cout << "Daemon process running..." << std::endl;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int main() {
  mp::Process p(background_task);
  p.set_daemon(true);
  p.start();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  std::cout << "Main process exits" << std::endl;
}
