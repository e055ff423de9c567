# Seed problem 3: Multiple Processes
from multiprocessing import Process

def print_msg(msg):
    print(msg)

if __name__ == "__main__":
    messages = ["Process 1", "Process 2", "Process 3"]
    processes = [Process(target=print_msg, args=(msg,)) for msg in messages]

    for p in processes:
        p.start()

    for p in processes:
        p.join()
