// Seed problem 11: a Manager's shared dict (examples/python/seed_11_manager_dict.py).
#include <mp/mp.hpp>

#include <iostream>
#include <string>

void update_dict(mp::DictProxy<std::string, std::string> shared_dict) {
  shared_dict["key"] = "value";
}

int main() {
  mp::Manager manager;
  auto shared_dict = manager.dict<std::string, std::string>();
  mp::Process p(update_dict, shared_dict);
  p.start();
  p.join();
  std::cout << shared_dict << std::endl;
}
