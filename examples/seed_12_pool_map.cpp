// Seed problem 12: Pool.map (examples/python/seed_12_pool_map.py).
#include <mp/mp.hpp>

#include <iostream>
#include <vector>

int square(int n) {
  return n * n;
}

int main() {
  mp::Pool p(4);
  std::vector<int> squares = p.map(square, std::vector{1, 2, 3, 4, 5});
  std::cout << "[";
  for (std::size_t i = 0; i < squares.size(); ++i) std::cout << (i ? ", " : "") << squares[i];
  std::cout << "]" << std::endl;
}
