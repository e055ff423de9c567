// Seed problem 14: using Event for process synchronization (examples/python/seed_14_event.py).
#include <mp/mp.hpp>

#include <chrono>
#include <iostream>
#include <thread>

void worker(mp::Event event) {
  std::cout << "Worker waiting for event..." << std::endl;
  event.wait();
  std::cout << "Worker received event signal!" << std::endl;
}

int main() {
  mp::Event event;
  mp::Process p(worker, event);
  p.start();

  std::this_thread::sleep_for(std::chrono::seconds(2));
  event.set();

  p.join();
}
