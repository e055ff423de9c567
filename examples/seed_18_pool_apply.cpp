// Seed problem 18: Pool.apply (examples/python/seed_18_pool_apply.py).
#include <mp/mp.hpp>

#include <iostream>

int cube(int n) {
  return n * n * n;
}

int main() {
  mp::Pool p(4);
  std::cout << p.apply(cube, 3) << std::endl;
}
