#!/usr/bin/env bash
# Installs mp from BUILD into a scratch prefix, then builds and runs a consumer through
# find_package and pkg-config, and compiles it through add_subdirectory.
# Usage: check.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null

cmake -S "$src/tests/package" -B "$work/find" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/find" >/dev/null
"$work/find/consumer"
echo "find_package: ok"

libdir=$(dirname "$(find "$work/prefix" -name mp.pc | head -n1)")
# shellcheck disable=SC2046
g++ -O1 "$src/tests/package/main.cpp" -o "$work/pc-consumer" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs --static mp)
"$work/pc-consumer"
echo "pkg-config: ok"

if compgen -G "$work/prefix/lib*/cmake/mp/mpMpiTargets.cmake" >/dev/null; then
  cmake -S "$src/tests/package" -B "$work/find-mpi" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DMP_CONSUMER_MPI=ON >/dev/null
  cmake --build "$work/find-mpi" --target mpi_consumer >/dev/null
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun -n 2 --oversubscribe "$work/find-mpi/mpi_consumer"
  echo "find_package(mp COMPONENTS mpi): ok"
fi

# Configured and the consumer compiled against the subproject's targets; not linked, which would
# build the whole library a second time (the find_package build above links and runs it).
cmake -S "$src/tests/package" -B "$work/subdir" -G Ninja -DMP_SOURCE_DIR="$src" >/dev/null
cmake --build "$work/subdir" --target CMakeFiles/consumer.dir/main.cpp.o >/dev/null
echo "add_subdirectory: ok"
