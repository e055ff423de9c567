// Seed problem 19: Queue for a producer-consumer model
// (examples/python/seed_19_producer_consumer.py).
#include <mp/mp.hpp>

#include <chrono>
#include <iostream>
#include <thread>

void producer(mp::Queue<int> q) {
  for (int i = 0; i < 5; ++i) {
    q.put(i);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

void consumer(mp::Queue<int> q) {
  while (!q.empty()) std::cout << q.get() << std::endl;
}

int main() {
  mp::Queue<int> q;
  mp::Process p1(producer, q);
  mp::Process p2(consumer, q);

  p1.start();
  p1.join();
  p2.start();
  p2.join();
}
