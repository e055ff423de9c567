"""CPython twin of codec_benchmark.cpp: pickle.dumps + pickle.loads of the same values.

pickle runs at its default protocol, as multiprocessing's queues and connections use it.
"""
import array
import dataclasses
import pickle

from twin import per_op


def _round_trip(value, min_time):
    def batch():
        pickle.loads(pickle.dumps(value))
    return per_op(batch, 1, min_time)


@dataclasses.dataclass
class Record:
    id: int
    score: float
    name: str
    values: list


def _records():
    return [(i, i * 0.5, f"record-{i}", [i, i + 1, i + 2, i + 3, i + 4]) for i in range(1000)]


CASES = {
    "codec_map_str_int_5000/pickle_dict":
        lambda t: _round_trip({f"word{i}": i for i in range(5000)}, t),
    "codec_vector_str_10000/pickle_list":
        lambda t: _round_trip([f"item-{i}" for i in range(10_000)], t),
    # What a Python user would send: tuples; a dataclass, the closer match to a struct, is slower.
    "codec_records_1000/pickle_tuples": lambda t: _round_trip(_records(), t),
    "codec_records_1000/pickle_dataclass":
        lambda t: _round_trip([Record(*r) for r in _records()], t),
    "codec_vector_double_1m/pickle_list":
        lambda t: _round_trip([i * 0.25 for i in range(1_000_000)], t),
    # array('d') pickles as one bytes object: a memcpy each way, like mp's vector<double>.
    "codec_vector_double_1m/pickle_array_d":
        lambda t: _round_trip(array.array("d", (i * 0.25 for i in range(1_000_000))), t),
}
