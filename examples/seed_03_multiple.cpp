// Seed problem 3: multiple processes (examples/python/seed_03_multiple.py).
#include <mp/mp.hpp>

#include <iostream>
#include <string>
#include <vector>

void print_msg(const std::string& msg) {
  std::cout << msg << std::endl;
}

int main() {
  std::vector<std::string> messages{"Process 1", "Process 2", "Process 3"};
  std::vector<mp::Process> processes;
  for (const auto& msg : messages) processes.emplace_back(print_msg, msg);

  for (auto& p : processes) p.start();
  for (auto& p : processes) p.join();
}
