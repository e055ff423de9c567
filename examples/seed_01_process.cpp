// Seed problem 1: creating a simple process (examples/python/seed_01_process.py).
#include <mp/mp.hpp>

#include <iostream>

void hello() {
  std::cout << "Hello from process" << std::endl;
}

int main() {
  mp::Process p(hello);
  p.start();
  p.join();
}
