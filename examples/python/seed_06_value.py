# Seed problem 6: Shared Memory with Value
from multiprocessing import Process, Value

def increment(shared_val):
    shared_val.value += 1

if __name__ == "__main__":
    num = Value('i', 0)
    p1 = Process(target=increment, args=(num,))
    p2 = Process(target=increment, args=(num,))
    
    p1.start()
    p2.start()
    
    p1.join()
    p2.join()
    print(f"Final value: {num.value}")
