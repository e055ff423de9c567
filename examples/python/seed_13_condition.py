# Seed problem 13: Using Condition for Synchronization
# (The child waits on a predicate, a shared flag set under the condition's lock, so that a
# notify sent before the child reaches its wait is not lost.)
from multiprocessing import Process, Condition, Value
import time

def task(cond, ready):
    with cond:
        print("Waiting for condition...")
        cond.wait_for(lambda: ready.value)
        print("Condition met, resuming task!")

if __name__ == "__main__":
    cond = Condition()
    ready = Value('b', False)
    p = Process(target=task, args=(cond, ready))
    
    p.start()
    time.sleep(2)
    
    with cond:
        ready.value = True
        cond.notify()
    
    p.join()
