# Seed problem 13: Using Condition for Synchronization
from multiprocessing import Process, Condition
import time

def task(cond):
    with cond:
        print("Waiting for condition...")
        cond.wait()
        print("Condition met, resuming task!")

if __name__ == "__main__":
    cond = Condition()
    p = Process(target=task, args=(cond,))
    
    p.start()
    time.sleep(2)
    
    with cond:
        cond.notify()
    
    p.join()
