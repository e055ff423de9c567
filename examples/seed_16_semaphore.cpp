// Seed problem 16: using Semaphore for controlling access (examples/python/seed_16_semaphore.py).
#include <mp/mp.hpp>

#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

void task(mp::Semaphore sem) {
  sem.acquire();
  std::cout << "Task started" << std::endl;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::cout << "Task completed" << std::endl;
  sem.release();
}

int main() {
  mp::Semaphore sem(2);
  std::vector<mp::Process> processes;
  for (int i = 0; i < 4; ++i) processes.emplace_back(task, sem);

  for (auto& p : processes) p.start();
  for (auto& p : processes) p.join();
}
