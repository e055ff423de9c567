# Seed problem 1: Creating a Simple Process
from multiprocessing import Process

def hello():
    print("Hello from process")

if __name__ == "__main__":
    p = Process(target=hello)
    p.start()
    p.join()
