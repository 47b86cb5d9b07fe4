# gort_target_options(<target>) applies gort's warnings and sanitizer flags.
# Every target in the tree (libraries, tests, benchmarks, examples) calls it,
# so a sanitizer build instruments everything alike.

set(GORT_SANITIZE_FLAGS "")
if(GORT_SANITIZE STREQUAL "thread")
  set(GORT_SANITIZE_FLAGS -fsanitize=thread)
elseif(GORT_SANITIZE STREQUAL "address")
  set(GORT_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined)
elseif(NOT GORT_SANITIZE STREQUAL "")
  message(FATAL_ERROR "GORT_SANITIZE must be '', 'thread' or 'address'")
endif()

# gort_library_options(<target>): for the objects that make libgort: hidden
# visibility (only the C ABI is exported, and calls inside the library need
# no PLT), and no STB_GNU_UNIQUE symbols (they would make libgort impossible
# to dlclose).
function(gort_library_options target)
  gort_target_options(${target})
  target_compile_options(${target} PRIVATE -fvisibility=hidden
    $<$<COMPILE_LANGUAGE:CXX>:-fvisibility-inlines-hidden>
    # (clang never emits STB_GNU_UNIQUE and does not know the flag)
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-fno-gnu-unique>)
endfunction()

function(gort_target_options target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wshadow -Wno-unused-parameter
    $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Woverloaded-virtual>
    ${GORT_SANITIZE_FLAGS})
  if(GORT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(GORT_SANITIZE_FLAGS)
    target_compile_options(${target} PRIVATE -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE ${GORT_SANITIZE_FLAGS})
  endif()

endfunction()
