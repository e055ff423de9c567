# Seed problem 15: Using Barrier for Synchronization
from multiprocessing import Process, Barrier

def worker(barrier):
    print("Waiting at barrier...")
    barrier.wait()
    print("Barrier passed!")

if __name__ == "__main__":
    barrier = Barrier(2)
    p1 = Process(target=worker, args=(barrier,))
    p2 = Process(target=worker, args=(barrier,))

    p1.start()
    p2.start()

    p1.join()
    p2.join()
