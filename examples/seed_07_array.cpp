// Seed problem 7: shared memory with Array (examples/python/seed_07_array.py).
#include <mp/mp.hpp>

#include <iostream>

void update_array(mp::Array<int> arr) {
  for (std::size_t i = 0; i < arr.size(); ++i) arr[i] += 1;
}

int main() {
  mp::Array<int> shared_arr{1, 2, 3, 4, 5};
  mp::Process p(update_array, shared_arr);
  p.start();
  p.join();

  std::cout << "[";
  for (std::size_t i = 0; i < shared_arr.size(); ++i) {
    std::cout << (i ? ", " : "") << shared_arr[i];
  }
  std::cout << "]" << std::endl;
}
