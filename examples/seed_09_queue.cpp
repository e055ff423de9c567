// Seed problem 9: using Queue for inter-process communication (examples/python/seed_09_queue.py).
#include <mp/mp.hpp>

#include <iostream>
#include <string>

void producer(mp::Queue<std::string> q) {
  q.put("Hello from producer");
}

void consumer(mp::Queue<std::string> q) {
  std::cout << q.get() << std::endl;
}

int main() {
  mp::Queue<std::string> q;
  mp::Process p1(producer, q);
  mp::Process p2(consumer, q);

  p1.start();
  p2.start();

  p1.join();
  p2.join();
}
