# Seed problem 7: Shared Memory with Array
from multiprocessing import Process, Array

def update_array(arr):
    for i in range(len(arr)):
        arr[i] += 1

if __name__ == "__main__":
    shared_arr = Array('i', [1, 2, 3, 4, 5])
    p = Process(target=update_array, args=(shared_arr,))
    p.start()
    p.join()
    print(list(shared_arr))
