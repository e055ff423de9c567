# Seed problem 18: Using Pool Apply
from multiprocessing import Pool

def cube(n):
    return n ** 3

if __name__ == "__main__":
    with Pool(4) as p:
        print(p.apply(cube, (3,)))
