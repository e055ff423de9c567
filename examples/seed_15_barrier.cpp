// Seed problem 15: using Barrier for synchronization (examples/python/seed_15_barrier.py).
#include <mp/mp.hpp>

#include <iostream>

void worker(mp::Barrier barrier) {
  std::cout << "Waiting at barrier..." << std::endl;
  barrier.wait();
  std::cout << "Barrier passed!" << std::endl;
}

int main() {
  mp::Barrier barrier(2);
  mp::Process p1(worker, barrier);
  mp::Process p2(worker, barrier);

  p1.start();
  p2.start();

  p1.join();
  p2.join();
}
