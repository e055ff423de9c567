# Seed problem 16: Using Semaphore for Controlling Access
from multiprocessing import Process, Semaphore
import time

def task(sem):
    sem.acquire()
    print("Task started")
    time.sleep(2)
    print("Task completed")
    sem.release()

if __name__ == "__main__":
    sem = Semaphore(2)
    processes = [Process(target=task, args=(sem,)) for _ in range(4)]

    for p in processes:
        p.start()

    for p in processes:
        p.join()
