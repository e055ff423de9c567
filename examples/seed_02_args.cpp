// Seed problem 2: passing arguments to a process (examples/python/seed_02_args.py).
#include <mp/mp.hpp>

#include <iostream>
#include <string>

void greet(const std::string& name) {
  std::cout << "Hello, " << name << std::endl;
}

int main() {
  mp::Process p(greet, std::string("Alice"));
  p.start();
  p.join();
}
