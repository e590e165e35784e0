# INTERFACE targets for compiler warnings and sanitizers; every project target links them.
add_library(leakhunt_warnings INTERFACE)
target_compile_options(leakhunt_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(LEAKHUNT_WERROR)
  target_compile_options(leakhunt_warnings INTERFACE -Werror)
endif()

add_library(leakhunt_sanitizers INTERFACE)
if(LEAKHUNT_SANITIZE)
  target_compile_options(leakhunt_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(leakhunt_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# Defaults every leakhunt target gets.
add_library(leakhunt_defaults INTERFACE)
target_link_libraries(leakhunt_defaults INTERFACE leakhunt_warnings leakhunt_sanitizers)
