# Seed problem 11: Using Manager for Shared Dictionary
from multiprocessing import Process, Manager

def update_dict(shared_dict):
    shared_dict["key"] = "value"

if __name__ == "__main__":
    with Manager() as manager:
        shared_dict = manager.dict()
        p = Process(target=update_dict, args=(shared_dict,))
        
        p.start()
        p.join()
        
        print(shared_dict)
