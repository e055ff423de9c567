// mp/mp.hpp — everything: Python's multiprocessing for C++20.
//
//   #include <mp/mp.hpp>
//   mp::Process p(work, 42);  p.start();  p.join();
//
// One header per Python module: process.hpp (multiprocessing.process), context.hpp (start
// methods), synchronize.hpp (locks, semaphores, conditions, events, barriers), sharedctypes.hpp
// (Value, Array), shared_memory.hpp (SharedMemory), shareable_list.hpp
// (ShareableList), shared_memory_manager.hpp (SharedMemoryManager), codec.hpp (what pickle
// does), errors.hpp.
#pragma once

#include "mp/codec.hpp"
#include "mp/connection.hpp"
#include "mp/context.hpp"
#include "mp/errors.hpp"
#include "mp/logger.hpp"
#include "mp/executor.hpp"
#include "mp/futures.hpp"
#include "mp/managers.hpp"
#include "mp/partial.hpp"
#include "mp/pool.hpp"
#include "mp/pool_options.hpp"
#include "mp/process.hpp"
#include "mp/proxies.hpp"
#include "mp/queue_options.hpp"
#include "mp/queues.hpp"
#include "mp/shareable_list.hpp"
#include "mp/shared_memory.hpp"
#include "mp/shared_memory_manager.hpp"
#include "mp/sharedctypes.hpp"
#include "mp/synchronize.hpp"
