// Seed problem 17: a Manager's shared list (examples/python/seed_17_manager_list.py).
#include <mp/mp.hpp>

#include <iostream>
#include <string>

void modify_list(mp::ListProxy<std::string> shared_list) {
  shared_list.append("new item");
}

int main() {
  mp::Manager manager;
  auto shared_list = manager.list<std::string>();
  mp::Process p(modify_list, shared_list);
  p.start();
  p.join();
  std::cout << shared_list << std::endl;
}
