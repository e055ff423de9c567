# Seed problem 5: Terminating a Process
from multiprocessing import Process
import time

def task():
    while True:
        print("Running...")
        time.sleep(1)

if __name__ == "__main__":
    p = Process(target=task)
    p.start()
    time.sleep(3)
    p.terminate()
    print("Process terminated")
