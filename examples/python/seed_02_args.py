# Seed problem 2: Passing Arguments to Process
from multiprocessing import Process

def greet(name):
    print(f"Hello, {name}")

if __name__ == "__main__":
    p = Process(target=greet, args=("Alice",))
    p.start()
    p.join()
