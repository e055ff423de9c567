// Seed problem 20: ProcessPoolExecutor (examples/python/seed_20_executor.py).
#include <mp/mp.hpp>

#include <iostream>
#include <vector>

int square(int n) {
  return n * n;
}

int main() {
  std::vector<int> numbers{1, 2, 3, 4, 5};
  std::vector<int> results;
  {
    mp::ProcessPoolExecutor executor(3);
    for (int r : executor.map(square, numbers)) results.push_back(r);
  }
  std::cout << "Squared numbers: [";
  for (std::size_t i = 0; i < results.size(); ++i) std::cout << (i ? ", " : "") << results[i];
  std::cout << "]" << std::endl;
}
