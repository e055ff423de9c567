# Seed problem 14: Using Event for Process Synchronization
from multiprocessing import Process, Event
import time

def worker(event):
    print("Worker waiting for event...")
    event.wait()
    print("Worker received event signal!")

if __name__ == "__main__":
    event = Event()
    p = Process(target=worker, args=(event,))
    p.start()
    
    time.sleep(2)
    event.set()
    
    p.join()
