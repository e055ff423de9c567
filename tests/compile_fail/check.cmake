# cmake -DCXX=<compiler> -DINCLUDES=<dir>|<dir>... -DSOURCE=<case.cpp> -P check.cmake
# Compiles SOURCE (syntax and templates only) and checks the outcome its comments expect.
foreach(var CXX SOURCE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check.cmake: ${var} not set")
  endif()
endforeach()

file(STRINGS ${SOURCE} expect_lines REGEX "^// expect(-error)?: ")
set(must_compile FALSE)
set(patterns "")
foreach(line IN LISTS expect_lines)
  if(line MATCHES "^// expect: compiles$")
    set(must_compile TRUE)
  elseif(line MATCHES "^// expect-error: (.+)$")
    list(APPEND patterns "${CMAKE_MATCH_1}")
  endif()
endforeach()
if(NOT must_compile AND NOT patterns)
  message(FATAL_ERROR "${SOURCE}: no '// expect: compiles' nor '// expect-error: <regex>' line")
endif()

set(include_flags "")
string(REPLACE "|" ";" include_dirs "${INCLUDES}")
foreach(dir IN LISTS include_dirs)
  if(dir)
    list(APPEND include_flags "-I${dir}")
  endif()
endforeach()

# ASCII quotes in diagnostics, whatever the locale: 'x' rather than ‘x’.
set(ENV{LC_ALL} C)
execute_process(
  COMMAND ${CXX} -std=c++20 -fsyntax-only -Wall -Wextra ${include_flags} ${SOURCE}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)

if(must_compile)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SOURCE} must compile, but the compiler said:\n${out}")
  endif()
  message(STATUS "compiles, as expected")
  return()
endif()

if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but must not")
endif()
foreach(pattern IN LISTS patterns)
  if(NOT out MATCHES "${pattern}")
    message(FATAL_ERROR
      "${SOURCE} failed to compile, but its diagnostics do not match '${pattern}':\n${out}")
  endif()
endforeach()
message(STATUS "refused, as expected")
