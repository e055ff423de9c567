# Seed problem 8: Using Locks
from multiprocessing import Process, Lock

def critical_section(lock, msg):
    with lock:
        print(msg)

if __name__ == "__main__":
    lock = Lock()
    p1 = Process(target=critical_section, args=(lock, "Process 1"))
    p2 = Process(target=critical_section, args=(lock, "Process 2"))

    p1.start()
    p2.start()

    p1.join()
    p2.join()
