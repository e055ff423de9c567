# Seed problem 4: Daemon Processes
from multiprocessing import Process
import time

def background_task():
    while True:
        print("Daemon process running...")
        time.sleep(1)

if __name__ == "__main__":
    p = Process(target=background_task)
    p.daemon = True
    p.start()
    time.sleep(3)
    print("Main process exits")
