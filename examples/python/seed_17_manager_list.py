# Seed problem 17: Using Manager for Shared List
from multiprocessing import Process, Manager

def modify_list(shared_list):
    shared_list.append("new item")

if __name__ == "__main__":
    with Manager() as manager:
        shared_list = manager.list()
        p = Process(target=modify_list, args=(shared_list,))
        
        p.start()
        p.join()
        
        print(shared_list)
